"""The incident map's services: points or cells of the actor's agency, the map page, the categories.

Each takes the core object, the actor and a request, opens its own unit of work and audits what
it shows: every map question is a ``search`` of ``incidents`` (filters and counts). The GeoJSON is
built and encoded once per question and state of the agency's data (:func:`map_collection`,
:func:`map_cells`) and kept gzipped too, so the many analysts opening the same month cost a
lookup, not a query and a compression each.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from openilp.core import OpenILP, Request, Result, require
from openilp.errors import InvalidRequest, NotPermitted
from openilp.security.actors import UserInfo
from openilp.security.audit import MAX_PURPOSE_LENGTH, require_purpose
from openilp.services.analysis.incident_cells import MAX_CELL_M, MIN_CELL_M, count_located, map_cells
from openilp.services.analysis.incidents import (
    CRIME_GROUPS,
    CategoryOption,
    MapCollection,
    category_options,
    map_collection,
    parse_iso_date,
    validate_filters,
)

__all__ = [
    "CategoryList",
    "IncidentMap",
    "IncidentMapRequest",
    "MapPage",
    "MapPageRequest",
    "incident_map",
    "list_categories",
    "map_page",
]


@dataclass(frozen=True)
class IncidentMapRequest(Request):
    """One question of the incident map (``/api/v1/incidents.geojson``).

    ``category``: offence category codes (none: all); ``date_from``/``date_to``: calendar days in
    the agency's time zone, inclusive; ``limit``: at most this many points (None: the
    ``max_map_points`` setting, which also caps it); ``purpose``: optional, audited. ``mode``:
    ``points``; ``auto`` (counts per square cell when more match than the limit); ``cells`` (always
    counts per cell, of side ``cell_m`` metres, chosen from the extent when None).

    >>> IncidentMapRequest(date_from=dt.date(2019, 7, 1), date_to=dt.date(2019, 6, 1)).validate()
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: date_from (2019-07-01) is after date_to (2019-06-01)
    """

    category: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    limit: int | None = None
    purpose: str = ""
    mode: str = "points"
    cell_m: int | None = None

    @classmethod
    def from_text(
        cls,
        category: Sequence[str],
        date_from: str,
        date_to: str,
        limit: int | None = None,
        purpose: str = "",
        *,
        mode: str = "points",
        cell_m: int | None = None,
    ) -> IncidentMapRequest:
        """The request from the text a shell received (dates ``YYYY-MM-DD``, empty for none)."""
        return cls(
            tuple(category),
            parse_iso_date(date_from, "date_from"),
            parse_iso_date(date_to, "date_to"),
            limit,
            purpose,
            mode,
            cell_m,
        )

    def validate(self) -> Self:
        if self.date_from is not None and self.date_to is not None:
            require(
                self.date_from <= self.date_to,
                f"date_from ({self.date_from.isoformat()}) is after date_to ({self.date_to.isoformat()})",
            )
        require(self.limit is None or self.limit >= 1, f"limit must be at least 1, got {self.limit}")
        require(len(self.category) <= 200, "at most 200 categories")
        require(self.mode in ("points", "auto", "cells"), f"mode must be points, auto or cells, got {self.mode!r}")
        require(
            self.cell_m is None or MIN_CELL_M <= self.cell_m <= MAX_CELL_M,
            f"cell_m must be between {MIN_CELL_M} and {MAX_CELL_M} metres",
        )
        require(len(self.purpose) <= MAX_PURPOSE_LENGTH + 100, f"purpose: at most {MAX_PURPOSE_LENGTH} characters")
        return self


@dataclass(frozen=True)
class IncidentMap(Result):
    """The map's GeoJSON for one question: filters and counts, and the encoded JSON (plain and gzipped)."""

    filters: dict[str, Any]
    counts: dict[str, Any]
    _body: bytes = field(default=b"", repr=False)
    _gzipped: bytes = field(default=b"", repr=False)

    def body(self, *, gzipped: bool = False) -> bytes:
        """The GeoJSON bytes, gzip-compressed when ``gzipped`` (and a compressed copy exists)."""
        return self._gzipped if gzipped and self._gzipped else self._body

    def as_dict(self) -> dict[str, Any]:
        """The FeatureCollection as data (see :func:`incident_features`)."""
        data: dict[str, Any] = json.loads(self._body)
        return data


