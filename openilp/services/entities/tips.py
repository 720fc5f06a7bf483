"""People and things named in a tip, kept as mentions so they meet the same person elsewhere.

A tip is anonymous and free text; staff triaging it record whom or what it names (a person, a
vehicle, an organisation, a place, with identifiers as an analyst types them). Each becomes a
mention (``source`` "tip", the tip on ``tip_id``), and the phones, handles, plates and VINs in its
identifiers mentions of their own, resolved with everything else. Only staff who may triage tips
(``tips:triage``) see a tip's mentions on an entity page or in a search; a tip is not an
intelligence record, and naming someone in one asserts nothing about them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from openilp.core import OpenILP, Request, Result, require
from openilp.db.entity_models import EntityMention
from openilp.db.models import Tip
from openilp.entities.subjects import content_hash, derived_mentions, mention_fields_from_subject
from openilp.errors import NotFound
from openilp.security.actors import UserInfo
from openilp.services.entities.common import require as require_permission

__all__ = ["NameInTipRequest", "TipMentions", "name_in_tip", "TIP_KINDS"]

#: What a tip may name (the kinds of an intelligence subject).
TIP_KINDS = ("person", "organisation", "vehicle", "location")


@dataclass(frozen=True)
class NameInTipRequest(Request):
    #: The tip's public id, as staff pages and the API name it.
    tip_id: str
    kind: str
    name: str
    identifiers: str = ""

    def validate(self) -> NameInTipRequest:
        require(self.kind in TIP_KINDS, f"kind: one of {', '.join(TIP_KINDS)}")
        require(1 <= len(self.name.strip()) <= 200, "name: give the name as the tip writes it (at most 200)")
        require(len(self.identifiers) <= 200, "identifiers: at most 200 characters")
        return self


@dataclass(frozen=True)
class TipMentions(Result):
    tip_id: str
    mention_ids: tuple[int, ...]


def name_in_tip(core: OpenILP, actor: UserInfo | None, request: NameInTipRequest) -> TipMentions:
    """Record a person or thing the tip names (and what its identifiers give); audited."""
    request = request.validate()
    require_permission(actor, "tips:triage", "record who a tip names")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        tip = session.scalars(select(Tip).where(Tip.public_id == str(request.tip_id)[:40])).one_or_none()
        if tip is None or (actor is not None and tip.agency_id != actor.agency_id):
            raise NotFound(f"no tip {request.tip_id}")
        already = session.scalar(select(func.count()).select_from(EntityMention).where(EntityMention.tip_id == tip.id))
        role = "named_in_tip"
        found = [mention_fields_from_subject(request.kind, role, request.name, request.identifiers)]
        found[0]["searchable"] = True
        found += derived_mentions(request.kind, role, request.name, request.identifiers)
        added: list[EntityMention] = []
        for number, fields in enumerate(found, start=int(already or 0) + 1):
            mention = EntityMention(
                agency_id=tip.agency_id,
                source="tip",
                source_record_id=f"tip-{tip.id}-{number}",
                tip_id=tip.id,
                content_hash=content_hash(fields),
                created_at=uow.now,
                updated_at=uow.now,
                **fields,
            )
            session.add(mention)
            added.append(mention)
        session.flush()
        uow.audit(
            action="entities_tip_mention",
            object_type="tip",
            object_id=tip.id,
            agency_id=tip.agency_id,
            details={"kind": request.kind, "mentions": [m.id for m in added]},
        )
        return TipMentions(tip.public_id, tuple(m.id for m in added))
