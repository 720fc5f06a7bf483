/* OpenILP series map: the agency boundary as the base, the incidents of a series or of "crimes like this
   one" on top (the seed incident in red). Drawn by point_map.js. */
(function () {
  "use strict";
  var element = document.getElementById("series-map");
  if (!element || typeof L === "undefined" || !window.OpenILPPointMap) { return; }
  window.OpenILPPointMap.draw(
    element,
    function (p) { return { radius: p.seed ? 8 : 6, color: p.seed ? "#b2182b" : "#2166ac", weight: 2, fillOpacity: 0.7 }; },
    function (p) { return "incident " + p.id + " (" + p.label + ")"; }
  );
})();
