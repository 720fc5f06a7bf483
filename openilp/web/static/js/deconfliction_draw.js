/* OpenILP deconfliction: draw the event's polygon on the agency's boundaries (click to add a vertex).
 * The vertices are written into the "polygon" text area as "longitude latitude" lines, which is what
 * the form sends; pasting text there works the same without the map. Nothing is fetched from outside. */
(function () {
  "use strict";
  var element = document.getElementById("draw-map");
  var area = document.getElementById("polygon");
  if (!element || !area || typeof L === "undefined") { return; }
  var map = L.map(element, { zoomControl: true, attributionControl: false });
  var shape = L.polygon([], { color: "#b00020", weight: 2 }).addTo(map);
  var vertices = [];

  function fromText() {
    vertices = [];
    area.value.split(/\n|;/).forEach(function (line) {
      var parts = line.trim().split(/[\s,]+/);
      if (parts.length === 2 && isFinite(parts[0]) && isFinite(parts[1]) && parts[0] !== "") {
        vertices.push([parseFloat(parts[1]), parseFloat(parts[0])]);
      }
    });
    shape.setLatLngs(vertices);
  }

  function toText() {
    area.value = vertices.map(function (v) { return v[1].toFixed(6) + " " + v[0].toFixed(6); }).join("\n");
    shape.setLatLngs(vertices);
  }

  map.on("click", function (event) {
    vertices.push([event.latlng.lat, event.latlng.lng]);
    toText();
  });
  area.addEventListener("input", fromText);
  var clear = document.getElementById("polygon-clear");
  if (clear) {
    clear.addEventListener("click", function () { vertices = []; toText(); });
  }
  fetch(element.getAttribute("data-boundaries"), { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) {
      if (data && data.features && data.features.length) {
        var layer = L.geoJSON(data, { style: { color: "#555", weight: 1, fillOpacity: 0.03 }, interactive: false });
        layer.addTo(map);
        map.fitBounds(layer.getBounds());
      } else {
        map.setView([38.63, -90.24], 11);
      }
      fromText();
      if (vertices.length) { map.fitBounds(shape.getBounds()); }
    });
})();
