"""Entities: person files read into mentions, mentions resolved into entities with stable ids.

* :mod:`~openilp.services.entities.imports` — a person file through its TOML mapping
  (``openilp entities import``), idempotent and atomic per file;
* :mod:`~openilp.services.entities.mentions` — intelligence subjects kept as mentions;
* :mod:`~openilp.services.entities.common` — permissions, the agency, mentions as person frames.

Every public function takes the core object, the acting user (None: the command line) and one
request, and returns a frozen result with ``as_dict()``. Importing needs ``entities:write``.
"""

from openilp.services.entities.imports import ImportPersonsRequest, ImportPersonsResult, import_persons

__all__ = ["ImportPersonsRequest", "ImportPersonsResult", "import_persons"]
