"""Crime-series linkage (case linkage): evidence variables of crime pairs, models, evaluation, series.

* :mod:`.features`: the evidence variables of a pair (distance, expected time gap, time-of-day and
  day-of-week distances, categorical agreements), vectorised;
* :mod:`.pairs`: linked and unlinked pairs from solved crimes (``crimelinkage``'s weighted design);
* :mod:`.models`: naive-Bayes log Bayes factors, logistic additive model, boosted trees;
* :mod:`.evaluation`: repeated out-of-sample splits by crime group (AUC, weighted AUC, precision@k);
* :mod:`.candidates`: spatio-temporal blocking with a KD-tree, "crimes like this one";
* :mod:`.clustering`: series as agglomerative clusters on log Bayes factors.
"""

from openilp.analysis.linkage.features import CrimeTable, feature_names, pair_features
from openilp.analysis.linkage.models import MODEL_NAMES, make_model
from openilp.analysis.linkage.pairs import LinkagePairs, crime_groups, make_pairs

__all__ = [
    "MODEL_NAMES",
    "CrimeTable",
    "LinkagePairs",
    "crime_groups",
    "feature_names",
    "make_model",
    "make_pairs",
    "pair_features",
]
