"""Intelligence products: the page ``/products`` and the JSON API under ``/api/v1/products``.

Thin adapters over :mod:`openilp.services.products`, the services the command line calls:
listing needs ``products:read`` (law-enforcement roles; a partner sees nothing), making a CompStat
pack, a tactical bulletin or the strategic assessment of a year and re-rendering a stored version
need ``products:produce``. Each product is audited as the command line's is (``produce``); each
download of a PDF or HTML is a row of the product dissemination log (channel ``download``) and an
audit entry. Only the kinds that
need no intelligence access are made here; officer-safety alerts and problem profiles stay on
``openilp products``. Sending a stored version needs ``products:send`` and goes through
:func:`~openilp.services.products.delivery.send_from_app`: by e-mail, or to the agency's products
folder of the settings; never to a path the request names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.products.bulletin import BulletinRequest, bulletin
from openilp.services.products.catalogue import list_products, rerender_product
from openilp.services.products.common import ProducedProduct
from openilp.services.products.compstat import CompStatPackRequest, compstat_pack
from openilp.services.products.delivery import APP_CHANNELS, agency_folder, download_product, send_from_app
from openilp.services.products.strategic import StrategicAssessmentRequest, strategic_assessment
from openilp.web.actions import attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import MAX_ID, Id
from openilp.web.rendering import render

__all__ = ["WEB_KINDS", "api", "pages"]

READ = require("products:read")
PRODUCE = require("products:produce")
SEND = require("products:send")
#: The kinds made from the web app (no intelligence access needed).
WEB_KINDS = ("compstat", "bulletin", "strategic")
_DOWNLOAD_REASON = "Read in the web app"

api = APIRouter(prefix="/api/v1/products", tags=["products"])
pages = APIRouter(prefix="/products", include_in_schema=False)


class ProductBody(BaseModel):
    """What to make: ``district`` and ``week`` for a CompStat pack; the series search, a saved series or
    a hot spot (``hot_spot``) for a bulletin; ``year`` for a strategic assessment."""

    district: str = Field(default="", max_length=50)
    week: str = Field(default="", max_length=10, description="First day of the week, YYYY-MM-DD (CompStat pack).")
    near_repeat_categories: list[str] = Field(default=["burglary"], max_length=20)
    category: str = Field(default="burglary", max_length=100)
    as_of: str = Field(default="", max_length=10, description="Last day searched, YYYY-MM-DD (bulletin).")
    days: int = Field(default=60, ge=1, le=3660)
    rank: int = Field(default=1, ge=1, le=1000)
    series_id: int = Field(
        default=0, ge=0, le=MAX_ID, description="A saved series instead of a search (bulletin); 0: search."
    )
    hot_spot: bool = Field(
        default=False, description="A near-repeat hot spot in force on as_of instead of a series (bulletin)."
    )
    zone_incident_id: int = Field(
        default=0, ge=0, le=MAX_ID, description="With hot_spot: the zone of this incident; 0: by rank (bulletin)."
    )
    zone_complaint: str = Field(
        default="", max_length=100, description="With hot_spot: the zone of this complaint number (bulletin)."
    )
    threshold: float = 3.0
    min_size: int = Field(default=3, ge=2, le=1000)
    contact: str = Field(default="", max_length=300)
    on_restricted: str = Field(default="redact", max_length=10)
    year: int = Field(default=0, ge=0, le=2199, description="The year assessed (strategic assessment).")


class SendBody(BaseModel):
    """How to send a stored version: ``email`` to ``recipient`` (addresses separated by commas), or
    ``folder`` (the agency's products folder of the settings; ``recipient`` stays empty)."""

    channel: str = Field(max_length=20, description="folder or email")
    recipient: str = Field(default="", max_length=500)
    reason: str = Field(max_length=500, description="Why it is sent (the dissemination log).")


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(f"{name} must be a date written YYYY-MM-DD, got {value[:20]!r}") from None


def _make(core: OpenILP, user: UserInfo, kind: str, body: ProductBody) -> ProducedProduct:
    """Make one product of ``kind`` with the service the command line calls."""
    if kind == "compstat":
        request = CompStatPackRequest(
            "", body.district, _day(body.week, "week"), tuple(body.near_repeat_categories) or ("burglary",)
        )
        return compstat_pack(core, user, request)
    if kind == "bulletin":
        bulletin_request = BulletinRequest(
            agency_code="",
            category=body.category,
            as_of=None if body.series_id else _day(body.as_of, "as_of"),
            days=body.days,
            rank=body.rank,
            threshold=body.threshold,
            min_size=body.min_size,
            contact=body.contact,
            series_id=body.series_id,
            hot_spot=body.hot_spot,
            zone_incident_id=body.zone_incident_id,
            zone_complaint=body.zone_complaint,
        )
        return bulletin(core, user, bulletin_request, on_restricted=body.on_restricted)
    if kind == "strategic":
        return strategic_assessment(core, user, StrategicAssessmentRequest("", body.year, contact=body.contact))
    raise InvalidRequest(
        f"the web app makes {', '.join(WEB_KINDS)} products, not {kind[:40]!r}; use openilp products for the others"
    )


def _document(core: OpenILP, user: UserInfo, product_id: int, fmt: str, reason: str) -> Response:
    document = download_product(core, user, product_id, fmt, reason)
    disposition = "attachment" if fmt == "pdf" else "inline"
    return Response(
        document.body,
        media_type=document.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{document.file_name}"'},
    )


@api.get("")
def list_api(core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> dict[str, Any]:
    """The agency's stored product versions, newest first: kind, title, marking, data cut-off, made when/by."""
    return list_products(core, user).as_dict()


@api.post("/{kind}", status_code=201)
def create_api(
    kind: str, body: ProductBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(PRODUCE)
) -> dict[str, Any]:
    """Make a ``compstat`` pack, a tactical ``bulletin`` or a ``strategic`` assessment (a new version, audited)."""
    return _make(core, user, kind[:40], body).as_dict()


@api.get("/{product_id}.pdf")
def pdf_api(
    product_id: Id,
    reason: str = Query(_DOWNLOAD_REASON, max_length=500),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> Response:
    """The PDF of a stored version (logged in the dissemination log as a download)."""
    return _document(core, user, product_id, "pdf", reason)


@api.get("/{product_id}.html")
def html_api(
    product_id: Id,
    reason: str = Query(_DOWNLOAD_REASON, max_length=500),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> Response:
    """The HTML of a stored version (logged in the dissemination log as a download)."""
    return _document(core, user, product_id, "html", reason)


@api.post("/{product_id}/rerender", status_code=201)
def rerender_api(
    product_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(PRODUCE)
) -> dict[str, Any]:
    """Build a stored version again from its parameters (a new version) and say whether its numbers changed."""
    return rerender_product(core, user, product_id).as_dict()


@api.post("/{product_id}/send")
def send_api(
    product_id: Id, body: SendBody, core: OpenILP = Depends(get_core), user: UserInfo = Depends(SEND)
) -> dict[str, Any]:
    """Send a stored version by ``email`` or to the agency's ``folder`` (logged, audited); 502 when it fails."""
    sent = send_from_app(core, user, product_id, body.channel, body.recipient, body.reason)
    return {
        "dissemination_id": sent.dissemination_id,
        "product_id": sent.product_id,
        "channel": sent.channel,
        "recipient": "your agency's products folder" if sent.channel == "folder" else sent.recipient,
        "status": "delivered",
    }


def _send_channels(core: OpenILP, user: UserInfo) -> list[str]:
    """The channels the page offers: e-mail when a mail server is set, the folder when one is set for the agency."""
    configured = {
        "email": bool(core.settings.smtp_host and core.settings.smtp_sender),
        "folder": bool(agency_folder(core.settings, user.agency_code)),
    }
    return [channel for channel in APP_CHANNELS if configured[channel]]


def _page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, Any] | None = None,
    send_error: tuple[int, str] | None = None,
) -> Response:
    made = request.query_params.get("made", "")
    sent = request.query_params.get("sent", "")
    return render(
        request,
        "products/list.html",
        user=user,
        status_code=status,
        error=error,
        form=form or {},
        made=made if made.isdigit() else "",
        sent=sent if sent.isdigit() else "",
        send_error=send_error,
        send_channels=_send_channels(core, user),
        products=list_products(core, user).as_dict()["products"],
    )


@pages.get("", response_class=HTMLResponse)
def list_page(request: Request, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> Response:
    """Stored products with their downloads, and (for producers) the forms to make one."""
    return _page(request, core, user)


@pages.post("/{kind}", response_class=HTMLResponse)
def create_page(
    request: Request,
    kind: str,
    csrf_token: str = Form(""),
    district: str = Form("", max_length=50),
    week: str = Form("", max_length=10),
    category: str = Form("burglary", max_length=100),
    as_of: str = Form("", max_length=10),
    days: int = Form(60, ge=1, le=3660),
    rank: int = Form(1, ge=1, le=1000),
    series_id: int = Form(0, ge=0, le=MAX_ID),
    hot_spot: bool = Form(False),
    zone_incident_id: int = Form(0, ge=0, le=MAX_ID),
    zone_complaint: str = Form("", max_length=100),
    year: int = Form(0, ge=0, le=2199),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(PRODUCE),
) -> Response:
    """Make a CompStat pack, a tactical bulletin or a strategic assessment from the page's form."""
    check_csrf(request, csrf_token)
    body = ProductBody(
        district=district,
        week=week,
        year=year,
        category=category,
        as_of=as_of,
        days=days,
        rank=rank,
        series_id=series_id,
        hot_spot=hot_spot,
        zone_incident_id=zone_incident_id,
        zone_complaint=zone_complaint,
    )
    outcome = attempt(lambda: _make(core, user, kind[:40], body))
    if outcome.value is None:
        return _page(request, core, user, error=outcome.error, status=outcome.status_code, form=body.model_dump())
    return RedirectResponse(f"/products?made={outcome.value.product_id}", status_code=303)


@pages.post("/{product_id}/rerender", response_class=HTMLResponse)
def rerender_page(
    request: Request,
    product_id: Id,
    csrf_token: str = Form(""),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(PRODUCE),
) -> Response:
    """Build a stored version again (a new version) from the list's button."""
    check_csrf(request, csrf_token)
    outcome = attempt(lambda: rerender_product(core, user, product_id))
    if outcome.value is None:
        return _page(request, core, user, error=outcome.error, status=outcome.status_code)
    return RedirectResponse(f"/products?made={outcome.value.product.product_id}", status_code=303)


@pages.post("/{product_id}/send", response_class=HTMLResponse)
def send_page(
    request: Request,
    product_id: Id,
    csrf_token: str = Form(""),
    channel: str = Form("", max_length=20),
    recipient: str = Form("", max_length=500),
    reason: str = Form("", max_length=500),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(SEND),
) -> Response:
    """Send a stored version from the list's form; a failed delivery is shown on the page (and logged)."""
    check_csrf(request, csrf_token)
    outcome = attempt(lambda: send_from_app(core, user, product_id, channel, recipient, reason))
    if outcome.value is None:
        error = f"Not sent: {outcome.error}"
        return _page(request, core, user, error=error, status=outcome.status_code, send_error=(product_id, error))
    return RedirectResponse(f"/products?sent={product_id}", status_code=303)
