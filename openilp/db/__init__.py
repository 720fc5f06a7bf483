"""Storage: schema, migrations, engines and bulk writers (SQLite and PostgreSQL)."""

from openilp.db import (
    deconfliction_models,  # noqa: F401  (registers the deconfliction tables on Base)
    entity_models,  # noqa: F401  (registers the entity tables on Base)
    federation_models,  # noqa: F401  (registers the federation tables on Base)
    patrol_models,  # noqa: F401  (registers the patrol log on Base)
    product_models,  # noqa: F401  (registers the products tables on Base)
    sharing_models,  # noqa: F401  (registers the sharing-group tables on Base)
)
from openilp.db.engine import DatabaseError, make_engine, migrate, session_scope
from openilp.db.models import Agency, AuditEntry, Base, ImportFile, Incident, IncidentLedger, OffenceCategory, User

__all__ = [
    "Agency",
    "AuditEntry",
    "Base",
    "DatabaseError",
    "ImportFile",
    "Incident",
    "IncidentLedger",
    "OffenceCategory",
    "User",
    "make_engine",
    "migrate",
    "session_scope",
]
