// Progress of a background analysis: poll the job once a second, reload the page when it ends.
(function () {
  "use strict";
  var section = document.getElementById("job-progress");
  if (!section) { return; }
  var url = section.getAttribute("data-job-url");
  var bar = document.getElementById("job-bar");
  var stage = document.getElementById("job-stage");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404) { window.location.reload(); return null; }
        return response.json();
      })
      .then(function (job) {
        if (!job) { return; }
        bar.value = job.fraction;
        stage.textContent = job.stage + (job.total ? " (" + job.done + " of " + job.total + ")" : "") + " · " + job.elapsed_s + " s";
        section.setAttribute("data-job-state", job.state);
        if (job.state === "running") { window.setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
