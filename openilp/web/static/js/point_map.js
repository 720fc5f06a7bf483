/* OpenILP point map: points on the agency boundary, drawn in a page's map element. Shared by the
   series map and the entity map. Data come from the page (data-points, data-boundary-url); no
   inline script, nothing fetched but the boundary from this server. Sets data-drawn when done. */
(function () {
  "use strict";

  /* Tooltip content as a text node: Leaflet inserts a string tooltip as HTML, and names and
     reasons come from data files and users (free text must never be interpreted as markup). */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }

  /* Draw the element's points: style(p) gives the circle's options, tip(p) its tooltip text. */
  function draw(element, style, tip) {
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
      L.circleMarker([p.lat, p.lon], style(p)).bindTooltip(textTip(tip(p))).addTo(layer);
    });
    layer.addTo(map);
    if (points.length) { map.fitBounds(layer.getBounds().pad(0.3), { maxZoom: 16 }); }
    element.setAttribute("data-drawn", String(points.length));
    return map;
  }

  window.OpenILPPointMap = { draw: draw };
})();
