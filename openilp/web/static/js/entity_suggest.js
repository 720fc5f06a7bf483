/* "Do we already know this person?": while a subject's name is typed on the intelligence record
 * form, ask /api/v1/entities/suggest and list the known entities (only those the user may see)
 * under the subjects, each a link to its entity page. Nothing is filled in for the user.
 * A name input with data-entity-pick="ID" (the designation form) also offers, per person entity,
 * a button that puts its number into the input ID: the user picks, the server checks the pick. */
(function () {
  "use strict";
  var box = document.getElementById("entity-suggestions");
  if (!box || !window.fetch) { return; }
  var timer = null;
  var asked = "";

  function pickButton(hit, target) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "entity-pick";
    button.textContent = "Pick entity " + hit.entity_id;
    button.setAttribute("aria-label", "Pick entity " + hit.entity_id + ", " + hit.display_name + ", as this person");
    button.addEventListener("click", function () {
      target.value = String(hit.entity_id);
      var said = document.createElement("p");
      said.className = "entity-picked";
      said.textContent = "Picked entity " + hit.entity_id + " (" + hit.display_name + ").";
      var old = box.querySelector(".entity-picked");
      if (old) { old.remove(); }
      box.appendChild(said);
    });
    return button;
  }

  function show(name, hits, target) {
    box.textContent = "";
    if (target) { hits = hits.filter(function (hit) { return hit.kind === "person"; }); }
    if (!hits.length) { return; }
    var title = document.createElement("p");
    title.textContent = "Already known for \u201c" + name + "\u201d:";
    box.appendChild(title);
    var list = document.createElement("ul");
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/entities/" + encodeURIComponent(hit.entity_id);
      link.textContent = hit.display_name + " (entity " + hit.entity_id + ", match " + hit.score + ")";
      item.appendChild(link);
      if (target) { item.appendChild(document.createTextNode(" ")); item.appendChild(pickButton(hit, target)); }
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function ask(name, target) {
    name = name.trim();
    if (name === asked || name.replace(/[^A-Za-z]/g, "").length < 3) { return; }
    asked = name;
    fetch("/api/v1/entities/suggest?name=" + encodeURIComponent(name), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : { hits: [] }; })
      .then(function (body) { if (asked === name) { show(name, body.hits || [], target); } })
      .catch(function () { box.textContent = ""; });
  }

  document.querySelectorAll("input[name='subject_name'], input[data-entity-pick]").forEach(function (input) {
    var target = input.hasAttribute("data-entity-pick")
      ? document.getElementById(input.getAttribute("data-entity-pick")) : null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { ask(input.value, target); }, 350);
    });
  });
})();
