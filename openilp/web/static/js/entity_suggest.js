/* "Do we already know this person?": while a subject's name is typed on the intelligence record
 * form, ask /api/v1/entities/suggest and list the known entities (only those the user may see)
 * under the subjects, each a link to its entity page. Nothing is filled in for the user. */
(function () {
  "use strict";
  var box = document.getElementById("entity-suggestions");
  if (!box || !window.fetch) { return; }
  var timer = null;
  var asked = "";

  function show(name, hits) {
    box.textContent = "";
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
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function ask(name) {
    name = name.trim();
    if (name === asked || name.replace(/[^A-Za-z]/g, "").length < 3) { return; }
    asked = name;
    fetch("/api/v1/entities/suggest?name=" + encodeURIComponent(name), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : { hits: [] }; })
      .then(function (body) { if (asked === name) { show(name, body.hits || []); } })
      .catch(function () { box.textContent = ""; });
  }

  document.querySelectorAll("input[name='subject_name']").forEach(function (input) {
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { ask(input.value); }, 350);
    });
  });
})();
