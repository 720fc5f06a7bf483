"""Civil-rights checks of models and patrol plans, as pure numerics (no database, no web).

* :mod:`openilp.fairness.feedback`: the runaway-feedback simulation of Ensign et al. (2018), run
  with OpenILP's own forecasters (:mod:`openilp.analysis.forecast`) and deployment code
  (:mod:`openilp.tasking`), and inverse-propensity sampling of discovered incidents.
* :mod:`openilp.fairness.live`: the live check on real plans: does last cycle's patrol share raise
  this cycle's risk more than reported crime explains?
* :mod:`openilp.fairness.proxy`: proxy leakage, the AUC of a model's area scores for telling which
  areas have a demographic majority.
* :mod:`openilp.fairness.concentration`: The Markup's concentration table of the most-targeted,
  median and never-targeted areas.
* :mod:`openilp.fairness.harm`: harm weights (modelled on the Cambridge Crime Harm Index) for the
  need-adjusted parity of a plan.

The package sits one floor above the analysis and tasking libraries, because it drives them; the
services call it. It never reads a protected attribute into a model: the simulation has no residents
at all; the audits read demographic data only after a model has scored and a plan is made.
"""

from openilp.fairness.concentration import CONCENTRATION_FLAG, ConcentrationTable, concentration_table
from openilp.fairness.feedback import (
    TRAINING_CHOICES,
    FeedbackResult,
    inverse_propensity_sample,
    simulate_feedback,
)
from openilp.fairness.harm import (
    HARM_DAYS,
    HARM_WEIGHTS_VERSION,
    PublishedHarmWeights,
    harm_of,
    harm_weights_from_toml,
    published_harm_weights,
)
from openilp.fairness.live import LiveFeedback, live_feedback_check
from openilp.fairness.propensity import propensities_at
from openilp.fairness.proxy import PROXY_AUC_THRESHOLD, ProxyAudit, majority_areas, proxy_auc

__all__ = [
    "CONCENTRATION_FLAG",
    "HARM_DAYS",
    "HARM_WEIGHTS_VERSION",
    "PROXY_AUC_THRESHOLD",
    "TRAINING_CHOICES",
    "ConcentrationTable",
    "FeedbackResult",
    "LiveFeedback",
    "ProxyAudit",
    "PublishedHarmWeights",
    "concentration_table",
    "harm_of",
    "harm_weights_from_toml",
    "inverse_propensity_sample",
    "live_feedback_check",
    "majority_areas",
    "propensities_at",
    "proxy_auc",
    "published_harm_weights",
    "simulate_feedback",
]
