"""The public transparency report, no sign-in: ``GET /transparency``, ``.csv`` and ``.pdf``.

Both call :func:`openilp.services.transparency.transparency_report` with the agency, year and
optional quarter of the query; every count below 5 is published as "<5".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from openilp.core import OpenILP
from openilp.errors import InvalidRequest
from openilp.services.transparency import (
    SUPPRESS_BELOW,
    TransparencyReport,
    TransparencyRequest,
    public_agencies,
    transparency_report,
)
from openilp.web.actions import attempt
from openilp.web.auth import STATE_USER
from openilp.web.context import get_core
from openilp.web.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_CORE = Depends(get_core)


def _request(core: OpenILP, agency: str, year: str, quarter: str) -> TransparencyRequest:
    try:
        year_number = int(year) if year.strip() else core.clock().year
        quarter_number = int(quarter) if quarter.strip() else 0
    except ValueError:
        raise InvalidRequest("the year and the quarter must be whole numbers") from None
    return TransparencyRequest(agency.strip(), year_number, quarter_number)


@router.get("/transparency", response_class=HTMLResponse)
def transparency_page(
    request: Request,
    agency: str = Query(default="", max_length=32),
    year: str = Query(default="", max_length=8),
    quarter: str = Query(default="", max_length=2),
    core: OpenILP = _CORE,
) -> Response:
    """The report as a page anyone may read (with several agencies and none chosen, the choice)."""
    agencies = public_agencies(core)
    if not agency.strip() and len(agencies) != 1:  # none yet, or several: the choice (or the lack of one)
        return render(
            request,
            "transparency.html",
            user=getattr(request.state, STATE_USER, None),
            error=None,
            report=None,
            agencies=agencies,
            sections={},
            suppress_below=SUPPRESS_BELOW,
            csv_url="",
            pdf_url="",
            form={"agency": "", "year": year or str(core.clock().year), "quarter": quarter},
            generated="",
        )
    outcome = attempt(lambda: transparency_report(core, None, _request(core, agency, year, quarter)))
    report: TransparencyReport | None = outcome.value
    sections: dict[str, list[tuple[str, str]]] = {}
    if report is not None:
        for section, measure, value in report.rows:
            sections.setdefault(section, []).append((measure, value))
    query: dict[str, Any] = {"agency": agency, "year": year, "quarter": quarter}
    csv_query = "&".join(f"{k}={v}" for k, v in query.items() if v)
    return render(
        request,
        "transparency.html",
        user=getattr(request.state, STATE_USER, None),
        status_code=outcome.status_code if report is None else 200,
        error=outcome.error,
        report=report,
        sections=sections,
        agencies=[],
        suppress_below=SUPPRESS_BELOW,
        csv_url="/transparency.csv" + (f"?{csv_query}" if csv_query else ""),
        pdf_url="/transparency.pdf" + (f"?{csv_query}" if csv_query else ""),
        form={"agency": agency, "year": year or str(core.clock().year), "quarter": quarter},
        generated=f"{core.clock():%Y-%m-%d}",
    )


@router.get("/transparency.csv")
def transparency_csv(
    agency: str = Query(default="", max_length=32),
    year: str = Query(default="", max_length=8),
    quarter: str = Query(default="", max_length=2),
    core: OpenILP = _CORE,
) -> Response:
    """The same report as CSV (agency, period, section, measure, value)."""
    report = transparency_report(core, None, _request(core, agency, year, quarter))
    name = f"transparency-{report.agency_code}-{report.period.replace(' ', '-')}.csv"
    return PlainTextResponse(
        report.to_csv(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/transparency.pdf")
def transparency_pdf(
    agency: str = Query(default="", max_length=32),
    year: str = Query(default="", max_length=8),
    quarter: str = Query(default="", max_length=2),
    core: OpenILP = _CORE,
) -> Response:
    """The same report as a printable PDF (the same suppressed cells)."""
    from openilp.services.transparency.pdf import report_pdf

    report = transparency_report(core, None, _request(core, agency, year, quarter))
    name = f"transparency-{report.agency_code}-{report.period.replace(' ', '-')}.pdf"
    return Response(
        report_pdf(report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
