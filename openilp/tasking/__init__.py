"""From a forecast to a shift's patrol plan (Koper-curve dosage), and the disparity audit of that plan.

* :mod:`openilp.tasking.koper`: top places, 10–15-minute visits repeated through the shift in a
  randomised order, fitted to a budget of officer-minutes.
* :mod:`openilp.tasking.disparity`: the share of patrol exposure by neighbourhood demographic group
  against the population share and the reported-crime share, flagged outside 0.8–1.25.

Demographic data enter only the audit (:mod:`~openilp.tasking.disparity`), never a forecast or a
plan: the forecasters do not import this package, and the plan is computed before the audit reads
any demographic file.
"""

from openilp.tasking.disparity import DisparityReport, disparity_check, read_demographics
from openilp.tasking.koper import DeploymentPlan, PlannedPlace, plan_deployment

__all__ = [
    "DeploymentPlan",
    "DisparityReport",
    "PlannedPlace",
    "disparity_check",
    "plan_deployment",
    "read_demographics",
]
