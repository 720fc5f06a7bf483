"""The strategic assessment of a year: trends, places and displacement, forecast accuracy, civil-rights audits.

The National Intelligence Model's strategic assessment looks back over a year for the command team.
This one compares the year with the year before (the same calendar days when the data stop before
31 December) and computes nothing of its own; every number is what an existing service returns:

* **Trends**: :func:`openilp.services.analysis.trends.run_trends` with the year-to-date period against
  last year, on the year's last day, at neighbourhood and district level (``openilp trends --period
  ytd --baseline last_year --as-of YYYY-12-31``): per category the counts, change, Poisson z and
  E-test q (Wheeler 2016; Krishnamoorthy & Thomson 2004). The year's total and each area's total are
  summed from those rows, with the same Poisson z (:func:`openilp.analysis.trends.poisson_z`) and
  E-test (:func:`openilp.analysis.trends.etest_pvalue`).
* **Places and displacement**: the neighbourhoods by count and by change, and for the neighbourhood
  whose incidents fell most (most negative z), the assessment of
  :func:`openilp.services.problems.assessment.assess_from_store`: the year before as baseline, the
  year as response, a buffer ring and a control neighbourhood proposed by OpenILP, with the weighted
  displacement difference (Wheeler & Ratcliffe 2018) and quotient (Bowers & Johnson 2003). It says
  whether the fall was larger than the control's and whether crime moved next door. The agency's SARA
  problems whose evaluation lies in the year are listed with their stored assessments.
* **Forecast accuracy**: the rolling-origin backtests recorded for the agency whose forecasts lie in
  the year (:func:`openilp.services.analysis.accuracy.recorded_in_span`), PAI and PEI at 1, 2 and 5 %
  of the area. When none of the default method is recorded, a short one is run while building (the
  default method and the naive baseline, the year's last ``backtest_weeks`` weekly forecasts of
  ``backtest_categories``) with :func:`openilp.services.analysis.forecasting.run_backtest`, which
  records it, so the next build finds the same run.
* **Civil-rights audits**: the deployment-list gates, overrides, justifications and the runaway-feedback
  test of the public transparency report for the year
  (:func:`openilp.services.transparency.transparency_report`, small counts suppressed), and the
  concentration audit of the lists issued for the year's shifts
  (:func:`openilp.services.analysis.concentration.concentration_audit`).

Handling: every section is aggregate counts and rates (TLP:GREEN); the map shades neighbourhoods, not
incidents. It holds no criminal intelligence and says so. No protected attribute enters any of it:
the trends, the assessment and the backtest read only when, where and what (the event frame is guarded),
and the concentration audit joins residents' data only after the lists were issued.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from openilp.analysis.assessment.series import AssessmentWindows
from openilp.analysis.trends import ALL_AREAS, etest_pvalue, poisson_z
from openilp.constants import DEFAULT_FORECAST_METHOD
from openilp.core import OpenILP, Request
from openilp.db.models import Agency, Problem, ProblemEvaluation
from openilp.errors import InvalidRequest, ServiceError
from openilp.products import ContentItem
from openilp.products.figures import change_map, monthly_chart
from openilp.security.actors import UserInfo
from openilp.services.analysis.accuracy import PUBLISHED_COVERAGES, RecordedAccuracy, recorded_in_span
from openilp.services.analysis.common import NoEventsError, check_categories, latest_incident_date
from openilp.services.analysis.concentration import ConcentrationRequest, concentration_audit
from openilp.services.analysis.forecasting import BacktestRequest, run_backtest
from openilp.services.analysis.trends import UNKNOWN_AREA, TrendRequest, TrendResult, run_trends
from openilp.services.problems.assessment import AssessmentRequest, assess_from_store
from openilp.services.products.common import (
    BuiltProduct,
    ProducedProduct,
    boundary_layer,
    produce,
    producer_agency,
    product_basemap,
    register_builder,
)
from openilp.services.transparency import TransparencyRequest, transparency_report

__all__ = [
    "StrategicAssessmentRequest",
    "build_strategic_assessment",
    "strategic_assessment",
    "year_trend_request",
]

#: Rows of the neighbourhood tables (the busiest; the strongest rises and falls).
TOP_AREAS = 10
TOP_CHANGES = 5
#: Fewest incidents last year for a neighbourhood to be assessed for displacement.
MIN_DISPLACEMENT_BASELINE = 50
#: Sections of the transparency report the civil-rights part shows.
CIVIL_RIGHTS_SECTIONS = ("Deployment lists", "Models in use")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BACKTEST_BASELINE = "naive"


@dataclass(frozen=True)
class StrategicAssessmentRequest(Request):
    """The strategic assessment of ``year`` (against the year before) for an agency.

    ``backtest_categories`` and ``backtest_weeks``: the short backtest run while building when no
    backtest of the default forecasting method is recorded for the year.
    """

    agency_code: str = ""
    year: int = 0
    backtest_categories: tuple[str, ...] = ("burglary",)
    backtest_weeks: int = 8
    contact: str = ""

    def validate(self) -> StrategicAssessmentRequest:
        if not 2000 <= int(self.year) <= 2199:
            raise InvalidRequest(f"give the year (--year YYYY) between 2000 and 2199, got {self.year}")
        if not 1 <= int(self.backtest_weeks) <= 52:
            raise InvalidRequest(f"backtest weeks must be between 1 and 52, got {self.backtest_weeks}")
        return dataclasses.replace(
            self,
            year=int(self.year),
            backtest_weeks=int(self.backtest_weeks),
            backtest_categories=check_categories(self.backtest_categories or ("burglary",)),
            contact=self.contact.strip()[:300],
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "agency_code": self.agency_code,
            "year": self.year,
            "backtest_categories": list(self.backtest_categories),
            "backtest_weeks": self.backtest_weeks,
            "contact": self.contact,
        }


def year_trend_request(agency_code: str, as_of: dt.date, area_level: str) -> TrendRequest:
    """The trend request of the assessment: the year to ``as_of`` against the same days last year.

    What ``openilp trends --by AREA_LEVEL --period ytd --baseline last_year --as-of DAY`` asks.
    """
    return TrendRequest(agency_code, (), as_of, area_level, periods=("ytd",), baselines=("last_year",))


def _change_pct(current: int, last_year: int) -> float | None:
    return None if last_year == 0 else round(100.0 * (current / last_year - 1.0), 1)


def _compared(current: int, last_year: int) -> dict[str, Any]:
    """Counts of two years with the change, the Poisson z and the E-test p-value (as the trend table's)."""
    return {
        "current": int(current),
        "last_year": int(last_year),
        "change_pct": _change_pct(current, last_year),
        "z": round(float(poisson_z(current, last_year)), 2),
        "p_value": round(etest_pvalue(int(current), int(last_year)), 6),
    }


def _area_totals(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each area's total (all categories) this year and last year, from the CompStat rows (not ``(unknown)``)."""
    sums: dict[str, list[Any]] = {}
    for row in rows:
        if row["area"] in (ALL_AREAS, UNKNOWN_AREA) or "ytd" not in row["periods"]:
            continue
        cell = row["periods"]["ytd"]
        entry = sums.setdefault(row["area"], [0, 0, row["area_name"]])
        entry[0] += cell["current"]
        entry[1] += cell["last_year"]
    return [
        {"area": area, "area_name": str(name), **_compared(current, last)}
        for area, (current, last, name) in sorted(sums.items(), key=lambda kv: _natural(kv[0]))
    ]


def _natural(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (1_000_000, code)


def _monthly(result: TrendResult, year: int, as_of: dt.date) -> dict[str, list[int]]:
    day = pd.to_datetime(result.events["occurred_local"])
    out = {}
    for label, which in ((str(year), year), (str(year - 1), year - 1)):
        months = day[day.dt.year == which].dt.month.value_counts()
        last_month = as_of.month if which == year else 12
        out[label] = [int(months.get(m, 0)) for m in range(1, last_month + 1)]
    return out


def _feature(boundaries: Mapping[str, Any] | None, code: str) -> Mapping[str, Any] | None:
    for feature in (boundaries or {}).get("features", []):
        value = (feature.get("properties") or {}).get("NHD_NUM")
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if text == code and feature.get("geometry"):
            return feature
    return None


def _number(value: Any, digits: int = 3) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def _notes(report: Mapping[str, Any]) -> list[str]:
    """The assessment's notes, without the power check of a goal nobody set (a year has no SARA goal)."""
    power = report.get("power") or {}
    if power.get("goal_given", True):
        return [str(n) for n in report.get("notes", [])]
    skipped = {str(w) for w in power.get("warnings", [])}
    return [str(n) for n in report.get("notes", []) if str(n) not in skipped and "for the goal" not in str(n)]


def _displacement(
    core: OpenILP,
    actor: UserInfo | None,
    code: str,
    areas: Sequence[Mapping[str, Any]],
    boundaries: Mapping[str, Any] | None,
    year: int,
    as_of: dt.date,
) -> dict[str, Any]:
    """The assessment of the neighbourhood that fell most: WDD and WDQ with a buffer and a proposed control."""
    candidates = [a for a in areas if a["last_year"] >= MIN_DISPLACEMENT_BASELINE and a["z"] < 0]
    if not candidates:
        return {"why_not": f"no neighbourhood with at least {MIN_DISPLACEMENT_BASELINE} incidents last year fell"}
    target = min(candidates, key=lambda a: (a["z"], a["area"]))
    feature = _feature(boundaries, target["area"])
    if feature is None or boundaries is None:
        return {"why_not": f"no boundary polygon for neighbourhood {target['area']}: add the agency's boundary layer"}
    windows = AssessmentWindows(dt.date(year - 1, 1, 1), dt.date(year, 1, 1), as_of)
    request = AssessmentRequest(code, windows, feature["geometry"], candidates=boundaries)
    try:
        report = assess_from_store(core, actor, request, panel=False).report
    except (ServiceError, ValueError) as exc:
        return {"area": target["area"], "area_name": target["area_name"], "why_not": str(exc)}
    wdd = report.get("wdd") or {}
    wdq = report.get("wdq") or {}
    counts = {
        name: {"pre": int(c["pre"]), "post": int(c["post"])}
        for name, c in (report.get("counts") or {}).items()
        if isinstance(c, Mapping)
    }
    control = str(report.get("control_id") or "")
    return {
        "area": target["area"],
        "area_name": target["area_name"],
        "z": target["z"],
        "control_id": control,
        "control_name": next((a["area_name"] for a in areas if a["area"] == control), control),
        "counts": counts,
        "wdd": {
            key: _number(wdd.get(key))
            for key in (
                "local_estimate",
                "displacement_estimate",
                "estimate",
                "standard_error",
                "z",
                "p_value",
            )
        },
        "wdd_verdict": str(wdd.get("verdict", "")),
        "wdq": {key: _number(wdq.get(key)) for key in ("wdq", "total_net_effect", "gross_effect")},
        "wdq_interpretation": str(wdq.get("interpretation", "")),
        "notes": _notes(report),
        "why_not": "",
    }


def _problem_assessments(core: OpenILP, code: str, year: int) -> list[dict[str, Any]]:
    """The agency's SARA problems evaluated in the year, each with its newest stored assessment."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = []
    with core.unit_of_work(None) as uow:
        session = uow.session
        found = session.execute(
            select(Problem, ProblemEvaluation)
            .join(Agency, Agency.id == Problem.agency_id)
            .join(ProblemEvaluation, ProblemEvaluation.problem_id == Problem.id)
            .where(
                Agency.code == code,
                ProblemEvaluation.kind == "assessment",
                Problem.evaluation_start <= last,
                Problem.evaluation_end >= first,
            )
            .order_by(Problem.id, ProblemEvaluation.created_at.desc(), ProblemEvaluation.id.desc())
        ).all()
        seen: set[int] = set()
        for problem, evaluation in found:
            if problem.id in seen:
                continue
            seen.add(problem.id)
            report = json.loads(evaluation.report or "{}")
            wdd = report.get("wdd") or {}
            wdq = report.get("wdq") or {}
            target = (report.get("counts") or {}).get("target") or {}
            rows.append(
                {
                    "id": problem.id,
                    "title": problem.title,
                    "area_name": problem.area_name,
                    "stage": problem.stage,
                    "evaluation": f"{problem.evaluation_start} to {problem.evaluation_end}",
                    "target_pre": _number(target.get("pre"), 0),
                    "target_post": _number(target.get("post"), 0),
                    "wdd_estimate": _number(wdd.get("estimate"), 1),
                    "wdd_p_value": _number(wdd.get("p_value"), 4),
                    "wdq": _number(wdq.get("wdq"), 2),
                    "wdq_interpretation": str(wdq.get("interpretation", "")),
                }
            )
    return rows


def _accuracy_row(recorded: RecordedAccuracy) -> dict[str, Any]:
    return {
        "method": recorded.method,
        "categories": list(recorded.categories),
        "date_from": recorded.date_from,
        "date_to": recorded.date_to,
        "periods": recorded.periods,
        "horizon_days": recorded.horizon_days,
        "metrics": {
            f"{name}@{c:g}": _number(recorded.metrics.get(f"{name}@{c:g}"), 4)
            for name in ("pai", "pei")
            for c in PUBLISHED_COVERAGES
        },
    }


def _forecast_accuracy(
    core: OpenILP, actor: UserInfo | None, code: str, request: StrategicAssessmentRequest, as_of: dt.date
) -> tuple[list[dict[str, Any]], list[bool], str]:
    """Recorded backtests of the year; a short one of the default method run (and recorded) when none is.

    Returns the rows, whether each was run while building (shown, not part of the numbers: the next
    build finds the same run recorded) and a note when none could be run.
    """
    first = dt.date(request.year, 1, 1)
    with core.unit_of_work(None) as uow:
        agency = uow.session.scalars(select(Agency).where(Agency.code == code)).one()
        recorded = recorded_in_span(uow.session, agency, first, as_of)
    built_now: set[str] = set()
    note = ""
    if not any(r.method == DEFAULT_FORECAST_METHOD for r in recorded):
        date_from = max(first, as_of - dt.timedelta(days=7 * request.backtest_weeks - 1))
        backtest = BacktestRequest(
            code,
            request.backtest_categories,
            date_from,
            as_of,
            methods=(DEFAULT_FORECAST_METHOD, BACKTEST_BASELINE),
            coverages=PUBLISHED_COVERAGES,
        )
        try:
            run_backtest(core, actor, backtest)
        except (ServiceError, ValueError) as exc:
            note = f"no backtest of {request.year} is recorded, and one could not be run: {exc}"
        else:
            built_now = {DEFAULT_FORECAST_METHOD, BACKTEST_BASELINE}
            with core.unit_of_work(None) as uow:
                agency = uow.session.scalars(select(Agency).where(Agency.code == code)).one()
                recorded = recorded_in_span(uow.session, agency, first, as_of)
    rows = [_accuracy_row(r) for r in recorded]
    fresh = [r.method in built_now and r.categories == request.backtest_categories for r in recorded]
    return rows, fresh, note


def _civil_rights(
    core: OpenILP, actor: UserInfo | None, code: str, year: int, as_of: dt.date
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The transparency report's gate and model rows for the year, and the concentration audit of its shifts."""
    report = transparency_report(core, actor, TransparencyRequest(code, year))
    rows = [{"section": s, "measure": m, "value": v} for s, m, v in report.rows if s in CIVIL_RIGHTS_SECTIONS]
    audit = concentration_audit(core, actor, ConcentrationRequest(code, dt.date(year, 1, 1), as_of)).as_dict()
    concentration = {
        key: audit[key]
        for key in ("lists", "places", "places_outside", "flagged", "flag_ratio", "why_no_residents", "source")
    }
    residents = audit.get("residents") or {}
    concentration["rows"] = [
        {
            "group": str(r["group"]),
            "most_to_median": _number(r.get("most_to_median"), 2),
            "never_to_median": _number(r.get("never_to_median"), 2),
            "flagged": bool(r.get("flagged")),
        }
        for r in residents.get("rows", [])
    ]
    return rows, concentration


def build_strategic_assessment(
    core: OpenILP, actor: UserInfo | None, request: StrategicAssessmentRequest
) -> BuiltProduct:
    """Gather the assessment's numbers, figures and items (nothing stored; :func:`strategic_assessment` stores it)."""
    request = request.validate()
    code = producer_agency(core, actor, request.agency_code)
    request = dataclasses.replace(request, agency_code=code)
    year = request.year
    latest = latest_incident_date(core.engine, code)
    if latest is None or latest < dt.date(year, 1, 1):
        raise NoEventsError(f"agency {code} has no incidents in {year} (the latest is {latest or 'none'})")
    as_of = min(dt.date(year, 12, 31), latest)
    partial = as_of < dt.date(year, 12, 31)

    by_neighbourhood = run_trends(core, actor, year_trend_request(code, as_of, "neighbourhood"))
    by_district = run_trends(core, actor, year_trend_request(code, as_of, "district"))
    categories = []
    neighbourhood_rows = by_neighbourhood.compstat()
    for row in neighbourhood_rows:
        if row["area"] != ALL_AREAS or "ytd" not in row["periods"]:
            continue
        cell = row["periods"]["ytd"]
        categories.append(
            {
                "category": row["category"],
                "category_label": row["category_label"],
                **{k: cell[k] for k in ("current", "last_year", "change_pct", "z", "q_value", "severity")},
            }
        )
    totals = _compared(sum(c["current"] for c in categories), sum(c["last_year"] for c in categories))
    neighbourhoods = _area_totals(neighbourhood_rows)
    districts = _area_totals(by_district.compstat())
    busiest = sorted(neighbourhoods, key=lambda a: (-a["current"], _natural(a["area"])))[:TOP_AREAS]
    rises = sorted((a for a in neighbourhoods if a["z"] > 0), key=lambda a: (-a["z"], a["area"]))[:TOP_CHANGES]
    falls = sorted((a for a in neighbourhoods if a["z"] < 0), key=lambda a: (a["z"], a["area"]))[:TOP_CHANGES]
    boundaries = boundary_layer(core, code)
    displacement = _displacement(core, actor, code, neighbourhoods, boundaries, year, as_of)
    problems = _problem_assessments(core, code, year)
    accuracy, accuracy_fresh, accuracy_note = _forecast_accuracy(core, actor, code, request, as_of)
    civil_rights, concentration = _civil_rights(core, actor, code, year, as_of)
    monthly = _monthly(by_neighbourhood, year, as_of)

    span = f"1 January to {as_of:%d %B} {year}" if partial else str(year)
    chart = monthly_chart(
        list(MONTHS),
        monthly,
        title=f"Incidents per month, {year} against {year - 1}",
    )
    change = change_map(
        boundaries,
        {a["area"]: a["z"] for a in neighbourhoods},
        title=f"Change by neighbourhood, {span} against the same days of {year - 1}",
        name_property="NHD_NUM",
        label_property="NHD_NAME",
        outlined=[displacement["area"]] if not displacement["why_not"] else [],
        basemap=product_basemap(core),
    )
    content = {
        "agency": code,
        "year": year,
        "as_of": str(as_of),
        "partial_year": partial,
        "totals": totals,
        "categories": categories,
        "districts": districts,
        "neighbourhoods_busiest": busiest,
        "neighbourhoods_rising": rises,
        "neighbourhoods_falling": falls,
        "monthly": monthly,
        "displacement": displacement,
        "problem_assessments": problems,
        "forecast_accuracy": accuracy,
        "forecast_note": accuracy_note,
        "civil_rights": civil_rights,
        "concentration": concentration,
    }
    items = (
        ContentItem("Trends by category, district and neighbourhood (counts)", "TLP:GREEN"),
        ContentItem("Map of change by neighbourhood (areas, no incidents)", "TLP:GREEN"),
        ContentItem("Displacement and problem assessments (counts)", "TLP:GREEN"),
        ContentItem("Forecast accuracy (rates)", "TLP:GREEN"),
        ContentItem("Civil-rights audits (aggregate counts)", "TLP:GREEN"),
    )
    context = {
        **content,
        "span": span,
        "previous_year": year - 1,
        "chart": chart,
        "map": change,
        "forecast_rows": [{**row, "run_while_building": f} for row, f in zip(accuracy, accuracy_fresh, strict=True)],
        "flagged_categories": sum(1 for c in categories if c["severity"] in ("alert", "watch")),
        "coverages": [f"{c:g}" for c in PUBLISHED_COVERAGES],
        "coverage_labels": [f"{c * 100:g} %" for c in PUBLISHED_COVERAGES],
        "default_method": DEFAULT_FORECAST_METHOD,
        "backtest_weeks": request.backtest_weeks,
        "backtest_categories": ", ".join(c.replace("_", " ") for c in request.backtest_categories),
    }
    return BuiltProduct(
        kind="strategic",
        agency_code=code,
        title=f"Strategic assessment {year}",
        short_title=f"Strategic assessment {year}",
        subtitle=f"{span} against the same days of {year - 1}",
        template="strategic.html",
        parameters=request.parameters(),
        items=items,
        content=content,
        context=context,
        contact=request.contact,
    )


def strategic_assessment(core: OpenILP, actor: UserInfo | None, request: StrategicAssessmentRequest) -> ProducedProduct:
    """Build, render and store the strategic assessment of a year (a new version each call)."""
    return produce(core, actor, build_strategic_assessment(core, actor, request))


def _rebuild(core: OpenILP, actor: UserInfo | None, parameters: Mapping[str, Any]) -> BuiltProduct:
    request = StrategicAssessmentRequest(
        agency_code=str(parameters["agency_code"]),
        year=int(parameters["year"]),
        backtest_categories=tuple(parameters.get("backtest_categories") or ("burglary",)),
        backtest_weeks=int(parameters.get("backtest_weeks") or 8),
        contact=str(parameters.get("contact") or ""),
    )
    return build_strategic_assessment(core, actor, request)


register_builder("strategic", _rebuild)
