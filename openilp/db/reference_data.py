"""Reference data loaded from data files into the store (offence categories)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.models import OffenceCategory
from openilp.ingest.categories import CATEGORIES_FILE, load_category_definitions

__all__ = ["CATEGORIES_FILE", "load_category_definitions", "sync_offence_categories"]


def sync_offence_categories(session: Session) -> None:
    """Insert or update every category of the taxonomy file (never deletes: incidents refer to them)."""
    existing = {c.code: c for c in session.scalars(select(OffenceCategory))}
    for code, spec in load_category_definitions().items():
        part = int(spec["ucr_part"])  # type: ignore[call-overload]
        category = existing.get(code) or OffenceCategory(code=code)
        category.label = str(spec["label"])
        category.crime_group = str(spec["crime_group"])
        category.ucr_part = part or None
        category.parent_code = str(spec["parent"]) if spec.get("parent") else None
        session.add(category)