def _incident_reader(actor: UserInfo | None) -> UserInfo:
    if actor is None or not actor.can("incidents:read"):
        raise NotPermitted("reading incidents needs a signed-in user whose role permits incidents:read")
    return actor


def _collection(core: OpenILP, session: Any, user: UserInfo, request: IncidentMapRequest, cap: int) -> MapCollection:
    cells = request.mode == "cells" or (
        request.mode == "auto"
        and count_located(session, user.agency_id, request.category, request.date_from, request.date_to) > cap
    )
    if cells:
        return map_cells(
            core,
            session,
            user.agency_id,
            user.agency_code,
            request.category,
            request.date_from,
            request.date_to,
            request.cell_m,
        )
    return map_collection(
        core, session, user.agency_id, user.agency_code, request.category, request.date_from, request.date_to, cap
    )


def incident_map(core: OpenILP, actor: UserInfo | None, request: IncidentMapRequest) -> IncidentMap:
    """Located incidents of the actor's agency for the map, audited as a ``search`` of ``incidents``.

    The collection comes from :func:`map_collection` (built and encoded once per question and state
    of the data); the audit entry records the filters, the counts and the purpose when one is
    stated (optional: reported-crime records are not criminal intelligence).
    """
    request = request.validate()
    user = _incident_reader(actor)
    try:
        stated = require_purpose(request.purpose) if request.purpose.strip() else None
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    max_points = core.settings.max_map_points
    with core.unit_of_work(user) as uow:
        try:
            collection = _collection(core, uow.session, user, request, min(request.limit or max_points, max_points))
        except InvalidRequest:
            raise
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        uow.audit(
            action="search",
            object_type="incidents",
            purpose=stated,
            details={"filters": collection.filters, "counts": collection.counts},
        )
    return IncidentMap(collection.filters, collection.counts, collection.body, collection.gzipped)


@dataclass(frozen=True)
class CategoryList(Result):
    """Every offence category: code, label, crime group and UCR part."""

    categories: tuple[CategoryOption, ...]


def list_categories(core: OpenILP, actor: UserInfo | None) -> CategoryList:
    """Every offence category, ordered by crime group then label (the taxonomy is public to staff)."""
    if actor is not None and not actor.can("categories:read"):
        raise NotPermitted("your role does not permit reading the categories")
    with core.unit_of_work(actor) as uow:
        return CategoryList(tuple(category_options(uow.session)))


@dataclass(frozen=True)
class MapPageRequest(Request):
    """The filters the map page was opened with (checked, so a bad link shows its error)."""

    category: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""


@dataclass(frozen=True)
class MapPage(Result):
    """What the map page offers: the categories the agency holds, by crime group, and a filter error."""

    groups: tuple[tuple[str, tuple[CategoryOption, ...]], ...]
    error: str | None = None


def map_page(core: OpenILP, actor: UserInfo | None, request: MapPageRequest) -> MapPage:
    """The map page's pickers (categories the actor's agency has incidents of) and its filters' error."""
    user = _incident_reader(actor)
    error = None
    with core.unit_of_work(user) as uow:
        try:
            validate_filters(
                uow.session,
                request.category,
                parse_iso_date(request.date_from, "date_from"),
                parse_iso_date(request.date_to, "date_to"),
            )
        except ValueError as exc:
            error = str(exc)
        options = category_options(uow.session, [user.agency_id])
    groups = tuple((group, tuple(o for o in options if o.crime_group == group)) for group in CRIME_GROUPS)
    return MapPage(tuple((g, members) for g, members in groups if members), error)
