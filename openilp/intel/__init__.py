"""Criminal intelligence under 28 CFR Part 23: pure rules (no database, no web).

- :mod:`openilp.intel.grading`: Admiralty and UK 3×5×2 grading schemes, handling codes;
- :mod:`openilp.intel.rules`: the criminal-predicate gate, labels, subject roles, protected activity;
- :mod:`openilp.intel.retention`: the five-year (one-year temporary) retention arithmetic;
- :mod:`openilp.intel.tipcodes`: tip IDs, secrets, payout codes, SAR behaviour categories;
- :mod:`openilp.intel.images`: attachments re-encoded without metadata (EXIF).

Database workflows that use these rules (and write the audit log) are in
``openilp.services.intel_*``.
"""

from openilp.intel.errors import IntelForbidden, IntelNotFound, PurposeRequired
from openilp.intel.rules import SubjectInput, Submission, SubmissionError, validate_submission

__all__ = [
    "IntelForbidden",
    "IntelNotFound",
    "PurposeRequired",
    "Submission",
    "SubmissionError",
    "SubjectInput",
    "validate_submission",
]
