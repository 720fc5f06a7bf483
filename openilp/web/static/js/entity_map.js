/* OpenILP entity map: the places of one entity (its addresses and the incidents it is a party to) on
   the agency boundary. Data come from the page (data-points); no inline script, nothing fetched but
   the boundary from this server. */
(function () {
  "use strict";

  /* Tooltip content as a text node: labels are names and addresses from data files and users. */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }
  var element = document.getElementById("entity-map");
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
    L.circleMarker([p.lat, p.lon], { radius: 7, color: "#2166ac", weight: 2, fillOpacity: 0.7 })
      .bindTooltip(textTip(p.label || "place")).addTo(layer);
  });
  layer.addTo(map);
  if (points.length) { map.fitBounds(layer.getBounds().pad(0.3), { maxZoom: 16 }); }
  element.setAttribute("data-drawn", String(points.length));
})();
