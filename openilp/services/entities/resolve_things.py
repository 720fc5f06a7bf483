"""Resolve the agency's vehicles, phones, handles, addresses and organisations into entities.

``openilp entities resolve`` (after the people) and the API call :func:`resolve_things`. Each kind
is resolved on its own by the rules of :mod:`openilp.entities.thing_matching`: mentions with the
same match key (the same VIN; the same plate and state; the same phone, handle, address or
organisation, once written in one form) join one entity; pairs only a reader's confusion or a
missing field apart go to the review queue with the rule that found them. Review decisions
override the rules on every later run, ids stay stable exactly as for people
(:mod:`openilp.services.entities.clusters`), and one ``entities_resolve_things`` audit entry
carries the counts. No trained model: there is nothing to collapse, and nothing protected to read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result, require
from openilp.db.entity_models import EntityMention
from openilp.entities.clustering import cluster_pairs
from openilp.entities.thing_matching import THING_COLUMNS, candidate_pairs, explain_rule
from openilp.entities.things import THING_KINDS
from openilp.security.actors import UserInfo
from openilp.services.entities.clusters import (
    FieldWeight,
    PairExplanation,
    apply_clusters,
    link_constraints,
    open_review_pairs,
)
from openilp.services.entities.common import agency_for
from openilp.services.entities.common import require as require_permission

__all__ = ["ResolveThingsRequest", "ResolveThingsResult", "resolve_things", "MATCH_PROBABILITY", "REVIEW_PROBABILITY"]

#: Pairs at this probability are joined: only equal match keys (or a review decision) reach it.
MATCH_PROBABILITY = 0.999
#: Pairs from here up to the match probability are sent to review.
REVIEW_PROBABILITY = 0.5


@dataclass(frozen=True)
class ResolveThingsRequest(Request):
    agency: str = ""
    #: The kinds to resolve (default: all of vehicle, phone, handle, address, organisation).
    kinds: tuple[str, ...] = THING_KINDS

    def validate(self) -> ResolveThingsRequest:
        unknown = sorted(set(self.kinds) - set(THING_KINDS))
        require(not unknown, f"kinds: {', '.join(unknown)} unknown; choose from {', '.join(THING_KINDS)}")
        require(bool(self.kinds), "kinds: name at least one kind")
        return self


@dataclass(frozen=True)
class ResolveThingsResult(Result):
    agency: str
    #: Per kind: mentions, pairs, entities, created, merged, linked, review pairs opened.
    kinds: dict[str, dict[str, int]]


def _frame(mentions: list[EntityMention]) -> pd.DataFrame:
    rows = [{"record_id": str(m.id), **{c: getattr(m, c) for c in THING_COLUMNS if c != "record_id"}} for m in mentions]
    return pd.DataFrame(rows, columns=list(THING_COLUMNS))


def _weight(probability: float) -> float:
    """The match weight of a rule's probability, in bits (30 for a certain match)."""
    return round(math.log2(probability / (1 - probability)) if probability < 1 else 30.0, 4)


def _explanation(pair: Mapping[Any, Any]) -> PairExplanation:
    rule, weight = str(pair["rule"]), float(pair["match_weight"])
    return PairExplanation(
        prior_weight=0.0,
        fields={rule: FieldWeight(1, weight)},
        match_weight=weight,
        rule=rule,
        reason=explain_rule(rule),
    )


def _resolve_kind(
    session: Session, agency_id: int, kind: str, actor_id: int | None, now: dt.datetime
) -> dict[str, int]:
    mentions = list(
        session.scalars(
            select(EntityMention)
            .where(EntityMention.agency_id == agency_id, EntityMention.kind == kind, EntityMention.searchable.is_(True))
            .order_by(EntityMention.id)
        )
    )
    if not mentions:
        return {"mentions": 0, "pairs": 0, "entities": 0, "created": 0, "merged": 0, "linked": 0, "review": 0}
    by_id = {str(m.id): m for m in mentions}
    pairs = candidate_pairs(_frame(mentions))
    must_link, cannot_link, anchors = link_constraints(session, agency_id, mentions)
    labels = cluster_pairs(
        list(by_id),
        pairs,
        threshold=MATCH_PROBABILITY,
        must_link=must_link,
        cannot_link=cannot_link,
        anchors=anchors,
    )
    created, merged, linked = apply_clusters(
        session, agency_id=agency_id, kind=kind, by_id=by_id, labels=labels, anchors=anchors, actor_id=actor_id, now=now
    )
    review = [
        {**pair, "match_weight": _weight(float(pair["match_probability"]))}
        for pair in pairs.to_dict("records")
        if REVIEW_PROBABILITY <= float(pair["match_probability"]) < 1.0
    ]
    opened = open_review_pairs(session, agency_id=agency_id, by_id=by_id, pairs=review, explain=_explanation, now=now)
    return {
        "mentions": len(mentions),
        "pairs": len(pairs),
        "entities": len({m.entity_id for m in mentions}),
        "created": created,
        "merged": merged,
        "linked": linked,
        "review": opened,
    }


def resolve_things(core: OpenILP, actor: UserInfo | None, request: ResolveThingsRequest) -> ResolveThingsResult:
    """Resolve every kind in ``request.kinds`` (see the module docstring); one transaction, audited."""
    request = request.validate()
    require_permission(actor, "entities:write", "resolve entities")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = agency_for(session, actor, request.agency)
        counts: dict[str, dict[str, int]] = {
            kind: _resolve_kind(session, agency.id, kind, actor.id if actor else None, uow.now)
            for kind in request.kinds
        }
        uow.audit(
            action="entities_resolve_things",
            object_type="entities",
            object_id=agency.code,
            agency_id=agency.id,
            details={kind: dict(values) for kind, values in counts.items()},
        )
        return ResolveThingsResult(agency.code, counts)
