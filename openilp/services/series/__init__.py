"""Crime series: linkage evaluation, "crimes like this one", possible series, saved series.

* :mod:`~openilp.services.series.evaluation` — repeated-split evaluation of the linkage models on
  files in the ``crimelinkage`` layout (``openilp series evaluate``).

Every public function takes the core object, the acting user and one request and returns a frozen
result with ``as_dict()``.
"""

from openilp.services.series.evaluation import (
    HEADLINE_MODEL,
    EvaluateLinkageRequest,
    LinkageEvaluation,
    evaluate_linkage_files,
)

__all__ = ["HEADLINE_MODEL", "EvaluateLinkageRequest", "LinkageEvaluation", "evaluate_linkage_files"]
