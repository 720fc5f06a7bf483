/* OpenILP series map: the agency boundary as the base, the incidents of a series or of "crimes like this
   one" on top (the seed incident in red). Data come from the page (data-points); no inline script. */
(function () {
  "use strict";

  /* Tooltip content as a text node: Leaflet inserts a string tooltip as HTML, and names and
     reasons come from data files and users (free text must never be interpreted as markup). */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }
  var element = document.getElementById("series-map");
  if (!element || typeof L === "undefined") { return; }
  var points = JSON.parse(element.getAttribute("data-points") || "[]");
  var map = L.map(element, { zoomControl: true, attributionControl: true });
  map.setView([39.5, -98.35], 4);
  var boundaryUrl = element.getAttribute("data-boundary-url");
  if (boundaryUrl) {
    fetch(boundaryUrl, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (geojson) {
        if (geojson) {
          L.geoJSON(geojson, { style: { color: "#777", weight: 1, fillColor: "#f3f1ea", fillOpacity: 0.6 } }).addTo(map).bringToBack();
        }
      }).catch(function () { return null; });
  }
  var layer = L.featureGroup();
  points.forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: p.seed ? 8 : 6, color: p.seed ? "#b2182b" : "#2166ac", weight: 2, fillOpacity: 0.7 })
      .bindTooltip(textTip("incident " + p.id + " (" + p.label + ")")).addTo(layer);
  });
  layer.addTo(map);
  if (points.length) { map.fitBounds(layer.getBounds().pad(0.3)); }
  element.setAttribute("data-drawn", String(points.length));
})();
