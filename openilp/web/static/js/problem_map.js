/* OpenILP problem map: the agency boundary layer as the base, the problem area, comparison areas and
   intervention areas on top (no inline script: the CSP allows scripts from this site only). */
(function () {
  "use strict";
  var element = document.getElementById("problem-map");
  if (!element || typeof L === "undefined") { return; }
  var colours = { target: "#b2182b", buffer: "#ef8a62", control: "#2166ac", control_buffer: "#67a9cf", intervention: "#1b7837" };
  var map = L.map(element, { zoomControl: true, attributionControl: true });
  map.setView([39.5, -98.35], 4);
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.getAttribute("data-tile-attribution") || "" }).addTo(map);
  }
  function load(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }
  var boundaryUrl = element.getAttribute("data-boundary-url");
  var base = boundaryUrl ? load(boundaryUrl).then(function (geojson) {
    L.geoJSON(geojson, {
      style: { color: "#777", weight: 1, fillColor: "#f3f1ea", fillOpacity: 0.6 },
      attribution: element.getAttribute("data-boundary-attribution") || ""
    }).addTo(map);
  }) : Promise.resolve();
  base.catch(function () { return null; }).then(function () {
    return load(element.getAttribute("data-areas-url"));
  }).then(function (geojson) {
    var layer = L.geoJSON(geojson, {
      style: function (feature) {
        var role = feature.properties.role;
        return { color: colours[role] || "#333", weight: 2, fillOpacity: role === "intervention" ? 0 : 0.25,
                 dashArray: role === "intervention" ? "6 4" : null };
      },
      onEachFeature: function (feature, l) { l.bindTooltip(feature.properties.label); }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.3)); }
    element.setAttribute("data-areas-drawn", String((geojson.features || []).length));
  }).catch(function (error) {
    element.setAttribute("data-areas-drawn", "error");
    element.textContent = "Could not load the map layers (" + error.message + ").";
  });
})();
