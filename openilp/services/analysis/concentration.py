"""The concentration audit over the agency's issued deployment lists (The Markup 2021; civil-rights check 8).

:func:`concentration_audit` (``openilp concentration``, the page ``/civil-rights/concentration`` and
``/api/v1/civil-rights/concentration.json``) reads the **patrol log** (the places of every list
issued for a shift in the period: :mod:`openilp.services.analysis.patrol_log`), adds up each
neighbourhood's patrol minutes (or the lists that sent patrol there), and only then joins the
agency's area data of its disparity configuration (:class:`~openilp.services.analysis.tasking.
DisparitySource`): residents by group and, where the configuration provides it, households by
income band. For each it computes The Markup's table (:func:`openilp.fairness.concentration_table`):
the composition of the top 5 % most-targeted neighbourhoods, of those around the median and of those
never targeted, with the ratios flagged above 1.25.

Held lists are not in the log, so they are not counted: the audit is of where patrols were sent. The
area data never enter a plan: they are read here, after the lists were issued, and only summed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from openilp.analysis.areas import PolygonAreas
from openilp.core import OpenILP, Request, Result, plain
from openilp.db.models import Agency
from openilp.errors import InvalidRequest
from openilp.fairness import CONCENTRATION_FLAG, ConcentrationTable, concentration_table
from openilp.security.actors import UserInfo
from openilp.services.analysis.common import check_period, reader_agency
from openilp.services.analysis.patrol_log import issued_patrol
from openilp.services.analysis.tasking import DisparitySource, disparity_source_for
from openilp.tasking import read_demographics

__all__ = [
    "MEASURES",
    "ConcentrationAudit",
    "ConcentrationRequest",
    "concentration_audit",
    "concentration_of_issued_lists",
]

#: How a neighbourhood's targeting is counted: patrol minutes on scene, or issued lists sending patrol there.
MEASURES = ("minutes", "lists")
#: The longest period one audit covers (days).
MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class ConcentrationRequest(Request):
    """The issued lists of the shifts from ``date_from`` to ``date_to`` (inclusive) of an agency."""

    agency_code: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    measure: str = "minutes"

    def validate(self) -> ConcentrationRequest:
        check_period(self.date_from, self.date_to, max_days=MAX_PERIOD_DAYS, day_word="shift day", covered_by="audit")
        if self.measure not in MEASURES:
            raise InvalidRequest(f"measure is one of {', '.join(MEASURES)}, got {self.measure!r}")
        return self


@dataclass(frozen=True)
class ConcentrationAudit(Result):
    """The audit: how many lists and places were counted, and the residents' (and income) tables."""

    request: ConcentrationRequest
    lists: int
    places: int
    #: Places outside every neighbourhood polygon (not counted in the tables).
    places_outside: int
    residents: ConcentrationTable | None
    income: ConcentrationTable | None
    #: Targeting by neighbourhood id (minutes or lists), for the map and the export.
    targeted: dict[str, float]
    names: dict[str, str]
    source_label: str = ""
    why_no_residents: str = ""
    why_no_income: str = ""

    @property
    def flagged(self) -> bool:
        return any(t is not None and t.flagged for t in (self.residents, self.income))

    def as_dict(self) -> dict[str, Any]:
        request = self.request
        return plain(
            {
                "agency": request.agency_code,
                "date_from": str(request.date_from),
                "date_to": str(request.date_to),
                "measure": request.measure,
                "lists": self.lists,
                "places": self.places,
                "places_outside": self.places_outside,
                "flag_ratio": CONCENTRATION_FLAG,
                "flagged": self.flagged,
                "residents": None if self.residents is None else self.residents.as_dict(),
                "income": None if self.income is None else self.income.as_dict(),
                "why_no_residents": self.why_no_residents,
                "why_no_income": self.why_no_income,
                "source": self.source_label,
                "targeted": [
                    {"neighbourhood": key, "name": self.names.get(key, ""), request.measure: value}
                    for key, value in sorted(self.targeted.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
            }
        )


def _neighbourhoods(core: OpenILP, source: DisparitySource, agency_code: str) -> Path | None:
    layer = core.boundaries.layer_for(agency_code)
    return source.neighbourhoods_path or (layer.path if layer else None)


def _targeted(patrol: pd.DataFrame, areas: PolygonAreas, measure: str) -> tuple[dict[Any, float], int]:
    """Minutes (or issued lists) by neighbourhood id, and the places outside every neighbourhood."""
    which = areas.assign(patrol["lon"].to_numpy(dtype=float), patrol["lat"].to_numpy(dtype=float))
    inside = which >= 0
    keys = [areas.ids[int(i)].item() for i in which[inside]]
    frame = patrol[inside].assign(area=keys)
    if measure == "minutes":
        totals = frame.groupby("area")["minutes"].sum()
    else:
        totals = frame.groupby("area")["plan_reference"].nunique().astype(float)
    return {k: float(v) for k, v in totals.items()}, int((~inside).sum())


def concentration_audit(core: OpenILP, actor: UserInfo | None, request: ConcentrationRequest) -> ConcentrationAudit:
    """The concentration audit of ``request`` (module docstring); ``tasking:plan`` (analysts and
    supervisors) from a signed-in actor, audited as a ``read`` of the ``concentration_audit``."""
    request = request.validate()
    code = reader_agency(core, actor, request.agency_code, "tasking:plan")
    request = dataclasses.replace(request, agency_code=code)
    assert request.date_from is not None and request.date_to is not None
    with core.unit_of_work(actor) as uow:
        agency = uow.session.scalars(select(Agency).where(Agency.code == code)).one()
        agency_id = int(agency.id)
        uow.audit(
            action="read",
            object_type="concentration_audit",
            object_id=code,
            agency_id=agency_id,
            details={"from": str(request.date_from), "to": str(request.date_to), "measure": request.measure},
        )
    return concentration_of_issued_lists(core, request, agency_id)


def concentration_of_issued_lists(core: OpenILP, request: ConcentrationRequest, agency_id: int) -> ConcentrationAudit:
    """The table of a validated ``request`` for the agency ``agency_id``, neither authorised nor audited.

    For callers that are themselves the check: :func:`concentration_audit` (signed-in analysts) and
    the public transparency report, which publishes only the group shares and ratios, never a place.
    """
    code = request.agency_code
    assert request.date_from is not None and request.date_to is not None
    patrol = issued_patrol(core.engine, agency_id, request.date_from, request.date_to)
    lists = int(patrol["plan_reference"].nunique()) if len(patrol) else 0
    source, why_not = disparity_source_for(core.settings.data_dir, code)
    neighbourhoods = None if source is None else _neighbourhoods(core, source, code)
    if source is not None and neighbourhoods is None:
        why_not = f"no neighbourhood polygons for {code}: add a boundary layer"
    if source is None or neighbourhoods is None:
        return ConcentrationAudit(request, lists, len(patrol), 0, None, None, {}, {}, "", why_not, why_not)
    # Only now, with the lists issued and summed, are the area data read.
    areas = PolygonAreas.from_geojson(neighbourhoods, id_property=source.id_column, target_crs="EPSG:4326")
    names = {
        str(areas.ids[i].item()): next(
            (str(areas.properties[i][k]) for k in ("NHD_NAME", "name", "NAME") if areas.properties[i].get(k)), ""
        )
        for i in range(len(areas.ids))
    }
    targeted, outside = _targeted(patrol, areas, request.measure) if len(patrol) else ({}, 0)
    residents = read_demographics(
        source.demographics_path,
        id_column=source.id_column,
        group_columns=source.group_columns,
        population_path=source.population_path,
        population_column=source.population_column,
    )
    residents_table = concentration_table(targeted, residents[residents.sum(axis=1) > 0])
    income_table, why_no_income = None, ""
    if source.income_path is None:
        why_no_income = (
            f"the area data of {code} hold no households by income (add income and income_groups to "
            f"disparity/{code}.toml)"
        )
    else:
        households = read_demographics(
            source.income_path, id_column=source.id_column, group_columns=source.income_columns
        )
        income_table = concentration_table(targeted, households[households.sum(axis=1) > 0])
    return ConcentrationAudit(
        request,
        lists,
        len(patrol),
        outside,
        residents_table,
        income_table,
        {str(k): v for k, v in targeted.items()},
        names,
        source.label,
        "",
        why_no_income,
    )
