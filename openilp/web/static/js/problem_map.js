/* OpenILP problem map: the agency boundary layer as the base, the problem area, comparison areas and
   intervention areas on top (no inline script: the CSP allows scripts from this site only).

   Areas are picked here instead of typed: a "Pick on the map" button makes a click on a boundary
   polygon (a neighbourhood) select it in the button's list; a "Draw on the map" button makes clicks
   add the corners of a polygon, and "Finish" writes it as GeoJSON into the button's text field. */
(function () {
  "use strict";

  /* Tooltip content as a text node: Leaflet inserts a string tooltip as HTML, and names and
     reasons come from data files and users (free text must never be interpreted as markup). */
  function textTip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }
  var element = document.getElementById("problem-map");
  if (!element || typeof L === "undefined") { return; }
  var colours = { target: "#b2182b", buffer: "#ef8a62", control: "#2166ac", control_buffer: "#67a9cf", intervention: "#1b7837" };
  var nameKeys = ["NHD_NAME", "name", "NAME", "Name", "label"];
  var map = L.map(element, { zoomControl: true, attributionControl: true, doubleClickZoom: false });
  map.setView([39.5, -98.35], 4);
  var tileUrl = element.getAttribute("data-tile-url");
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.getAttribute("data-tile-attribution") || "" }).addTo(map);
  }
  var status = document.getElementById("map-mode");
  var mode = null;  // {kind: "pick", select} or {kind: "draw", field, points, line}

  function say(text) {
    if (!status) { return; }
    status.hidden = !text;
    status.textContent = text || "";
  }
  function load(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }
  function unitName(feature, index) {
    var p = feature.properties || {};
    for (var i = 0; i < nameKeys.length; i += 1) { if (p[nameKeys[i]]) { return String(p[nameKeys[i]]); } }
    return "area " + index;
  }
  function selectedIn(select) {
    var names = {};
    Array.prototype.forEach.call(select.options, function (o) { if (o.selected && o.value) { names[o.value] = true; } });
    return names;
  }

  var unitLayers = [];
  function restyle() {
    var chosen = mode && mode.kind === "pick" ? selectedIn(mode.select) : {};
    unitLayers.forEach(function (l) {
      var on = chosen[l.unitName];
      l.setStyle({ color: on ? "#6a3d9a" : "#777", weight: on ? 3 : 1, fillColor: on ? "#cab2d6" : "#f3f1ea" });
    });
  }
  function pick(layer) {
    var select = mode.select;
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === layer.unitName; });
    if (!option) { return; }
    if (select.multiple) { option.selected = !option.selected; } else { select.value = option.selected ? "" : option.value; }
    select.dispatchEvent(new Event("change"));
    restyle();
    var names = Object.keys(selectedIn(select));
    say("Chosen: " + (names.length ? names.join(", ") : "none") + ". Click polygons to add or remove them.");
  }

  var boundaryUrl = element.getAttribute("data-boundary-url");
  var index = 0;
  var base = boundaryUrl ? load(boundaryUrl).then(function (geojson) {
    var layer = L.geoJSON(geojson, {
      style: { color: "#777", weight: 1, fillColor: "#f3f1ea", fillOpacity: 0.6 },
      attribution: element.getAttribute("data-boundary-attribution") || "",
      onEachFeature: function (feature, l) {
        l.unitName = unitName(feature, index);
        index += 1;
        l.bindTooltip(textTip(l.unitName), { sticky: true });
        l.on("click", function (event) {
          if (mode && mode.kind === "pick") { L.DomEvent.stopPropagation(event); pick(l); }
        });
        unitLayers.push(l);
      }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds); }
    element.setAttribute("data-units", String(unitLayers.length));
  }) : Promise.resolve();

  var areasUrl = element.getAttribute("data-areas-url");
  base.catch(function () { return null; }).then(function () {
    return areasUrl ? load(areasUrl) : null;
  }).then(function (geojson) {
    if (!geojson) { element.setAttribute("data-areas-drawn", "0"); return; }
    var layer = L.geoJSON(geojson, {
      interactive: false,
      style: function (feature) {
        var role = feature.properties.role;
        return { color: colours[role] || "#333", weight: 2, fillOpacity: role === "intervention" ? 0 : 0.25,
                 dashArray: role === "intervention" ? "6 4" : null };
      }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.3)); }
    element.setAttribute("data-areas-drawn", String((geojson.features || []).length));
  }).catch(function (error) {
    element.setAttribute("data-areas-drawn", "error");
    say("Could not load the map layers (" + error.message + ").");
  });

  function stop() {
    if (mode && mode.kind === "draw" && mode.line) { map.removeLayer(mode.line); }
    if (mode && mode.button) { mode.button.setAttribute("aria-pressed", "false"); }
    mode = null;
    restyle();
    say("");
  }
  function finishDrawing() {
    var points = mode.points;
    if (points.length < 3) { say("A polygon needs at least three corners: click more points on the map."); return; }
    var ring = points.map(function (p) { return [Number(p.lng.toFixed(6)), Number(p.lat.toFixed(6))]; });
    ring.push(ring[0]);
    mode.field.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    var details = mode.field.closest("details");
    if (details) { details.open = true; }
    var field = mode.field;
    stop();
    L.polygon(points, { color: "#6a3d9a", weight: 2, dashArray: "4 4", fillOpacity: 0.1, interactive: false }).addTo(map);
    say("Polygon with " + points.length + " corners written into the form; save the form to use it.");
    field.dispatchEvent(new Event("change"));
  }
  map.on("click", function (event) {
    if (!mode || mode.kind !== "draw") { return; }
    mode.points.push(event.latlng);
    if (mode.line) { map.removeLayer(mode.line); }
    mode.line = L.polyline(mode.points.concat([mode.points[0]]), { color: "#6a3d9a", weight: 2 }).addTo(map);
    say(mode.points.length + " corners. Click the next corner; double-click or press Finish to close the polygon.");
  });
  map.on("dblclick", function () { if (mode && mode.kind === "draw") { finishDrawing(); } });

  function scrollToMap() {
    if (element.scrollIntoView) { element.scrollIntoView({ block: "center" }); }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-pick-for],[data-draw-for],[data-finish-drawing]") : null;
    if (!button) { return; }
    event.preventDefault();
    if (button.hasAttribute("data-finish-drawing")) { if (mode && mode.kind === "draw") { finishDrawing(); } return; }
    var wasSame = mode && mode.button === button;
    stop();
    if (wasSame) { return; }
    button.setAttribute("aria-pressed", "true");
    if (button.hasAttribute("data-pick-for")) {
      var select = document.getElementById(button.getAttribute("data-pick-for"));
      if (!select) { return; }
      mode = { kind: "pick", select: select, button: button };
      restyle();
      say("Click polygons on the map to choose them (click again to remove); press the button again when done.");
    } else {
      var field = document.getElementById(button.getAttribute("data-draw-for"));
      if (!field) { return; }
      mode = { kind: "draw", field: field, button: button, points: [], line: null };
      say("Click the corners of the polygon on the map; double-click or press Finish to close it.");
      var finish = button.parentNode.querySelector("[data-finish-drawing]");
      if (!finish) {
        finish = document.createElement("button");
        finish.type = "button";
        finish.className = "button-secondary";
        finish.setAttribute("data-finish-drawing", "");
        finish.textContent = "Finish";
        button.parentNode.appendChild(finish);
      }
    }
    scrollToMap();
  });
  document.addEventListener("change", function (event) {
    if (mode && mode.kind === "pick" && event.target === mode.select) { restyle(); }
  });
})();
