"""The public transparency report: aggregate counts of what the agency's models, plans and intelligence
system did in a year or a quarter, with small counts suppressed.

* :mod:`~openilp.services.transparency.report` — :func:`transparency_report` and the suppression
  rule (:func:`public_cell`).
"""

from openilp.services.transparency.report import (
    SUPPRESS_BELOW,
    TransparencyReport,
    TransparencyRequest,
    public_agencies,
    public_cell,
    transparency_report,
)

__all__ = [
    "SUPPRESS_BELOW",
    "TransparencyReport",
    "TransparencyRequest",
    "public_agencies",
    "public_cell",
    "transparency_report",
]
