"""Federated search: a person, vehicle, phone or address asked of every partner instance.

**Answering a partner** (:func:`answer_search`, ``POST /federation/v1/search``). The signed call
names the kind, the text and the end user's stated purpose. Approved, unexpired permanent records
are matched through their criminal subjects: through the resolved entities where the subjects
have been resolved (a mention that matches brings every record that mentions the same entity),
and through the subjects' names and identifiers otherwise. Non-criminal identifying information
is never searched, and neither are the mentions a designation, a tip or a person file gives; an
entity brings other records only from a matched record the partner would see as a summary
(:func:`matching_records`). Each matched record is answered **pointer-first by its sensitivity**:

* ``open``: a summary (title, summary, criminal subjects, grading and handling code, owner and
  contact); the release is logged as a dissemination (kind ``federation``) and remembered as a
  share, so a later correction or purge reaches the partner;
* ``open`` but marked ``TLP:RED`` (named recipients only): a pointer, never a summary, because an
  answer to a search goes to whoever asked, not to a recipient the owner named;
* ``agency_name_only``: a pointer only: "<agency> holds information; contact <control official>";
* ``restricted``: nothing at all in the answer; the record's control official is notified
  (``restricted_hit``) with the partner, the end user and the purpose, and it is audited.

A record released to a sharing group reaches only the partners that belong to one of the groups it
was released to (:mod:`openilp.services.federation.reach`): any other partner gets no hit for it,
whatever its sensitivity (counted as ``group_withheld`` in the audit entry). Every summary states
the record's TLP 2.0 marking beside its handling code.

**Asking the partners** (:func:`federated_search`). The signed call goes to every active partner
in parallel (:func:`~openilp.services.federation.client.fan_out`); the answer holds what came back
within ``federation_timeout_ms`` and names every partner that did not answer and why. Every
outgoing call is audited, and the open summaries shown are kept (``federation_received``) so that
the owner's purge notice can erase them here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.entity_models import EntityMention
from openilp.db.federation_models import FederationPartner, FederationReceived, FederationShare
from openilp.db.models import IntelDissemination, IntelRecord, IntelSubject
from openilp.entities.things import normalise_phone, normalise_plate
from openilp.errors import InvalidRequest
from openilp.intel.grading import describe_grading
from openilp.security.actors import UserInfo
from openilp.services.federation.client import PartnerTarget, audit_outgoing, fan_out
from openilp.services.federation.inbound import IncomingCall, authenticate
from openilp.services.federation.partners import active_partners, instance_name
from openilp.services.federation.reach import GroupReach, group_reach, partner_reaches
from openilp.services.intel.common import agency_name, checked_purpose, notify, require_permission, user_label

__all__ = [
    "SEARCH_PATH",
    "SEARCH_KINDS",
    "FederatedSearchRequest",
    "FederatedHit",
    "Unanswered",
    "FederatedSearchResult",
    "answer_search",
    "federated_search",
    "matching_records",
]

SEARCH_PATH = "/federation/v1/search"
#: What can be searched for, and the intelligence subject kinds and entity kinds each one matches.
SEARCH_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "person": (("person",), ("person",)),
    "vehicle": (("vehicle",), ("vehicle",)),
    "phone": (("person", "organisation", "vehicle", "location"), ("phone",)),
    "address": (("location",), ("address",)),
}
MIN_QUERY_CHARS = 3
MAX_QUERY_CHARS = 200
#: Most hits one partner returns for one search.
MAX_HITS = 50


def _clean(value: object, name: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise InvalidRequest(f"{name} is longer than {limit} characters")
    return text


@dataclass(frozen=True)
class FederatedSearchRequest(Request):
    """What to look for (``kind``: person, vehicle, phone or address), and the stated purpose."""

    kind: str = "person"
    query: str = ""
    purpose: str | None = None

    def validate(self) -> FederatedSearchRequest:
        if self.kind not in SEARCH_KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(SEARCH_KINDS)} (got {self.kind!r})")
        query = _clean(self.query, "query", MAX_QUERY_CHARS)
        if len(query) < MIN_QUERY_CHARS:
            raise InvalidRequest(f"search for at least {MIN_QUERY_CHARS} characters")
        if self.kind == "phone" and normalise_phone(query) is None:
            raise InvalidRequest("a phone number has 7 to 15 digits")
        if self.kind == "vehicle" and normalise_plate(query) is None:
            raise InvalidRequest("a vehicle is searched by its plate (letters and digits)")
        return dataclasses.replace(self, query=query)


@dataclass(frozen=True)
class FederatedHit(Result):
    """One partner's answer about one record: ``summary`` (open) or ``pointer`` (agency name only)."""

    partner: str
    kind: str
    record_id: int
    agency: str
    contact: str
    message: str
    summary: dict[str, Any] | None = None


