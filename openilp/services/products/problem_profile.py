"""The problem profile of a SARA problem: scanning evidence, analysis, responses and assessment, as a document.

Everything comes from the problem's own record, read through the problems services as the
producer (so the read is audited and limited to the producer's agency): the goal and the area
(scanning), the worksheet of the problem-analysis triangle and the analysis products attached
(analysis), the interventions with their dosage (response), and the goal progress and stored
assessments with their weekly chart (assessment). The profile computes nothing of its own: its
goal progress is :func:`openilp.services.problems.progress.goal_progress` and its assessment rows
are the stored reports of :func:`openilp.services.problems.evaluation.run_assessment`.

The scanning section carries the problem's map (:mod:`openilp.services.products.problem_map`): its
area and comparison areas over the agency's boundaries with its incidents of the baseline and the
evaluation so far.

Handling: the problem's counts, text and charts are the agency's own analysis (TLP:GREEN), and so
is the map as it is drawn by default: the incidents counted in 250 m squares, no incident's
location shown. The profile is then TLP:GREEN. Asked for ``incident_points``, the map shows each
incident as a point, incident detail under the products' own rule, and the profile is TLP:AMBER on
every page. It holds no criminal intelligence and says so.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openilp.core import OpenILP, Request
from openilp.core.contract import require
from openilp.errors import NotPermitted
from openilp.products import ContentItem
from openilp.security.actors import UserInfo
from openilp.services.problems.common import WORKSHEET_FIELDS
from openilp.services.problems.evaluation import evaluation_chart
from openilp.services.problems.progress import ProgressRequest, goal_progress
from openilp.services.problems.views import get_problem
from openilp.services.products.common import (
    BuiltProduct,
    ProducedProduct,
    produce,
    producer_agency,
    register_builder,
)
from openilp.services.products.problem_map import CELL_M, problem_map

__all__ = ["ProblemProfileRequest", "build_problem_profile", "problem_profile"]

WORKSHEET_LABELS = {
    "offender": "Offender",
    "target_victim": "Target / victim",
    "place": "Place",
    "handlers": "Handlers (of offenders)",
    "guardians": "Guardians (of targets)",
    "managers": "Managers (of places)",
}
_METHODS = (
    ("wdd", "Weighted displacement difference"),
    ("rate_ratio", "Rate ratio"),
    ("did", "Difference in differences"),
)


@dataclass(frozen=True)
class ProblemProfileRequest(Request):
    """The profile of problem ``problem_id``, with goal progress up to ``as_of`` (default: the data's end)."""

    problem_id: int = 0
    as_of: dt.date | None = None
    agency_code: str = ""
    contact: str = ""
    #: Draw each incident on the map as a point (incident locations: the profile becomes TLP:AMBER).
    incident_points: bool = False

    def validate(self) -> ProblemProfileRequest:
        require(1 <= int(self.problem_id) <= 2**31 - 1, "problem_id: give the problem's number")
        return dataclasses.replace(self, problem_id=int(self.problem_id), contact=self.contact.strip()[:300])

    def parameters(self) -> dict[str, Any]:
        return {
            "agency_code": self.agency_code,
            "problem_id": self.problem_id,
            "as_of": None if self.as_of is None else str(self.as_of),
            "contact": self.contact,
            "incident_points": self.incident_points,
        }


def _count(value: Any) -> Any:
    """A count as an integer when it is one (reports store 117.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _scalars(values: Any) -> list[tuple[str, str]]:
    """The numeric and short text entries of one method's report, for a table."""
    if not isinstance(values, Mapping):
        return []
    shown = []
    for key, value in values.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            shown.append((str(key).replace("_", " "), f"{value:,.3g}" if isinstance(value, float) else f"{value:,}"))
        elif isinstance(value, str) and len(value) <= 80:
            shown.append((str(key).replace("_", " "), value))
    return shown[:8]


def build_problem_profile(core: OpenILP, actor: UserInfo | None, request: ProblemProfileRequest) -> BuiltProduct:
    """Read the problem (audited) and gather its profile (nothing stored; :func:`problem_profile` stores it)."""
    if actor is None:
        raise NotPermitted("a problem profile reads the problem as a user: build it as one (--user)")
    request = request.validate()
    code = producer_agency(core, actor, request.agency_code)
    request = dataclasses.replace(request, agency_code=code)
    detail = get_problem(core, actor, request.problem_id)
    progress = goal_progress(core, actor, ProgressRequest(request.problem_id, today=request.as_of)).as_dict()
    counted_to = dt.date.fromisoformat(str(progress["as_of"])) if progress.get("as_of") else None
    drawn = problem_map(
        core,
        actor,
        detail.id,
        counted_to or dt.date.fromisoformat(detail.evaluation["end"]),
        incident_points=request.incident_points,
    )
    assessments = []
    charts = []
    for evaluation in detail.evaluations:
        if evaluation["kind"] != "assessment":
            continue
        report = evaluation["report"]
        counts = report.get("counts", {})
        rows = [
            {"area": str(area).replace("_", " "), "pre": _count(c.get("pre")), "post": _count(c.get("post"))}
            for area, c in counts.items()
            if isinstance(c, Mapping)
        ]
        methods = [{"name": label, "entries": _scalars(report.get(key))} for key, label in _METHODS if key in report]
        assessments.append(
            {
                "id": evaluation["id"],
                "created_at": evaluation["created_at"],
                "created_by": evaluation["created_by"],
                "counts": rows,
                "methods": methods,
                "notes": [str(n) for n in report.get("notes", [])],
            }
        )
        if evaluation["has_chart"]:
            svg = evaluation_chart(core, actor, detail.id, evaluation["id"]).svg
            target = next((r for r in rows if r["area"] == "target"), None)
            counted = f" Problem area: {target['pre']} before, {target['post']} during." if target else ""
            charts.append(
                {
                    "id": evaluation["id"],
                    "uri": "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii"),
                    "alt": (
                        f"Chart: incidents per week in the problem, buffer and control areas, assessment "
                        f"#{evaluation['id']}; the evaluation period from {detail.evaluation['start']} to "
                        f"{detail.evaluation['end']} is shaded.{counted}"
                    ),
                }
            )
    worksheet = [
        {"label": WORKSHEET_LABELS.get(name, name), "text": str(detail.worksheet.get(name) or "")}
        for name in WORKSHEET_FIELDS
    ]
    attachments = [
        {"kind": a["kind"].replace("_", " "), "title": a["title"], "by": a["created_by"], "at": a["created_at"]}
        for a in detail.attachments
    ]
    interventions = [
        {
            "kind": str(i["kind"]).replace("_", " "),
            "description": i["description"],
            "start": i["start"],
            "end": i["end"],
            "dosage": "" if i["dosage_value"] is None else f"{i['dosage_value']:g} {i['dosage_unit'] or ''}".strip(),
        }
        for i in detail.interventions
    ]
    content = {
        "agency": code,
        "problem_id": detail.id,
        "title": detail.title,
        "goal": detail.goal,
        "stage": detail.stage,
        "categories": list(detail.categories),
        "baseline": dict(detail.baseline),
        "evaluation": dict(detail.evaluation),
        "progress": progress,
        "worksheet": worksheet,
        "attachments": attachments,
        "interventions": interventions,
        "assessments": [{k: a[k] for k in ("id", "counts", "methods")} for a in assessments],
    }
    items = (
        ContentItem("Problem record, worksheet and responses", "TLP:GREEN"),
        ContentItem("Goal progress and assessments (counts)", "TLP:GREEN"),
        drawn.item,
    )
    context = {
        "problem": detail,
        "categories": ", ".join(c.replace("_", " ") for c in detail.categories),
        "progress": progress,
        "worksheet": worksheet,
        "attachments": attachments,
        "interventions": interventions,
        "assessments": assessments,
        "charts": charts,
        "area_map": drawn.figure,
        "area_map_points": request.incident_points,
        "area_map_incidents": drawn.incidents,
        "area_map_period": (drawn.period_start, drawn.period_end),
        "area_map_cell_m": CELL_M,
    }
    return BuiltProduct(
        kind="problem_profile",
        agency_code=code,
        title=f"Problem profile: {detail.title}",
        short_title=f"Problem profile #{detail.id}",
        subtitle=f"{detail.goal} · stage: {detail.stage}",
        template="problem_profile.html",
        parameters=request.parameters(),
        items=items,
        content=content,
        context=context,
        contact=request.contact,
    )


def problem_profile(core: OpenILP, actor: UserInfo | None, request: ProblemProfileRequest) -> ProducedProduct:
    """Build, render and store the profile of a SARA problem (a new version each call)."""
    return produce(core, actor, build_problem_profile(core, actor, request))


def _rebuild(core: OpenILP, actor: UserInfo | None, parameters: Mapping[str, Any]) -> BuiltProduct:
    as_of = parameters.get("as_of")
    request = ProblemProfileRequest(
        problem_id=int(parameters["problem_id"]),
        as_of=None if not as_of else dt.date.fromisoformat(str(as_of)),
        agency_code=str(parameters["agency_code"]),
        contact=str(parameters.get("contact") or ""),
        incident_points=bool(parameters.get("incident_points", False)),
    )
    return build_problem_profile(core, actor, request)


register_builder("problem_profile", _rebuild)
