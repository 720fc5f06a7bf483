"""Intelligence products: build, mark, render, store versioned, and send with a dissemination log.

* :mod:`~openilp.services.products.common` — the shared workflow: who may produce, the data cut-off,
  the marking of the most restrictive item, rendering, the versioned row and its audit entry;
  re-rendering a stored version and comparing its numbers;
* :mod:`~openilp.services.products.compstat` — the weekly CompStat pack of a district;
* :mod:`~openilp.services.products.bulletin` — the tactical bulletin of a near-repeat cluster or a
  saved crime series;
* :mod:`~openilp.services.products.safety_alert` — the officer-safety alert from intelligence records;
* :mod:`~openilp.services.products.problem_profile` — the problem profile of a SARA problem;
* :mod:`~openilp.services.products.strategic` — the strategic assessment of a year (trends,
  displacement, forecast accuracy, civil-rights audits);
* :mod:`~openilp.services.products.delivery` — writing and sending a product (file, folder, e-mail),
  each sending in the dissemination log, a failure recorded and raised, never swallowed.
"""