@dataclass(frozen=True)
class Unanswered(Result):
    """A partner whose answer is missing, and why (down, too slow, refused)."""

    partner: str
    reason: str


@dataclass(frozen=True)
class FederatedSearchResult(Result):
    """The hits from every partner that answered, and the partners that did not."""

    kind: str
    query: str
    purpose: str
    partners_asked: int
    hits: Sequence[FederatedHit] = field(default_factory=tuple)
    unanswered: Sequence[Unanswered] = field(default_factory=tuple)

    @property
    def partial(self) -> bool:
        return bool(self.unanswered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "query": self.query,
            "purpose": self.purpose,
            "partners_asked": self.partners_asked,
            "partial": self.partial,
            "hits": [hit.as_dict() for hit in self.hits],
            "unanswered": [u.as_dict() for u in self.unanswered],
        }


# --- answering a partner ------------------------------------------------------------------------


def _current(session: Session, record_ids: set[int], now: Any) -> list[IntelRecord]:
    """The approved, unexpired permanent records among ``record_ids``, by id."""
    if not record_ids:
        return []
    return list(
        session.scalars(
            select(IntelRecord)
            .where(
                IntelRecord.id.in_(record_ids),
                IntelRecord.status == "approved",
                IntelRecord.file_type == "permanent",
                IntelRecord.retention_expires_at > now,
            )
            .order_by(IntelRecord.id)
        )
    )


def _names_shown(record: IntelRecord, partner: FederationPartner | None, reach: dict[int, list[GroupReach]]) -> bool:
    """Whether the partner's answer would show ``record``'s subjects (an open summary it may reach)."""
    if record.sensitivity != "open" or record.tlp == "TLP:RED":
        return False
    return record.id not in reach or (partner is not None and partner_reaches(partner, reach[record.id]))


def matching_records(
    session: Session, kind: str, query: str, now: Any, partner: FederationPartner | None = None
) -> list[IntelRecord]:
    """Approved, unexpired permanent records whose criminal subjects match (entities first).

    Only the mentions of intelligence records' criminal subjects are matched: a designation's, a
    tip's or a person file's mention never is, so a name known only from them finds nothing. A
    match brings the other records of its resolved entity only when the partner's answer would show
    the matched subject anyway (an open, non-``TLP:RED`` record within ``partner``'s reach, see
    :mod:`~openilp.services.federation.reach`); a name known only from a restricted, pointer-only
    or group-withheld record finds that record alone, which the caller then answers by its rules.
    """
    subject_kinds, entity_kinds = SEARCH_KINDS[kind]
    needle = query.lower()
    if kind == "phone":
        mention_match = EntityMention.match_key == f"phone:{normalise_phone(query)}"
    elif kind == "vehicle":
        plate = f"plate:{normalise_plate(query)}"
        mention_match = or_(EntityMention.match_key == plate, EntityMention.match_key.startswith(plate + "@"))
    else:
        mention_match = func.lower(EntityMention.display_name).contains(needle, autoescape=True)
    matched = session.execute(
        select(EntityMention.intel_record_id, EntityMention.entity_id).where(
            EntityMention.kind.in_(entity_kinds),
            EntityMention.searchable.is_(True),
            EntityMention.intel_record_id.is_not(None),
            EntityMention.designation_id.is_(None),
            mention_match,
        )
    ).all()
    raw = query.lower() if kind != "phone" else query
    subject_ids = set(
        session.scalars(
            select(IntelSubject.record_id).where(
                IntelSubject.role == "criminal_subject",
                IntelSubject.kind.in_(subject_kinds),
                or_(
                    func.lower(IntelSubject.display_name).contains(raw.lower(), autoescape=True),
                    func.lower(IntelSubject.identifiers).contains(raw.lower(), autoescape=True),
                ),
            )
        )
    )
    found = {int(row[0]) for row in matched if row[0] is not None} | {int(i) for i in subject_ids if i is not None}
    direct = _current(session, found, now)
    if not direct:
        return []
    reach = group_reach(session, [record.id for record in direct])
    shown = {record.id for record in direct if _names_shown(record, partner, reach)}
    entity_ids = {row[1] for row in matched if row[1] is not None and row[0] in shown}
    if not entity_ids:
        return direct
    linked = set(
        session.scalars(
            select(EntityMention.intel_record_id).where(
                EntityMention.entity_id.in_(entity_ids),
                EntityMention.searchable.is_(True),
                EntityMention.intel_record_id.is_not(None),
            )
        )
    )
    return _current(session, {record.id for record in direct} | {int(i) for i in linked if i is not None}, now)


