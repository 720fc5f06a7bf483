"""The officer-safety alert: who or what to be careful of, with its caution flags, from intelligence records.

An analyst or supervisor names one or more approved intelligence records, the purpose (every record
is read through :func:`openilp.services.intel.reading.view_record`, so each read is audited with
that purpose and limited to what the producer may see), the caution flags the records support
(a fixed list, :data:`CAUTION_FLAGS`) and what officers should do. The alert shows the records'
**criminal subjects** (persons, vehicles, locations, organisations, with their identifiers), never
their non-criminal identifying information (28 CFR Part 23, 1998 clarification), with each record's
summary, grading, handling code and conditions, and its owning agency as the contact.

Handling is end to end: each record is an item with its own TLP level, handling code (P or C) and
conditions, and the 28 CFR Part 23 caveat. A record of sensitivity "restricted" (or TLP:RED) never
enters the alert: with ``on_restricted="redact"`` it is left out, with its subjects, and the alert
names it as withheld; with ``"refuse"`` the alert is refused, naming it (audited). The alert is
marked on every page with its most restrictive record, and its sendings list the records it holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request
from openilp.core.contract import require
from openilp.db.models import IntelRecord
from openilp.errors import InvalidRequest, NotPermitted
from openilp.products import ContentItem
from openilp.security.actors import UserInfo
from openilp.services.intel.reading import ViewRecordRequest, view_record
from openilp.services.products.common import (
    BuiltProduct,
    ProducedProduct,
    produce,
    producer_agency,
    register_builder,
)

__all__ = ["CAUTION_FLAGS", "SafetyAlertRequest", "build_safety_alert", "safety_alert"]

#: The caution flags an alert may carry: code → what the alert prints.
CAUTION_FLAGS: dict[str, str] = {
    "armed": "ARMED: reported to carry a firearm or other weapon",
    "violent": "VIOLENT: a recorded history of violence",
    "assaults_officers": "HAS ASSAULTED OR THREATENED OFFICERS",
    "flight_risk": "FLIGHT RISK: may flee or resist",
    "weapons_at_address": "WEAPONS KEPT AT THE ADDRESS",
    "dangerous_dogs": "DANGEROUS DOGS AT THE ADDRESS",
    "counter_surveillance": "WATCHES FOR POLICE: counter-surveillance reported",
    "medical_caution": "HEALTH CAUTION: approach with care (no diagnosis is given)",
}
#: Most records one alert may hold.
MAX_RECORDS = 10
_SUBJECT_KINDS = {"person": "Person", "vehicle": "Vehicle", "location": "Address", "organisation": "Organisation"}


@dataclass(frozen=True)
class SafetyAlertRequest(Request):
    """The records an alert is built from, why they are read, its caution flags and instructions."""

    record_ids: tuple[int, ...] = ()
    purpose: str = ""
    cautions: tuple[str, ...] = ()
    instructions: str = ""
    agency_code: str = ""
    contact: str = ""

    def validate(self) -> SafetyAlertRequest:
        ids = tuple(dict.fromkeys(int(i) for i in self.record_ids))
        require(1 <= len(ids) <= MAX_RECORDS, f"record_ids: name 1 to {MAX_RECORDS} intelligence records")
        require(all(1 <= i <= 2**31 - 1 for i in ids), "record_ids: record numbers are positive integers")
        require(len(self.purpose.strip()) >= 10, "purpose: say why the records are read (at least 10 characters)")
        cautions = tuple(dict.fromkeys(c.strip().lower() for c in self.cautions if c.strip()))
        require(bool(cautions), f"cautions: give at least one caution flag ({', '.join(CAUTION_FLAGS)})")
        unknown = [c for c in cautions if c not in CAUTION_FLAGS]
        require(not unknown, f"cautions: unknown flag {', '.join(unknown)}; choose from {', '.join(CAUTION_FLAGS)}")
        require(len(self.instructions) <= 1000, "instructions: at most 1,000 characters")
        return dataclasses.replace(
            self,
            record_ids=ids,
            purpose=self.purpose.strip()[:500],
            cautions=cautions,
            instructions=self.instructions.strip(),
            contact=self.contact.strip()[:300],
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "agency_code": self.agency_code,
            "record_ids": list(self.record_ids),
            "purpose": self.purpose,
            "cautions": list(self.cautions),
            "instructions": self.instructions,
            "contact": self.contact,
        }


def _item(record: IntelRecord) -> ContentItem:
    return ContentItem(
        f"Intelligence record #{record.id}",
        record.tlp or "TLP:AMBER",
        handling_code=record.handling_code if record.handling_code in ("P", "C") else "",
        handling_conditions=record.handling_conditions or "",
        criminal_intelligence=True,
        restricted=record.sensitivity == "restricted",
    )


def build_safety_alert(core: OpenILP, actor: UserInfo | None, request: SafetyAlertRequest) -> BuiltProduct:
    """Read the records (audited, with the purpose) and gather the alert; restricted ones stay out of its pages."""
    if actor is None:
        raise NotPermitted("an officer-safety alert holds intelligence records: build it as a user who may read them")
    request = request.validate()
    code = producer_agency(core, actor, request.agency_code)
    request = dataclasses.replace(request, agency_code=code)
    views = [view_record(core, actor, ViewRecordRequest(i, request.purpose)) for i in request.record_ids]
    with Session(core.engine) as session:
        rows = {i: session.get(IntelRecord, i) for i in request.record_ids}
        items: list[ContentItem] = []
        records: list[dict[str, Any]] = []
        for view in views:
            row = rows[view.id]
            assert row is not None  # view_record found it
            if row.status != "approved":
                raise InvalidRequest(f"record #{row.id} is {row.status}: only approved records go into products")
            item = _item(row)
            items.append(item)
            if item.restricted or item.tlp == "TLP:RED":
                continue  # never on a page; produce() withholds or refuses it, naming it
            document = view.document
            records.append(
                {
                    "label": item.label,
                    "id": row.id,
                    "title": document.get("title", ""),
                    "summary": document.get("summary", ""),
                    "agency": document["agency"]["name"],
                    "control_official": document["control_official"],
                    "grading": document["grading"]["label"] if "grading" in document else "",
                    "handling_code": item.handling_code,
                    "handling_conditions": item.handling_conditions,
                    "tlp": item.tlp,
                    "subjects": [
                        {
                            "kind": _SUBJECT_KINDS.get(s["kind"], s["kind"].title()),
                            "name": s["name"],
                            "identifiers": s["identifiers"],
                        }
                        for s in document.get("subjects", [])
                    ],
                }
            )
    cautions = [CAUTION_FLAGS[c] for c in request.cautions]
    subjects = [dict(s, record=r["id"]) for r in records for s in r["subjects"]]
    names = ", ".join(s["name"] for s in subjects[:3]) or "see the records"
    content = {
        "agency": code,
        "record_ids": [r["id"] for r in records],
        "cautions": list(request.cautions),
        "instructions": request.instructions,
        "subjects": subjects,
        "records": [{k: r[k] for k in ("id", "title", "handling_code", "tlp")} for r in records],
    }
    context = {
        "cautions": cautions,
        "instructions": request.instructions,
        "subjects": subjects,
        "records": records,
        "purpose": request.purpose,
    }
    return BuiltProduct(
        kind="safety_alert",
        agency_code=code,
        title=f"Officer safety: {names}",
        short_title=f"Officer safety alert {'-'.join(str(i) for i in request.record_ids)}",
        subtitle=" · ".join(c.split(":")[0] for c in cautions),
        template="safety_alert.html",
        parameters=request.parameters(),
        items=tuple(items),
        content=content,
        context=context,
        contact=request.contact,
    )


def safety_alert(
    core: OpenILP, actor: UserInfo | None, request: SafetyAlertRequest, *, on_restricted: str = "redact"
) -> ProducedProduct:
    """Build, render and store an officer-safety alert (a new version each call).

    An alert whose every record is restricted would say nothing: it is refused (audited, naming them)
    whatever ``on_restricted`` says.
    """
    built = build_safety_alert(core, actor, request)
    if not built.content["record_ids"]:
        on_restricted = "refuse"
    return produce(core, actor, built, on_restricted=on_restricted)


def _rebuild(core: OpenILP, actor: UserInfo | None, parameters: Mapping[str, Any]) -> BuiltProduct:
    request = SafetyAlertRequest(
        record_ids=tuple(int(i) for i in parameters["record_ids"]),
        purpose=str(parameters["purpose"]),
        cautions=tuple(str(c) for c in parameters["cautions"]),
        instructions=str(parameters.get("instructions") or ""),
        agency_code=str(parameters["agency_code"]),
        contact=str(parameters.get("contact") or ""),
    )
    return build_safety_alert(core, actor, request)


register_builder("safety_alert", _rebuild)
