/* OpenILP boundary layer: the agency's boundary polygons (neighbourhoods), fetched from this origin and
 * drawn as the base of a Leaflet map, each named in a tooltip. One loader for every analysis map: the
 * incident map (map.js), the analysis pages (analysis.js) and the forecast (forecast.js) load this file
 * first and call OpenILP.drawBoundaries(map, element, setStatus). No inline scripts (CSP).
 *
 * The map element's data-boundary-url names the layer (none: nothing is drawn) and
 * data-boundary-attribution its source. When done, data-boundary-features holds the number of polygons
 * drawn ("0" without a layer, "error" when it could not be loaded), for tests and the console. */
(function () {
  "use strict";

  /* Tooltip content as a text node: names come from data files and are never interpreted as markup. */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }

  /* Draw the layer in its own pane under the page's markers and cells, fit the map to it, and resolve
     to its bounds (null without a layer or on failure; setStatus, when given, is told why). */
  function drawBoundaries(map, element, setStatus) {
    var url = element.getAttribute("data-boundary-url");
    if (!url) {
      element.setAttribute("data-boundary-features", "0");
      return Promise.resolve(null);
    }
    var L = window.L;
    if (!map.getPane("boundaries")) {
      // Below the overlay pane (z-index 400) where the pages draw incidents, cells and zones.
      map.createPane("boundaries").style.zIndex = "350";
    }
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (geojson) {
        var layer = L.geoJSON(geojson, {
          pane: "boundaries",
          // A few hundred polygons: SVG (markers and cells, which may be thousands, use canvas).
          renderer: L.svg({ pane: "boundaries" }),
          style: { color: "#444", weight: 1, fillColor: "#f3f1ea", fillOpacity: 0.6 },
          attribution: element.getAttribute("data-boundary-attribution") || "",
          onEachFeature: function (feature, featureLayer) {
            var p = feature.properties || {};
            var name = p.NHD_NAME || p.name || p.NAME;
            if (name) { featureLayer.bindTooltip(textTip(name), { sticky: true }); }
          }
        }).addTo(map);
        var bounds = layer.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [4, 4] }); }
        element.setAttribute("data-boundary-features", String((geojson.features || []).length));
        return bounds.isValid() ? bounds : null;
      })
      .catch(function (error) {
        element.setAttribute("data-boundary-features", "error");
        if (setStatus) { setStatus("Could not load the boundary layer (" + error.message + ")."); }
        return null;
      });
  }

  window.OpenILP = window.OpenILP || {};
  window.OpenILP.drawBoundaries = drawBoundaries;
})();
