"""STIX 2.1 export of criminal intelligence for a fusion-centre partner, through the release rules.

Nothing leaves without a rule and a log: every record goes out through
:func:`openilp.services.intel.dissemination.disseminate`, the same release a page or
``openilp intel`` makes. So each record needs a stated purpose, a written need-to-know, a named
law-enforcement recipient at an agency with a current sharing agreement (28 CFR 23.20(e), (f)), and
must be approved, unexpired criminal intelligence; each release writes the dissemination log, an
audit entry and a notice to the recipient. The bundle holds exactly what was released (the
``items``), as the recipient would read it in OpenILP; a record the rules refuse is listed with the
reason and left out. The export itself is audited (``export_stix``).

**Narrowing.** ``tlp`` exports every record at one TLP 2.0 level stricter than (or equal to) its
own: each release, the bundle's marking of the record and the level the record states are that
level. An export may only narrow (MISP's rule, :mod:`openilp.intel.markings`): when a record in the
window is marked stricter than the level asked for, nothing is released and the refusal (audited,
``export_stix_refused``) names each such record and its marking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result
from openilp.db.models import IntelRecord
from openilp.errors import InvalidRequest, ServiceError
from openilp.exchange.stix import intelligence_bundle
from openilp.intel.markings import TLP_LEVELS, MarkingWidened, narrower_or_equal, parse_tlp
from openilp.security.actors import UserInfo
from openilp.services.exchange.common import check_window, export_agency, local_midnight_utc
from openilp.services.intel.common import load_record, released_view
from openilp.services.intel.dissemination import RELEASABLE_ITEMS, DisseminationRequest, disseminate
from openilp.services.intel.reading import record_dict

__all__ = ["StixExportRequest", "StixExport", "export_stix"]

ACTION = "export_stix"


@dataclass(frozen=True)
class StixExportRequest(Request):
    """The agency's approved records submitted ``date_from`` … ``date_to``, released to one named recipient."""

    agency: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    recipient_agency: str = ""
    recipient_username: str = ""
    purpose: str | None = None
    need_to_know: str = ""
    items: Sequence[str] = ("summary", "subjects", "labels")
    #: TLP 2.0 level to export at (``TLP:AMBER+STRICT``, ``amber+strict``): empty keeps each record's
    #: own marking; it may narrow a record's marking, never widen it.
    tlp: str = ""

    def validate(self) -> StixExportRequest:
        check_window(self.date_from, self.date_to)
        if self.tlp.strip():
            parse_tlp(self.tlp)
        if not self.agency.strip():
            raise InvalidRequest("agency is required (--agency CODE)")
        if not self.recipient_agency.strip() or not self.recipient_username.strip():
            raise InvalidRequest("name the recipient: --to-agency CODE and --recipient USERNAME")
        unknown = [item for item in self.items if item not in RELEASABLE_ITEMS]
        if unknown or not self.items:
            raise InvalidRequest(f"items must be some of {', '.join(RELEASABLE_ITEMS)}, got {list(self.items)}")
        return self


@dataclass(frozen=True)
class StixExport(Result):
    """The records released and bundled, those refused and why, and the bundle (``bundle``, JSON text)."""

    agency: str
    recipient: str
    released: tuple[int, ...]
    disseminations: tuple[int, ...]
    refused: dict[int, str]
    bundle: str = field(repr=False)
    #: The level asked for (empty: each record at its own marking).
    tlp: str = ""