def _summary(session: Session, record: IntelRecord) -> dict[str, Any]:
    return {
        "title": record.title,
        "summary": record.summary,
        "offence_category": record.offence_category,
        "subjects": [{"kind": s.kind, "name": s.display_name} for s in record.subjects if s.role == "criminal_subject"],
        "grading": describe_grading(record.grading_scheme, record.source_grade, record.information_grade),
        "handling_code": record.handling_code,
        "handling_conditions": record.handling_conditions,
        "tlp": record.tlp,
        "approved_at": record.approved_at.isoformat() if record.approved_at else None,
    }


def answer_search(core: OpenILP, call: IncomingCall) -> dict[str, Any]:
    """A partner's federated search, answered pointer-first (module notes); audited both ways."""
    with core.unit_of_work(None) as uow:
        caller = authenticate(uow, call, core.settings.federation_clock_skew_s)
        body = call.payload()
        request = FederatedSearchRequest(
            kind=str(body.get("kind", "")), query=str(body.get("query", "")), purpose=str(body.get("purpose", ""))
        ).validate()
        purpose = _clean(request.purpose, "purpose", 500)
        if not purpose:
            raise uow.refuse(
                InvalidRequest("a federated search states its purpose"),
                action="federation_search_refused",
                object_type="federation_call",
                details=caller.audit_details(),
            )
        session, now = uow.session, uow.now
        requester = f"{caller.end_user} at partner {caller.partner_name}"
        hits: list[dict[str, Any]] = []
        restricted = group_withheld = red_pointers = 0
        partner = session.get(FederationPartner, caller.partner_id)
        records = matching_records(session, request.kind, request.query, now, partner)
        reach = group_reach(session, [record.id for record in records])
        for record in records:
            owner = agency_name(session, record.agency_id)
            contact = user_label(session, record.control_official_id)
            if record.sensitivity == "restricted":
                restricted += 1
                notify(
                    session,
                    agency_id=record.agency_id,
                    user_id=record.control_official_id,
                    kind="restricted_hit",
                    message=(
                        f"A federated search by {requester} matched restricted record #{record.id}; no hit was "
                        f"shown to them. Their stated purpose: {purpose}"
                    ),
                    record_id=record.id,
                    now=now,
                )
                uow.audit(
                    action="restricted_hit",
                    object_type="intel_record",
                    object_id=record.id,
                    purpose=purpose,
                    agency_id=record.agency_id,
                    details=caller.audit_details(),
                )
                continue
            if record.id in reach and (partner is None or not partner_reaches(partner, reach[record.id])):
                group_withheld += 1  # released to sharing groups this partner is not in: no hit at all
                continue
            if len(hits) >= MAX_HITS:
                continue
            if record.sensitivity == "open" and record.tlp == "TLP:RED":
                red_pointers += 1
                hits.append(
                    {
                        "kind": "pointer",
                        "record_id": record.id,
                        "agency": owner,
                        "contact": contact,
                        "message": f"{owner} holds information marked TLP:RED (named recipients only); "
                        f"contact {contact}",
                        "summary": None,
                    }
                )
            elif record.sensitivity == "open":
                _log_release(session, record, caller.partner_id, requester, purpose, request, now)
                hits.append(
                    {
                        "kind": "summary",
                        "record_id": record.id,
                        "agency": owner,
                        "contact": contact,
                        "message": f"{owner} holds an open record; contact {contact}",
                        "summary": _summary(session, record),
                    }
                )
            else:
                hits.append(
                    {
                        "kind": "pointer",
                        "record_id": record.id,
                        "agency": owner,
                        "contact": contact,
                        "message": f"{owner} holds information; contact {contact}",
                        "summary": None,
                    }
                )
        uow.audit(
            action="federation_search",
            object_type="federation_call",
            purpose=purpose,
            details={
                **caller.audit_details(),
                "kind": request.kind,
                "query": request.query,
                "summaries": sum(h["kind"] == "summary" for h in hits),
                "pointers": sum(h["kind"] == "pointer" for h in hits),
                "restricted_withheld": restricted,
                "group_withheld": group_withheld,
                "red_pointers": red_pointers,
            },
        )
        return {"instance": instance_name(core), "hits": hits}


