/* OpenILP incident map: boundary base layer, optional tiles, incidents as canvas circle markers.
 * Everything comes from this origin (see the Content-Security-Policy); no inline scripts. */
(function () {
  "use strict";

  /* Tooltip content as a text node: Leaflet inserts a string tooltip as HTML, and names and
     reasons come from data files and users (free text must never be interpreted as markup). */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }

  var COLOURS = {            // Okabe–Ito palette: distinguishable with common colour-vision deficiencies
    violent: "#D55E00",
    property: "#0072B2",
    society: "#CC79A7",
    other: "#666666"
  };

  var element = document.getElementById("map");
  var status = document.getElementById("map-status");
  var truncated = document.getElementById("map-truncated");
  if (!element) { return; }
  if (typeof window.L === "undefined") {
    if (status) { status.textContent = "The map cannot be drawn: the map library is not installed."; }
    element.setAttribute("data-markers-drawn", "0");
    return;
  }
  var L = window.L;

  function setStatus(text) { if (status) { status.textContent = text; } }
  function formatNumber(n) { return Number(n).toLocaleString(); }

  function describeTime(props) {
    if (!props.occurred_from) { return "time unknown"; }
    var when = new Date(props.occurred_from);
    if (props.time_precision === "day" || props.time_precision === "month") {
      return when.toLocaleDateString() + " (" + props.time_precision + " only)";
    }
    return when.toLocaleString();
  }

  function popupContent(props) {
    // Built from DOM nodes with textContent: record text is never interpreted as HTML.
    var box = document.createElement("div");
    box.className = "incident-popup";
    var title = document.createElement("strong");
    title.textContent = props.category_label || props.category || "Uncategorised";
    box.appendChild(title);
    var rows = [
      ["Offence", props.offence_description || "–"],
      ["Occurred", describeTime(props)],
      ["Address", props.block_address || "–"],
      ["Record", "#" + props.id]
    ];
    var list = document.createElement("dl");
    rows.forEach(function (row) {
      var dt = document.createElement("dt"); dt.textContent = row[0];
      var dd = document.createElement("dd"); dd.textContent = row[1];
      list.appendChild(dt); list.appendChild(dd);
    });
    box.appendChild(list);
    return box;
  }

  // Fractional zoom, so that fitting the city to the panel fills it instead of stopping a whole
  // zoom level short (half the panel empty on a wide screen).
  var map = L.map(element, { preferCanvas: true, zoomControl: true, attributionControl: true, zoomSnap: 0.1 });
  map.attributionControl.setPrefix(false);
  element.openilpMap = map;   // for tests and debugging in the browser console
  map.setView([39.5, -98.35], 4);   // overview until a boundary or the data give a better view

  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, {
      attribution: element.getAttribute("data-tile-attribution") || "",
      maxZoom: 19
    }).addTo(map);
  }

  var boundaryBounds = null;
  function loadBoundary() {
    return window.OpenILP.drawBoundaries(map, element, setStatus).then(function (bounds) { boundaryBounds = bounds; });
  }

  function loadIncidents() {
    if (element.getAttribute("data-load") !== "yes") {
      element.setAttribute("data-markers-drawn", "0");
      return Promise.resolve();
    }
    var url = element.getAttribute("data-incidents-url");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.detail || ("HTTP " + response.status)); }
          return body;
        });
      })
      .then(function (collection) {
        if (collection.aggregation) { drawCells(collection); return; }
        var renderer = L.canvas({ padding: 0.5 });
        var total = (collection.features || []).length;
        var radius = total > 5000 ? 3 : total > 1000 ? 4 : 5;   // pixels: smaller when crowded
        var drawn = 0;
        var layer = L.geoJSON(collection, {
          pointToLayer: function (feature, latlng) {
            drawn += 1;
            var colour = COLOURS[feature.properties.crime_group] || COLOURS.other;
            return L.circleMarker(latlng, {
              renderer: renderer, radius: radius, weight: radius > 3 ? 1 : 0.5, color: "#ffffff", opacity: 0.9,
              fillColor: colour, fillOpacity: 0.9
            });
          }
        });
        layer.bindPopup(function (marker) { return popupContent(marker.feature.properties); });
        layer.addTo(map);
        if (!boundaryBounds && drawn > 0) { map.fitBounds(layer.getBounds(), { maxZoom: 15 }); }
        var counts = collection.counts || {};
        element.setAttribute("data-markers-drawn", String(drawn));
        var text = formatNumber(counts.returned || 0) + " of " + formatNumber(counts.matching || 0) +
          " located incidents shown";
        if (counts.not_located) { text += "; " + formatNumber(counts.not_located) + " without a location"; }
        setStatus(text + ".");
        if (truncated) { truncated.hidden = !counts.truncated; }
      })
      .catch(function (error) {
        element.setAttribute("data-markers-drawn", "error");
        setStatus("Could not load incidents: " + error.message);
      });
  }

  /* More incidents match than a browser can draw: the server counted them per square cell. */
  function drawCells(collection) {
    var counts = collection.counts || {};
    var most = Math.max(counts.max_count || 1, 1);
    var layer = L.geoJSON(collection, {
      style: function (feature) {
        var share = Math.sqrt(feature.properties.count / most);
        return { color: "#7f2704", weight: 0.3, fillColor: "#d94801", fillOpacity: 0.12 + 0.73 * share };
      }
    });
    layer.bindPopup(function (cell) {
      return textTip(formatNumber(cell.feature.properties.count) + " incidents in this " +
        formatNumber(counts.cell_m) + " m cell");
    });
    layer.addTo(map);
    if (!boundaryBounds && (collection.features || []).length > 0) { map.fitBounds(layer.getBounds(), { maxZoom: 15 }); }
    element.setAttribute("data-markers-drawn", "0");
    element.setAttribute("data-cells-drawn", String((collection.features || []).length));
    var text = formatNumber(counts.matching || 0) + " located incidents, too many to draw one by one: counted in " +
      formatNumber(counts.cells || 0) + " cells of " + formatNumber(counts.cell_m) + " m";
    if (counts.not_located) { text += "; " + formatNumber(counts.not_located) + " without a location"; }
    setStatus(text + ".");
    if (truncated) { truncated.hidden = true; }
  }

  loadBoundary().then(loadIncidents);
})();
