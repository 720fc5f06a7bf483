"""Crime series: linkage evaluation, "crimes like this one", possible series, saved series.

* :mod:`~openilp.services.series.evaluation` — repeated-split evaluation of the linkage models on
  files in the ``crimelinkage`` layout (``openilp series evaluate``);
* :mod:`~openilp.services.series.similar` — crimes like this one: the agency's incidents ranked by
  their linkage score against one incident;
* :mod:`~openilp.services.series.possible` — the alert list of possible series among recent crimes;
* :mod:`~openilp.services.series.records` — saved series (on a problem or an intelligence record),
  their review, need-to-know;
* :mod:`~openilp.services.series.common` — permissions, the prior scoring model, the stated limits.

Every public function takes the core object, the acting user and one request and returns a frozen
result with ``as_dict()``. Reading needs ``series:read``, saving ``series:write``, confirming or
rejecting ``series:review``; everything is limited to the actor's agency and audited.
"""

from openilp.services.series.common import LIMITATIONS
from openilp.services.series.evaluation import (
    HEADLINE_MODEL,
    EvaluateLinkageRequest,
    LinkageEvaluation,
    evaluate_linkage_files,
)
from openilp.services.series.possible import PossibleSeries, PossibleSeriesRequest, possible_series
from openilp.services.series.records import (
    REVIEW_STATUSES,
    ReviewSeriesRequest,
    SaveSeriesRequest,
    SeriesDetail,
    SeriesList,
    SeriesSaved,
    list_series,
    review_series,
    save_series,
    show_series,
)
from openilp.services.series.similar import SimilarIncidents, SimilarRequest, similar_incidents

__all__ = [
    "HEADLINE_MODEL",
    "LIMITATIONS",
    "REVIEW_STATUSES",
    "EvaluateLinkageRequest",
    "LinkageEvaluation",
    "PossibleSeries",
    "PossibleSeriesRequest",
    "ReviewSeriesRequest",
    "SaveSeriesRequest",
    "SeriesDetail",
    "SeriesList",
    "SeriesSaved",
    "SimilarIncidents",
    "SimilarRequest",
    "evaluate_linkage_files",
    "list_series",
    "possible_series",
    "review_series",
    "save_series",
    "show_series",
    "similar_incidents",
]