def export_stix(core: OpenILP, actor: UserInfo, request: StixExportRequest) -> StixExport:
    """Release the window's records to the recipient, one dissemination each, and bundle them as STIX 2.1."""
    request = request.validate()
    date_from, date_to = check_window(request.date_from, request.date_to)
    level = parse_tlp(request.tlp) if request.tlp.strip() else ""
    with core.unit_of_work(actor) as uow:
        agency = export_agency(uow, actor, request.agency, action=ACTION)
        zone, agency_id, producer = ZoneInfo(agency.timezone), agency.id, agency.name
        marked: dict[int, str] = {
            record_id: tlp
            for record_id, tlp in uow.session.execute(
                select(IntelRecord.id, IntelRecord.tlp)
                .where(
                    IntelRecord.agency_id == agency_id,
                    IntelRecord.status == "approved",
                    IntelRecord.submitted_at >= local_midnight_utc(date_from, zone),
                    IntelRecord.submitted_at < local_midnight_utc(date_to + dt.timedelta(days=1), zone),
                )
                .order_by(IntelRecord.id)
            )
        }
        record_ids = list(marked)
        if level:
            stricter = {record_id: tlp for record_id, tlp in marked.items() if not narrower_or_equal(level, tlp)}
            if stricter:
                raise uow.refuse(
                    MarkingWidened(_widening_message(level, stricter)),
                    action=f"{ACTION}_refused",
                    object_type="agency",
                    object_id=request.agency,
                    agency_id=agency_id,
                    details={"tlp": level, "stricter": {str(k): v for k, v in stricter.items()}},
                )
    releases: dict[int, dict[str, Any]] = {}
    refused: dict[int, str] = {}
    for record_id in record_ids:
        release_request = DisseminationRequest(
            record_id=record_id,
            recipient_agency=request.recipient_agency.strip(),
            recipient_username=request.recipient_username.strip(),
            purpose=request.purpose,
            need_to_know=request.need_to_know,
            items=tuple(request.items),
            tlp=level,
        )
        try:
            release = disseminate(core, actor, release_request)
        except ServiceError as exc:
            refused[record_id] = str(exc)
            continue
        releases[record_id] = {
            "id": release.dissemination_id,
            "released_at": release.released_at.isoformat(),
            "recipient": release.recipient,
            "recipient_agency": request.recipient_agency.strip(),
            "items": list(request.items),
            "tlp": release.tlp,
            # Who may hold it at the receiving end: the recipient's agency (TLP:AMBER and stricter).
            "audience": [request.recipient_agency.strip().upper()],
        }
    with core.unit_of_work(actor) as uow:
        if not releases:
            raise uow.refuse(
                InvalidRequest(
                    f"nothing released: {len(record_ids)} approved record(s) in the window"
                    + (f"; first refusal: {next(iter(refused.values()))}" if refused else "")
                ),
                action=f"{ACTION}_refused",
                object_type="agency",
                object_id=request.agency,
                agency_id=agency_id,
            )
        views: list[dict[str, Any]] = []
        for record_id in releases:
            view = dict(
                released_view(
                    record_dict(uow.session, load_record(uow.session, record_id), full=False), set(request.items)
                )
            )
            # The record states the level it was released at (its own, or the narrower one asked for).
            views.append(view | {"tlp": releases[record_id]["tlp"]} if "tlp" in view else view)
        bundle = intelligence_bundle(views, producer_name=producer, created=uow.now, disseminations=releases)
        uow.audit(
            action=ACTION,
            object_type="agency",
            object_id=request.agency,
            agency_id=agency_id,
            purpose=request.purpose,
            details={
                "recipient": request.recipient_username,
                "recipient_agency": request.recipient_agency,
                "records": list(releases),
                "disseminations": [entry["id"] for entry in releases.values()],
                "refused": {str(k): v for k, v in refused.items()},
                "items": list(request.items),
                "tlp": level or None,
            },
        )
    return StixExport(
        agency=request.agency,
        recipient=f"{request.recipient_username} ({request.recipient_agency})",
        released=tuple(releases),
        disseminations=tuple(entry["id"] for entry in releases.values()),
        refused=refused,
        bundle=bundle,
        tlp=level,
    )


def _widening_message(level: str, stricter: dict[int, str]) -> str:
    """Why an export at ``level`` is refused: the records marked stricter, each with its marking."""
    named = "; ".join(f"record #{record_id} is marked {tlp}" for record_id, tlp in stricter.items())
    strictest = max(stricter.values(), key=TLP_LEVELS.index)
    allowed = ", ".join(TLP_LEVELS[TLP_LEVELS.index(strictest) :])
    return (
        f"refused: exporting at {level} would widen the marking of {len(stricter)} record(s) ({named}); "
        f"an export may only keep or narrow a record's marking: choose {allowed}, or leave those records out "
        "of the window"
    )
