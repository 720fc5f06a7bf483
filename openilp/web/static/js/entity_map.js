/* OpenILP entity map: the places of one entity (its addresses and the incidents it is a party to) on
   the agency boundary. Drawn by point_map.js. */
(function () {
  "use strict";
  var element = document.getElementById("entity-map");
  if (!element || typeof L === "undefined" || !window.OpenILPPointMap) { return; }
  window.OpenILPPointMap.draw(
    element,
    function () { return { radius: 7, color: "#2166ac", weight: 2, fillOpacity: 0.7 }; },
    function (p) { return p.label || "place"; }
  );
})();