def _log_release(
    session: Session,
    record: IntelRecord,
    partner_id: int,
    requester: str,
    purpose: str,
    request: FederatedSearchRequest,
    now: Any,
) -> None:
    session.add(
        IntelDissemination(
            record_id=record.id,
            kind="federation",
            released_by_id=None,
            recipient_agency_id=None,
            recipient_user_id=None,
            recipient_name=requester[:200],
            reason=purpose[:500],
            need_to_know=f"federated search: {request.kind} {request.query}",
            items=json.dumps(["summary", "subjects", "labels"]),
            handling_conditions=record.handling_conditions,
            released_at=now,
        )
    )
    share = session.scalar(
        select(FederationShare).where(FederationShare.record_id == record.id, FederationShare.partner_id == partner_id)
    )
    if share is None:
        session.add(
            FederationShare(record_id=record.id, partner_id=partner_id, end_user=requester[:200], shared_at=now)
        )
    else:
        share.shared_at = now
    session.flush()


# --- asking the partners ------------------------------------------------------------------------


def _hit(partner: str, raw: Any) -> FederatedHit | None:
    if not isinstance(raw, dict) or raw.get("kind") not in ("summary", "pointer"):
        return None
    try:
        record_id = int(raw.get("record_id", 0))
    except (TypeError, ValueError):
        return None
    summary = raw.get("summary") if raw["kind"] == "summary" and isinstance(raw.get("summary"), dict) else None
    return FederatedHit(
        partner=partner,
        kind=str(raw["kind"]),
        record_id=record_id,
        agency=str(raw.get("agency", ""))[:200],
        contact=str(raw.get("contact", ""))[:200],
        message=str(raw.get("message", ""))[:500],
        summary=summary,
    )


def federated_search(core: OpenILP, user: UserInfo, request: FederatedSearchRequest) -> FederatedSearchResult:
    """Ask every active partner in parallel (module notes); partial answers name who did not answer."""
    require_permission(user, "intel:search")
    with core.unit_of_work(user) as uow:
        purpose = checked_purpose(uow, request.purpose, action="federation_search", object_type="federation")
        request = request.validate()
        targets = [PartnerTarget(p.id, p.name, p.base_url) for p in active_partners(uow.session)]
    end_user = f"{user.full_name or user.username} ({user.username}, {user.agency_code})"
    payload = {"kind": request.kind, "query": request.query, "purpose": purpose}
    timeout_s = max(core.settings.federation_timeout_ms, 1) / 1000.0
    outcomes = fan_out(core, targets, SEARCH_PATH, payload, end_user=end_user, timeout_s=timeout_s)
    hits: list[FederatedHit] = []
    unanswered: list[Unanswered] = []
    for outcome in outcomes:
        if outcome.answer is None:
            unanswered.append(Unanswered(outcome.partner.name, outcome.error))
            continue
        raw_hits = outcome.answer.get("hits", [])
        for raw in raw_hits if isinstance(raw_hits, list) else []:
            hit = _hit(outcome.partner.name, raw)
            if hit is not None:
                hits.append(hit)
    with core.unit_of_work(user) as uow:
        audit_outgoing(uow, outcomes, path=SEARCH_PATH, end_user=end_user)
        by_name = {t.name: t.partner_id for t in targets}
        for hit in hits:
            if hit.summary is not None:
                _keep_received(uow.session, by_name[hit.partner], hit, user, uow.now)
        uow.audit(
            action="federation_search",
            object_type="federation",
            purpose=purpose,
            details={
                "kind": request.kind,
                "query": request.query,
                "partners_asked": len(targets),
                "hits": len(hits),
                "unanswered": [u.partner for u in unanswered],
            },
        )
    return FederatedSearchResult(
        request.kind,
        request.query,
        purpose,
        len(targets),
        tuple(hits),
        tuple(sorted(unanswered, key=lambda u: u.partner)),
    )


def _keep_received(session: Session, partner_id: int, hit: FederatedHit, user: UserInfo, now: Any) -> None:
    row = session.scalar(
        select(FederationReceived).where(
            FederationReceived.partner_id == partner_id,
            FederationReceived.remote_record_id == hit.record_id,
            FederationReceived.user_id == user.id,
        )
    )
    content = json.dumps({"agency": hit.agency, "contact": hit.contact, **(hit.summary or {})}, sort_keys=True)
    if row is None:
        session.add(
            FederationReceived(
                partner_id=partner_id,
                remote_record_id=hit.record_id,
                agency_id=user.agency_id,
                user_id=user.id,
                content=content,
                status="current",
                received_at=now,
                updated_at=now,
            )
        )
    else:
        row.content, row.status, row.updated_at = content, "current", now
