/* OpenILP analysis pages: hot-spot layers, near-repeat alert zones, trend drill-down points.
 * One script for the three pages (the map element's data-analysis says which); everything comes
 * from this origin (see the Content-Security-Policy), no inline scripts. */
(function () {
  "use strict";

  var element = document.getElementById("map");
  var status = document.getElementById("map-status");
  if (!element) { return; }
  var kind = element.getAttribute("data-analysis");
  var doneAttribute = { hotspots: "data-cells-drawn", alerts: "data-zones-drawn", drill: "data-markers-drawn" }[kind];
  function setStatus(text) { if (status) { status.textContent = text; } }
  if (typeof window.L === "undefined") {
    setStatus("The map cannot be drawn: the map library is not installed.");
    element.setAttribute(doneAttribute, "0");
    return;
  }
  var L = window.L;

  // Density in a sequential purple ramp (ColorBrewer Purples), so it cannot be mistaken for the
  // Gi* hot (vermillion) and cold (blue) cells (Okabe-Ito) drawn over it.
  var RAMP = ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"];
  var HOT = "#D55E00";
  var COLD = "#0072B2";

  // Fractional zoom, so that fitting the city fills the panel instead of stopping a zoom level short.
  var map = L.map(element, { preferCanvas: true, zoomSnap: 0.1 });
  map.attributionControl.setPrefix(false);
  element.openilpMap = map;
  map.setView([39.5, -98.35], 4);
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.getAttribute("data-tile-attribution") || "", maxZoom: 19 }).addTo(map);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.detail || ("HTTP " + response.status)); }
          return body;
        });
      });
  }

  var boundaryBounds = null;
  function loadBoundary() {
    return window.OpenILP.drawBoundaries(map, element, setStatus).then(function (bounds) { boundaryBounds = bounds; });
  }

  function fit(layer) {
    var bounds = layer.getBounds();
    if (!boundaryBounds && bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 15 }); }
  }

  function text(tagName, content) {
    var node = document.createElement(tagName);
    node.textContent = content;
    return node;
  }

  function popup(rows) {
    // DOM nodes with textContent: values are never interpreted as HTML.
    var list = document.createElement("dl");
    list.className = "analysis-popup";
    rows.forEach(function (row) { list.appendChild(text("dt", row[0])); list.appendChild(text("dd", String(row[1]))); });
    return list;
  }

  function quantileBreaks(values, n) {
    var positive = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    var breaks = [];
    for (var i = 1; i < n; i += 1) {
      breaks.push(positive.length ? positive[Math.min(positive.length - 1, Math.floor(positive.length * i / n))] : 0);
    }
    return breaks;
  }

  function drawHotspots() {
    var url = element.getAttribute("data-hotspots-url");
    if (!url) { element.setAttribute(doneAttribute, "0"); return Promise.resolve(); }
    setStatus("Computing hot spots…");
    return getJSON(url).then(function (collection) {
      var features = collection.features || [];
      var breaks = quantileBreaks(features.map(function (f) { return f.properties.kde_per_km2 || 0; }), RAMP.length);
      function classOf(value) {
        var k = 0;
        while (k < breaks.length && value > breaks[k]) { k += 1; }
        return k;
      }
      for (var b = 0; b < RAMP.length; b += 1) {
        var label = document.getElementById("kde-label-" + b);
        if (label) {
          var low = b === 0 ? 0 : breaks[b - 1];
          label.textContent = b === RAMP.length - 1 ? "> " + low.toFixed(1) : low.toFixed(1) + "–" + breaks[b].toFixed(1);
        }
      }
      var renderer = L.canvas({ padding: 0.5 });
      function cellPopup(layer) {
        var p = layer.feature.properties;
        return popup([["Cell", p.unit_id], ["Incidents", p.count], ["Density / km²", p.kde_per_km2],
          ["Gi* z", p.gi_z], ["q (FDR)", p.gi_q], ["Class", p.gi_class]]);
      }
      var kde = L.geoJSON(collection, {
        renderer: renderer,
        style: function (f) {
          return { stroke: false, fillColor: RAMP[classOf(f.properties.kde_per_km2 || 0)], fillOpacity: 0.7 };
        }
      }).bindPopup(cellPopup);
      var flagged = { type: "FeatureCollection", features: features.filter(function (f) {
        return f.properties.gi_class === "hot" || f.properties.gi_class === "cold";
      }) };
      var gi = L.geoJSON(flagged, {
        renderer: renderer,
        style: function (f) {
          var colour = f.properties.gi_class === "hot" ? HOT : COLD;
          return { color: colour, weight: 1, fillColor: colour, fillOpacity: 0.85 };
        }
      }).bindPopup(cellPopup);
      kde.addTo(map);
      gi.addTo(map);
      // One layer switch per map, shared with the street layer (streets.js), whichever comes first.
      if (!element.openilpLayers) { element.openilpLayers = L.control.layers(null, {}, { collapsed: false }).addTo(map); }
      element.openilpLayers.addOverlay(kde, "Density (KDE)").addOverlay(gi, "Gi* hot and cold cells");
      fit(kde);
      element.setAttribute("data-gi-cells", String(flagged.features.length));
      element.setAttribute(doneAttribute, String(features.length));
      setStatus(features.length.toLocaleString() + " cells drawn; " + flagged.features.length + " Gi* hot or cold.");
    }).catch(function (error) {
      element.setAttribute(doneAttribute, "error");
      setStatus("Could not compute hot spots: " + error.message);
    });
  }

  function drawAlerts() {
    return getJSON(element.getAttribute("data-alerts-url")).then(function (collection) {
      var features = collection.features || [];
      var layer = L.geoJSON(collection, {
        style: function (f) {
          var strong = (f.properties.max_multiplier || 1) >= 2;
          return { color: HOT, weight: strong ? 2 : 1, fillColor: HOT, fillOpacity: strong ? 0.45 : 0.25 };
        }
      }).bindPopup(function (l) {
        var p = l.feature.properties;
        return popup([["Complaint", p.complaint_number || "#" + p.incident_id], ["Address", p.block_address || "–"], ["Category", p.category], ["Date", p.incident_date],
          ["Radius", p.radius_m + " m"], ["Risk ×", p.max_multiplier], ["Until", p.expires_date + " (exclusive)"]]);
      }).addTo(map);
      fit(layer);
      element.setAttribute(doneAttribute, String(features.length));
      setStatus(features.length + " alert zones drawn.");
    }).catch(function (error) {
      element.setAttribute(doneAttribute, "error");
      setStatus("Could not load the alerts: " + error.message);
    });
  }

  function drawDrill() {
    var collection = JSON.parse(element.getAttribute("data-incidents") || "{\"features\": []}");
    var renderer = L.canvas({ padding: 0.5 });
    var layer = L.geoJSON(collection, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { renderer: renderer, radius: 5, weight: 1, color: "#fff", fillColor: COLD,
          fillOpacity: 0.9 });
      }
    }).bindPopup(function (l) {
      var p = l.feature.properties;
      return popup([["Record", "#" + p.id], ["Category", p.category], ["Occurred", p.occurred_local], ["Area", p.area]]);
    }).addTo(map);
    fit(layer);
    element.setAttribute(doneAttribute, String((collection.features || []).length));
    return Promise.resolve();
  }

  var draw = { hotspots: drawHotspots, alerts: drawAlerts, drill: drawDrill }[kind];
  loadBoundary().then(draw);
})();
