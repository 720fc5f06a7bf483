/* The link chart (/networks): draws /api/v1/networks/chart.json with Cytoscape.js (built from npm).
 * Expand a node (its neighbours are fetched and added), size nodes by a metric, colour communities,
 * hide links after a date with the slider, export PNG (drawn here) or GraphML / Analyst's Notebook
 * CSV (asked of the server, which checks what the viewer may see and audits the export).
 * Designated memberships (approved designations the viewer may read) are a layer of their own:
 * dashed edges to the organisation, a toggle, and the same list as a table under the chart. */
(function () {
  "use strict";
  var container = document.getElementById("network-chart");
  var status = document.getElementById("network-status");
  var detail = document.getElementById("network-detail");
  var sizeBy = document.getElementById("size-by");
  var slider = document.getElementById("time-slider");
  var sliderLabel = document.getElementById("time-label");
  var expandButton = document.getElementById("expand-node");
  var baseQuery = container.getAttribute("data-query") || "";
  var expanded = [];
  var selected = null;
  var dates = [];
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939"];
  var LINK_COLOURS = { co_offending: "#c0392b", association: "#34495e", shared_vehicle: "#16a085",
    shared_phone: "#8e44ad", shared_address: "#d35400" };
  var MEMBERSHIP_COLOUR = "#111";
  var membershipToggle = document.getElementById("show-memberships");
  var membershipSection = document.getElementById("network-memberships");
  var SHAPES = { person: "ellipse", organisation: "hexagon", vehicle: "round-rectangle", location: "triangle" };

  var cy = cytoscape({
    container: container,
    elements: [],
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
        "background-color": "data(color)", "shape": "data(shape)", "width": "data(size)", "height": "data(size)",
        "label": "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 2 } },
      { selector: "node[?seed]", style: { "border-width": 3, "border-color": "#000" } },
      { selector: "node[?key_player]", style: { "border-width": 4, "border-color": "#f1c40f", "border-style": "double" } },
      { selector: "node:selected", style: { "overlay-opacity": 0.25, "overlay-color": "#000" } },
      { selector: "edge", style: { "line-color": "data(colour)", "width": 2, "curve-style": "bezier", "opacity": 0.8 } },
      { selector: "edge:selected", style: { "width": 4, "opacity": 1 } },
      { selector: "edge.membership", style: { "line-style": "dashed", "line-color": MEMBERSHIP_COLOUR,
        "target-arrow-shape": "triangle", "target-arrow-color": MEMBERSHIP_COLOUR, "opacity": 1 } },
      { selector: "node.membership", style: { "background-color": "#fff", "border-width": 2,
        "border-color": MEMBERSHIP_COLOUR, "border-style": "dashed" } },
      { selector: ".membership-hidden", style: { "display": "none" } },
      { selector: ".after-slider", style: { "display": "none" } }
    ]
  });

  // The slider's date once released: the server recomputes the network, its metrics and key
  // players from the links up to that date (date_to), and the exports follow it.
  var asOf = null;

  function query(extra) {
    var params = new URLSearchParams(baseQuery);
    expanded.forEach(function (id) { params.append("expand", id); });
    if (asOf) { params.set("date_to", asOf); }
    Object.keys(extra || {}).forEach(function (key) { params.set(key, extra[key]); });
    return params.toString();
  }

  function exportLinks() {
    document.getElementById("export-graphml").setAttribute("href", "/api/v1/networks/export?" + query({ format: "graphml" }));
    document.getElementById("export-anb").setAttribute("href", "/api/v1/networks/export?" + query({ format: "anb_csv" }));
  }

  function resize() {
    var metric = sizeBy.value;
    var values = cy.nodes().map(function (n) { return metric === "none" ? 0 : Number(n.data(metric)) || 0; });
    var top = Math.max.apply(null, values.concat([0]));
    cy.nodes().forEach(function (n) {
      var v = metric === "none" || top === 0 ? 0 : (Number(n.data(metric)) || 0) / top;
      n.data("size", 18 + 42 * Math.sqrt(v));
    });
  }

  function applySlider() {
    if (!dates.length) { return; }
    var last = dates[Number(slider.value)];
    sliderLabel.textContent = Number(slider.value) === dates.length - 1 ? "all dates" : last;
    cy.edges().forEach(function (e) {
      var d = e.data("date");
      if (d && d > last) { e.addClass("after-slider"); } else { e.removeClass("after-slider"); }
    });
  }

  function show(element) {
    var data = element.data();
    var rows = element.hasClass("membership")
      ? (element.isNode()
        ? [["kind", "organisation"], ["drawn because", "a designation names it; no record in this chart does"]]
        : [["link", "designated member of (not a link of the network)"], ["designation", "#" + data.designation_id],
           ["organisation", data.organisation], ["approved", data.approved_on || "–"], ["review due", data.review_due_on]])
      : element.isNode()
      ? [["kind", data.kind], ["degree", data.degree], ["betweenness", data.betweenness], ["eigenvector", data.eigenvector],
         ["PageRank", data.pagerank], ["community", data.community], ["key player", data.key_player ? "yes" : "no"]]
      : [["link", data.link_type], ["date", data.date || "–"], ["record", data.record || "–"], ["via", data.via || "–"]];
    detail.innerHTML = "";
    var title = document.createElement("h2");
    title.textContent = element.isNode() ? data.label
      : element.hasClass("membership") ? data.person + " – " + data.organisation : data.source + " – " + data.target;
    var list = document.createElement("dl");
    rows.forEach(function (row) {
      var dt = document.createElement("dt"); dt.textContent = row[0];
      var dd = document.createElement("dd"); dd.textContent = String(row[1]);
      list.appendChild(dt); list.appendChild(dd);
    });
    detail.appendChild(title); detail.appendChild(list);
  }

  function listKeyPlayers(chart) {
    var section = document.getElementById("network-key-players");
    section.innerHTML = "";
    var labels = {};
    chart.nodes.forEach(function (n) { labels[n.id] = n.label; });
    [["Key players for disruption (KPP-Neg: removing them fragments the network most)", chart.key_players_negative],
     ["Key players for reach (KPP-Pos: linked directly to the most others)", chart.key_players_positive]].forEach(function (pair) {
      if (!pair[1].length) { return; }
      var p = document.createElement("p");
      p.textContent = pair[0] + ": " + pair[1].map(function (id) { return labels[id] || id; }).join(", ");
      section.appendChild(p);
    });
    var notes = document.getElementById("network-notes");
    notes.innerHTML = "";
    chart.notes.forEach(function (text) {
      var li = document.createElement("li"); li.textContent = text; notes.appendChild(li);
    });
  }

  function showMemberships() {
    var on = !membershipToggle || membershipToggle.checked;
    cy.elements(".membership").forEach(function (e) {
      if (on) { e.removeClass("membership-hidden"); } else { e.addClass("membership-hidden"); }
    });
  }

  function listMemberships(chart) {
    if (!membershipSection) { return; }
    var body = membershipSection.querySelector("tbody");
    body.innerHTML = "";
    chart.memberships.forEach(function (m) {
      var row = document.createElement("tr");
      [m.person, m.organisation, null, m.approved_on || "–", m.review_due_on].forEach(function (text) {
        var cell = document.createElement("td");
        if (text === null) {
          var link = document.createElement("a");
          link.href = m.link; link.textContent = "#" + m.designation_id;
          cell.appendChild(link);
        } else { cell.textContent = text; }
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    membershipSection.hidden = !chart.memberships.length;
  }

  function draw(chart) {
    var known = {};
    cy.nodes().forEach(function (n) { known[n.id()] = n.position(); });
    var keyPlayers = {};
    chart.key_players_negative.concat(chart.key_players_positive).forEach(function (id) { keyPlayers[id] = true; });
    var elements = chart.nodes.map(function (n) {
      var data = Object.assign({}, n, {
        color: PALETTE[n.community % PALETTE.length], shape: SHAPES[n.kind] || "ellipse", size: 24,
        key_player: !!keyPlayers[n.id] });
      var element = { group: "nodes", data: data };
      if (known[n.id]) { element.position = known[n.id]; }
      return element;
    }).concat(chart.links.map(function (l) {
      return { group: "edges", data: Object.assign({}, l, { colour: LINK_COLOURS[l.link_type] || "#999" }) };
    })).concat(chart.membership_nodes.map(function (n) {
      var element = { group: "nodes", classes: "membership",
        data: Object.assign({}, n, { color: "#fff", shape: SHAPES.organisation, size: 24 }) };
      if (known[n.id]) { element.position = known[n.id]; }
      return element;
    })).concat(chart.memberships.map(function (m) {
      return { group: "edges", classes: "membership", data: Object.assign({}, m, { colour: MEMBERSHIP_COLOUR }) };
    }));
    cy.elements().remove();
    cy.add(elements);
    resize();
    var fresh = cy.nodes().filter(function (n) { return !known[n.id()]; });
    if (fresh.length && fresh.length < cy.nodes().length) {
      fresh.forEach(function (n) {
        var anchor = n.neighborhood("node").filter(function (m) { return known[m.id()]; }).first();
        var base = anchor.length ? anchor.position() : { x: 0, y: 0 };
        n.position({ x: base.x + 80 * Math.cos(n.id().length), y: base.y + 80 * Math.sin(n.id().length) });
      });
    }
    if (!asOf) {
      dates = Array.from(new Set(chart.links.map(function (l) { return l.date; }).filter(Boolean))).sort();
      slider.max = String(Math.max(dates.length - 1, 0));
      slider.value = slider.max;
      slider.disabled = dates.length < 2;
    }
    applySlider();
    showMemberships();
    listKeyPlayers(chart);
    listMemberships(chart);
    exportLinks();
    var s = chart.summary;
    function finish() {
      status.textContent = s.nodes + " nodes (" + s.people + " people), " + s.links + " links, " + s.components +
        " components, " + s.communities + " communities" +
        (s.memberships ? ", " + s.memberships + " designated memberships" : "") +
        (expanded.length ? "; expanded: " + expanded.length : "");
      container.setAttribute("aria-label", "link chart: " + status.textContent +
        (s.memberships ? " (the memberships are listed in the table below the chart)" : ""));
      // the text above the chart may have moved it: make Cytoscape measure its container again
      cy.resize();
      container.setAttribute("data-nodes", String(s.nodes));
    }
    if (fresh.length === cy.nodes().length && fresh.length) {
      var layout = cy.layout({ name: "cose", animate: false, randomize: false, nodeRepulsion: 8000 });
      layout.one("layoutstop", finish);
      layout.run();
    } else {
      cy.fit(undefined, 30);
      finish();
    }
  }

  function load() {
    status.textContent = "Loading…";
    fetch("/api/v1/networks/chart.json?" + query(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) { status.textContent = result.body.detail || "The chart could not be drawn."; return; }
        draw(result.body);
      })
      .catch(function () { status.textContent = "The chart could not be loaded."; });
  }

  cy.on("tap", "node, edge", function (event) {
    selected = event.target;
    show(selected);
    expandButton.disabled = !selected.isNode() || selected.hasClass("membership");
  });
  expandButton.addEventListener("click", function () {
    if (!selected || !selected.isNode() || selected.hasClass("membership")) { return; }
    if (expanded.indexOf(selected.id()) < 0) { expanded.push(selected.id()); }
    load();
  });
  sizeBy.addEventListener("change", resize);
  if (membershipToggle) { membershipToggle.addEventListener("change", showMemberships); }
  slider.addEventListener("input", applySlider);
  slider.addEventListener("change", function () {
    var last = Number(slider.value) === dates.length - 1;
    asOf = last || !dates.length ? null : String(dates[Number(slider.value)]).slice(0, 10);
    load();
  });
  document.getElementById("export-png").addEventListener("click", function () {
    var link = document.createElement("a");
    link.href = cy.png({ full: true, bg: "#ffffff", scale: 2 });
    link.download = "network.png";
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
  exportLinks();
  load();
})();
