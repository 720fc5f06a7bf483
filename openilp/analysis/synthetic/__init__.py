"""Synthetic incident histories of many agencies, fitted from real cities, for tests and benchmarks
of scale (:mod:`.template`: what a city looks like; :mod:`.generate`: agencies and their incidents)."""

from openilp.analysis.synthetic.generate import (
    NATIONAL_CRS,
    SOURCE_NAME,
    SyntheticAgency,
    generate_incidents,
    plan_agencies,
)
from openilp.analysis.synthetic.template import (
    TEMPLATE_NAMES,
    IncidentTemplate,
    estimate_triggering,
    fit_template,
    load_template,
)

__all__ = [
    "NATIONAL_CRS",
    "SOURCE_NAME",
    "TEMPLATE_NAMES",
    "IncidentTemplate",
    "SyntheticAgency",
    "estimate_triggering",
    "fit_template",
    "generate_incidents",
    "load_template",
    "plan_agencies",
]
