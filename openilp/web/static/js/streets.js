/* OpenILP street layer: the agency's streets (GeoJSON lines, bundled, never from the internet) drawn
 * over the cells of every map, so that a hot cell reads as a block. Loaded after the page's own map
 * script, which leaves its Leaflet map on the element (element.openilpMap). No inline scripts. */
(function () {
  "use strict";

  var element = document.getElementById("map");
  if (!element) { return; }
  var url = element.getAttribute("data-streets-url");
  var map = element.openilpMap;
  if (!url || !map || typeof window.L === "undefined") {
    element.setAttribute("data-streets-drawn", "0");
    return;
  }
  var L = window.L;

  /* Tooltip content as a text node: names come from data files (never interpreted as markup). */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }

  function describe(p) {
    var name = p.name || p.NAME || p.FULLNAME || "street";
    if (p.from_block !== undefined && p.to_block !== undefined) {
      if (p.from_block === p.to_block) { return name + ", " + p.from_block + " block"; }
      return name + ", " + p.from_block + "–" + p.to_block + " blocks";
    }
    return name;
  }

  // Above the cells and zones (overlay pane, 400), below markers' popups and tooltips.
  var pane = map.createPane("streets");
  pane.style.zIndex = "450";
  // Faint over a whole city (where they would hide the cells), firmer as one zooms in to read blocks.
  function style() {
    var zoom = map.getZoom();
    if (zoom >= 15) { return { color: "#3a3a3a", weight: 2, opacity: 0.75 }; }
    if (zoom >= 13.5) { return { color: "#3a3a3a", weight: 1, opacity: 0.55 }; }
    return { color: "#3a3a3a", weight: 0.6, opacity: 0.35 };
  }

  fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (geojson) {
      var layer = L.geoJSON(geojson, {
        pane: "streets",
        renderer: L.svg({ pane: "streets" }),
        style: style,
        attribution: element.getAttribute("data-streets-attribution") || "",
        onEachFeature: function (feature, line) {
          line.bindTooltip(textTip(describe(feature.properties || {})), { sticky: true });
        }
      }).addTo(map);
      map.on("zoomend", function () { layer.setStyle(style()); });
      // One layer switch per map, shared with the page's own layers (analysis.js), whichever comes first.
      if (!element.openilpLayers) { element.openilpLayers = L.control.layers(null, {}, { collapsed: false }).addTo(map); }
      element.openilpLayers.addOverlay(layer, "Streets");
      element.setAttribute("data-streets-drawn", String((geojson.features || []).length));
    })
    .catch(function () {
      element.setAttribute("data-streets-drawn", "error");
    });
})();
