/* OpenILP forecast page: draws the top 20 % of cells of this week's forecast, shaded by rank.
 * Everything comes from this origin (Content-Security-Policy); no inline scripts. */
(function () {
  "use strict";

  /* Tooltip content as a text node: Leaflet inserts a string tooltip as HTML, and names and
     reasons come from data files and users (free text must never be interpreted as markup). */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }
  var element = document.getElementById("map");
  var status = document.getElementById("map-status");
  if (!element) { return; }
  function setStatus(text) { if (status) { status.textContent = text; } }
  if (typeof window.L === "undefined") {
    setStatus("The map cannot be drawn: the map library is not installed.");
    element.setAttribute("data-cells-drawn", "0");
    return;
  }
  var L = window.L;
  // Fractional zoom, so that fitting the city fills the panel instead of stopping a zoom level short.
  var map = L.map(element, { preferCanvas: true, zoomSnap: 0.1 });
  map.attributionControl.setPrefix(false);
  element.openilpMap = map;   // for the street layer (streets.js), tests and the browser console
  map.setView([39.5, -98.35], 4);
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.getAttribute("data-tile-attribution") || "", maxZoom: 19 }).addTo(map);
  }
  // The agency's boundary layer under the cells, so a cell can be read against its neighbourhood.
  var boundaryUrl = element.getAttribute("data-boundary-url");
  window.OpenILP.drawBoundaries(map, element, setStatus);
  var url = element.getAttribute("data-forecast-url");
  if (!url) { element.setAttribute("data-cells-drawn", "0"); return; }
  // Top 1 %, 5 %, 10 %, 20 % of the study area (same ramp as the density maps).
  var BANDS = [[0.01, "#a63603"], [0.05, "#e6550d"], [0.10, "#fd8d3c"], [0.20, "#fdd0a2"]];
  setStatus("Loading the forecast…");
  fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.detail || ("HTTP " + response.status)); }
        return body;
      });
    })
    .then(function (collection) {
      var cells = collection.features.length;
      var shown = collection.features.filter(function (f) { return f.properties.rank <= 0.2 * cells; });
      var layer = L.geoJSON({ type: "FeatureCollection", features: shown }, {
        style: function (feature) {
          var share = feature.properties.rank / cells;
          var colour = BANDS[BANDS.length - 1][1];
          for (var i = 0; i < BANDS.length; i += 1) { if (share <= BANDS[i][0]) { colour = BANDS[i][1]; break; } }
          return { color: colour, weight: 0, fillColor: colour, fillOpacity: 0.65 };
        },
        onEachFeature: function (feature, cell) {
          cell.bindTooltip(textTip("cell " + feature.properties.cell_id + ", rank " + feature.properties.rank +
            ", expected " + feature.properties.score.toFixed(2)));
        }
      }).addTo(map);
      if (shown.length && !boundaryUrl) { map.fitBounds(layer.getBounds()); }
      element.setAttribute("data-cells-drawn", String(shown.length));
      setStatus(shown.length + " of " + cells + " cells drawn (the top 20 %).");
    })
    .catch(function (error) {
      element.setAttribute("data-cells-drawn", "0");
      setStatus("The forecast could not be loaded: " + error.message);
    });
})();
