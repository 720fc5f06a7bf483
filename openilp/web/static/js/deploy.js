/* OpenILP deployment list: the planned cells (numbered in priority order, alert cells marked) and the
 * alert zones on a map; the Print button of the printable list. Data come from the page's JSON block
 * (#deploy-data) and the boundary layer from this origin (Content-Security-Policy: no inline scripts). */
(function () {
  "use strict";

  /* Tooltip content as a text node: Leaflet inserts a string tooltip as HTML, and names and
     reasons come from data files and users (free text must never be interpreted as markup). */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }
  var printButton = document.getElementById("print-button");
  if (printButton) { printButton.addEventListener("click", function () { window.print(); }); }
  var element = document.getElementById("map");
  var status = document.getElementById("map-status");
  var dataBlock = document.getElementById("deploy-data");
  if (!element || !dataBlock) { return; }
  function setStatus(text) { if (status) { status.textContent = text; } }
  if (typeof window.L === "undefined") {
    setStatus("The map cannot be drawn: the map library is not installed.");
    element.setAttribute("data-cells-drawn", "0");
    return;
  }
  var L = window.L;
  var data = JSON.parse(dataBlock.textContent);
  // Fractional zoom, so that fitting the city fills the panel instead of stopping a zoom level short.
  var map = L.map(element, { zoomSnap: 0.1 });
  map.attributionControl.setPrefix(false);
  element.openilpMap = map;
  map.setView([39.5, -98.35], 4);
  map.createPane("boundaries");
  map.getPane("boundaries").style.zIndex = "350";
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.getAttribute("data-tile-attribution") || "", maxZoom: 19 }).addTo(map);
  }
  var boundaryUrl = element.getAttribute("data-boundary-url");
  if (boundaryUrl) {
    fetch(boundaryUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) { if (!response.ok) { throw new Error("HTTP " + response.status); } return response.json(); })
      .then(function (geojson) {
        L.geoJSON(geojson, {
          pane: "boundaries",
          style: { color: "#444", weight: 1, fillColor: "#f3f1ea", fillOpacity: 0.5 },
          onEachFeature: function (feature, layer) {
            var p = feature.properties || {};
            var name = p.NHD_NAME || p.name || p.NAME;
            if (name) { layer.bindTooltip(textTip(name), { sticky: true }); }
          }
        }).addTo(map);
      })
      .catch(function () { /* no boundary layer for this agency: the cells alone */ });
  }
  var bounds = L.latLngBounds([]);
  var zoneBounds = null;
  if (data.alerts && data.alerts.features.length) {
    var zones = L.geoJSON(data.alerts, {
      style: { color: "#0072B2", weight: 2, dashArray: "6 4", fillOpacity: 0.05 },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        layer.bindTooltip(textTip("near-repeat alert after incident " + p.incident_id + " of " + p.incident_date +
          " (risk × " + p.max_multiplier + ", until " + p.expires_date + ")"));
      }
    }).addTo(map);
    zoneBounds = zones.getBounds();
  }
  var features = data.cells.features;
  var cells = L.geoJSON(data.cells, {
    style: function (feature) {
      var alert = feature.properties.alert;
      return { color: alert ? "#0072B2" : "#a63603", weight: alert ? 3 : 1, dashArray: alert ? "4 3" : null,
               fillColor: alert ? "#D55E00" : "#a63603", fillOpacity: 0.7 };
    },
    onEachFeature: function (feature, layer) {
      var p = feature.properties;
      layer.bindTooltip(textTip("place " + p.number + (p.neighbourhood ? " (" + p.neighbourhood + ")" : "") + ": " +
        p.visits + " visits, " + p.minutes_on_scene + " min; " + p.reason));
    }
  }).addTo(map);
  features.forEach(function (feature) {
    var p = feature.properties;
    // Sized by the place's visits (its patrol dosage).
    L.circleMarker([p.lat, p.lon], { radius: 6 + 2 * p.visits, color: p.alert ? "#0072B2" : "#a63603",
                                     weight: p.alert ? 4 : 3, fillColor: "#fff", fillOpacity: 0.85 })
      .bindTooltip(textTip(p.number), { permanent: true, direction: "center", className: "deploy-label" })
      .addTo(map);
  });
  // Fit the planned places (the alert zones may cover the whole city); the zones alone if none.
  if (features.length) { bounds.extend(cells.getBounds()); } else if (zoneBounds) { bounds.extend(zoneBounds); }
  if (bounds.isValid()) { map.fitBounds(bounds.pad(0.15)); }
  element.setAttribute("data-cells-drawn", String(features.length));
  var zoneCount = data.alerts ? data.alerts.features.length : 0;
  setStatus(features.length + " places drawn" +
    (data.alerts ? ", " + zoneCount + " alert zone" + (zoneCount === 1 ? "" : "s") + "." : "."));
})();
