"""JSON API of the SARA steps beyond the record: scanning, products, interventions, comparison
areas, the power check, the assessment and its chart."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import problems
from openilp.web.context import get_core
from openilp.web.params import Id
from openilp.web.routes.problems.common import READ, WRITE

__all__ = ["router", "scan_router"]

router = APIRouter(prefix="/api/v1/problems", tags=["problems"])
#: Scanning, registered before ``/{problem_id}``.
scan_router = APIRouter(prefix="/api/v1/problems", tags=["problems"])

#: The request defaults: the API asks the same question as the command line when given nothing.
_SCAN = problems.ScanRequest()
_PROPOSE = problems.ProposeAreasRequest(problem_id=0)


class ProductBody(BaseModel):
    kind: str = Field(max_length=20)
    options: dict[str, Any] = Field(default_factory=dict)


class InterventionBody(BaseModel):
    kind: str = Field(max_length=60)
    start: str | None = Field(None, max_length=10)
    end: str | None = Field(None, max_length=10)
    description: str = Field("", max_length=5000)
    area: dict[str, Any] | None = Field(None, description="GeoJSON polygon (longitude/latitude); never a file name.")
    area_units: list[str] = Field(
        default_factory=list, max_length=200, description="Instead of area: polygons of the boundary layer by name."
    )
    dosage_value: float | None = None
    dosage_unit: str = Field("", max_length=60)


class ProposeBody(BaseModel):
    buffer_m: float = Field(_PROPOSE.buffer_m, gt=0, le=5000)


class AreaBody(BaseModel):
    area: dict[str, Any] | None = Field(None, description="GeoJSON polygon (longitude/latitude); never a file name.")
    units: list[str] = Field(
        default_factory=list, max_length=200, description="Instead of area: polygons of the boundary layer by name."
    )
    redraw_control_buffer: bool = Field(False, description="With a new control: redraw its buffer ring around it.")
    buffer_m: float = Field(_PROPOSE.buffer_m, gt=0, le=5000)


class RemovalBody(BaseModel):
    reason: str = Field("", max_length=2000)


@scan_router.get("/scan")
def scan_api(
    category: list[str] = Query(list(_SCAN.categories), max_length=50),
    as_of: str = Query("", max_length=10),
    periods: int = Query(_SCAN.periods, ge=2, le=12),
    period_days: int = Query(_SCAN.period_days, ge=7, le=366),
    permutations: int = Query(_SCAN.permutations, ge=99, le=9999),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> dict[str, Any]:
    """Candidate problems from persistent Gi* hot spots and rising trends (nothing is stored)."""
    request = problems.ScanRequest(
        categories=tuple(category), as_of=as_of, periods=periods, period_days=period_days, permutations=permutations
    )
    return problems.scan_candidates(core, user, request).as_dict()


@router.post("/{problem_id}/attachments", status_code=201)
def attach_api(
    problem_id: Id, body: ProductBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Generate and attach a product: knox_table, trend_chart, hotspot_map or incident_list."""
    attached = problems.attach_product(core, user, problems.ProductRequest(problem_id, body.kind, body.options))
    return {"id": attached.id}


@router.get("/{problem_id}/attachments/{attachment_id}")
def attachment_api(
    problem_id: Id, attachment_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)
) -> Response:
    """The attached product itself (JSON, GeoJSON or SVG)."""
    found = problems.attachment_content(core, user, problem_id, attachment_id)
    return Response(found.content, media_type=found.content_type)


@router.post("/{problem_id}/interventions", status_code=201)
def intervention_api(
    problem_id: Id, body: InterventionBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Record an intervention: type, period (required), area (default: the problem's), dosage."""
    values = body.model_dump() | {"area_units": tuple(body.area_units)}
    request = problems.InterventionRequest(problem_id=problem_id, **values)
    return {"id": problems.add_intervention(core, user, request).id}


@router.put("/{problem_id}/interventions/{intervention_id}")
def change_intervention_api(
    problem_id: Id,
    intervention_id: Id,
    body: InterventionBody,
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> dict[str, Any]:
    """Replace an intervention's type, period, area, dosage and description (the history keeps the old values)."""
    values = body.model_dump() | {"area_units": tuple(body.area_units)}
    request = problems.InterventionRequest(problem_id=problem_id, intervention_id=intervention_id, **values)
    return problems.change_intervention(core, user, request).as_dict()


@router.delete("/{problem_id}/interventions/{intervention_id}")
def remove_intervention_api(
    problem_id: Id,
    intervention_id: Id,
    body: RemovalBody | None = None,
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(WRITE),
) -> dict[str, Any]:
    """Delete an intervention (its values stay in the problem's history and the audit log)."""
    reason = body.reason if body is not None else ""
    request = problems.RemoveInterventionRequest(problem_id, intervention_id, reason)
    return problems.remove_intervention(core, user, request).as_dict()


@router.post("/{problem_id}/comparison-areas")
def propose_api(
    problem_id: Id, body: ProposeBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Propose the buffer, a control of similar baseline that is not adjacent, and the control's buffer."""
    return problems.propose_areas(core, user, problems.ProposeAreasRequest(problem_id, body.buffer_m)).as_dict()


@router.put("/{problem_id}/comparison-areas/{role}")
def area_api(
    problem_id: Id, role: str, body: AreaBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)
) -> dict[str, Any]:
    """Replace a comparison area (buffer, control, control_buffer) with your own polygon or with
    polygons of the boundary layer by name (``units``)."""
    request = problems.ComparisonAreaRequest(
        problem_id,
        role,
        body.area,
        units=tuple(body.units),
        redraw_control_buffer=body.redraw_control_buffer,
        buffer_m=body.buffer_m,
    )
    return problems.set_comparison_area(core, user, request).as_dict()


@router.post("/{problem_id}/power")
def power_api(problem_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)) -> dict[str, Any]:
    """Before launch: the minimum detectable effect, with a warning when the goal is smaller."""
    return problems.power_check(core, user, problems.PowerCheckRequest(problem_id)).as_dict()


@router.post("/{problem_id}/assessments", status_code=201)
def assess_api(problem_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(WRITE)) -> dict[str, Any]:
    """Run every assessment method; the report and the weekly chart are stored."""
    return problems.run_assessment(core, user, problems.RunAssessmentRequest(problem_id)).as_dict()


@router.get("/{problem_id}/evaluations/{evaluation_id}/chart.svg")
def chart_api(
    problem_id: Id, evaluation_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)
) -> Response:
    """The weekly chart of a stored assessment (SVG)."""
    return Response(problems.evaluation_chart(core, user, problem_id, evaluation_id).svg, media_type="image/svg+xml")
