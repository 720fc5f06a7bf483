"""Civil-rights checks of models and patrol plans, as pure numerics (no database, no web).

* :mod:`openilp.fairness.feedback`: the runaway-feedback simulation of Ensign et al. (2018), run
  with OpenILP's own forecasters (:mod:`openilp.analysis.forecast`) and deployment code
  (:mod:`openilp.tasking`), and inverse-propensity sampling of discovered incidents.

The package sits one floor above the analysis and tasking libraries, because it drives them; the
services call it. It never reads a protected attribute into a model: the simulation has no residents
at all.
"""

from openilp.fairness.feedback import (
    TRAINING_CHOICES,
    FeedbackResult,
    inverse_propensity_sample,
    simulate_feedback,
)

__all__ = ["TRAINING_CHOICES", "FeedbackResult", "inverse_propensity_sample", "simulate_feedback"]
