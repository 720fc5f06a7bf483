/* Places the timeline ticks along the period (their position comes from data-left, in per cent). */
(function () {
  "use strict";
  var ticks = document.querySelectorAll("#series-timeline .tick");
  Array.prototype.forEach.call(ticks, function (tick) {
    tick.style.left = tick.getAttribute("data-left") + "%";
  });
})();
