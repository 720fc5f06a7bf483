"""Resolve the agency's person mentions into entities whose ids stay stable across runs.

``openilp entities resolve`` and the API call :func:`resolve_entities`:

1. every searchable person mention of the agency is normalised and a Fellegi–Sunter model is
   trained on them (:class:`openilp.entities.PersonMatcher`); a collapsed model is refused with its
   reasons (audited) and nothing changes;
2. candidate pairs are scored and clustered at ``match_threshold`` with the human decisions as
   constraints: a "match" joins, a "not a match" keeps apart, whatever the model says;
3. **stable ids**: the mentions of an existing entity stay together and keep its id; new mentions
   join an existing entity or make a new one. The model alone never merges two existing entities:
   such a pair goes to the review queue, and only a decision merges them;
4. pairs scored in ``[review_threshold, match_threshold)`` whose mentions ended in different
   entities open review pairs, with each field's contribution to the score.

One transaction; one ``entities_resolve`` audit entry with the counts; the model is kept with the
run (``entity_resolution_runs``) so every link can be explained later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result, require
from openilp.db.entity_models import EntityMention, EntityResolutionRun
from openilp.entities import DegenerateModel, PersonMatcher, cluster_pairs, normalise_persons
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.engine import matcher_options
from openilp.services.entities.clusters import (
    FieldWeight,
    PairExplanation,
    apply_clusters,
    link_constraints,
    open_review_pairs,
)
from openilp.services.entities.common import agency_for, mention_frame
from openilp.services.entities.common import require as require_permission

__all__ = ["ResolveRequest", "ResolveResult", "resolve_entities", "MIN_MENTIONS", "explanation_of"]

#: Fewer person mentions than this cannot train a model.
MIN_MENTIONS = 50


@dataclass(frozen=True)
class ResolveRequest(Request):
    agency: str = ""
    #: Pairs at or above this match probability are linked.
    match_threshold: float = 0.999
    #: Pairs from here up to ``match_threshold`` go to the review queue.
    review_threshold: float = 0.5
    #: Seed of the random pairs that estimate the model's u parameters (same data, same model).
    seed: int = 42

    def validate(self) -> ResolveRequest:
        require(0.5 <= self.match_threshold < 1.0, "match_threshold: give a probability in [0.5, 1)")
        require(
            0.0 < self.review_threshold <= self.match_threshold,
            "review_threshold: give a probability above 0 and at most match_threshold",
        )
        return self


@dataclass(frozen=True)
class ResolveResult(Result):
    agency: str
    run_id: int
    mentions: int
    pairs_scored: int
    entities: int
    entities_created: int
    entities_merged: int
    mentions_linked: int
    review_pairs_opened: int
    fields: tuple[str, ...]


def explanation_of(
    pair: Mapping[Any, Any], fields: list[str] | tuple[str, ...], prior_weight: float
) -> PairExplanation:
    """A scored pair's explanation: the prior and each field's agreement level and weight (bits)."""
    return PairExplanation(
        prior_weight=round(prior_weight, 4),
        fields={
            name: FieldWeight(int(pair[f"gamma_{name}"]), round(float(pair[f"mw_{name}"]), 4))
            for name in fields
            if f"gamma_{name}" in pair
        },
        match_weight=round(float(pair["match_weight"]), 4),
    )


def resolve_entities(core: OpenILP, actor: UserInfo | None, request: ResolveRequest) -> ResolveResult:
    """Resolve the agency's person mentions (see the module docstring)."""
    request = request.validate()
    require_permission(actor, "entities:write", "resolve entities")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = agency_for(session, actor, request.agency)
        mentions = list(
            session.scalars(
                select(EntityMention)
                .where(
                    EntityMention.agency_id == agency.id,
                    EntityMention.kind == "person",
                    EntityMention.searchable.is_(True),
                )
                .order_by(EntityMention.id)
            )
        )
        if len(mentions) < MIN_MENTIONS:
            raise InvalidRequest(
                f"{agency.code} holds {len(mentions)} person mentions; at least {MIN_MENTIONS} are needed to train "
                "a model (import person records first: openilp entities import MAPPING.toml FILE.csv)"
            )
        persons = normalise_persons(mention_frame(mentions))
        try:
            backend = matcher_options(core)
            matcher = PersonMatcher(
                backend=backend.backend, spark_session=backend.spark_session, seed=request.seed
            ).fit(persons)
        except DegenerateModel as error:
            raise uow.refuse(
                InvalidRequest(str(error)),
                action="entities_resolve_refused",
                object_type="entities",
                object_id=agency.code,
                agency_id=agency.id,
            ) from error
        pairs = matcher.predict(request.review_threshold)
        by_id = {str(m.id): m for m in mentions}
        must_link, cannot_link, anchors = link_constraints(session, agency.id, mentions)
        labels = cluster_pairs(
            list(by_id),
            pairs,
            threshold=request.match_threshold,
            must_link=must_link,
            cannot_link=cannot_link,
            anchors=anchors,
        )
        created, merged, linked = apply_clusters(
            session,
            agency_id=agency.id,
            kind="person",
            by_id=by_id,
            labels=labels,
            anchors=anchors,
            actor_id=actor.id if actor else None,
            now=uow.now,
        )
        prior = matcher.prior_weight()
        opened = open_review_pairs(
            session,
            agency_id=agency.id,
            by_id=by_id,
            pairs=pairs.to_dict("records"),
            explain=lambda pair: explanation_of(pair, matcher.fields_, prior),
            now=uow.now,
        )
        run = EntityResolutionRun(
            agency_id=agency.id,
            ran_at=uow.now,
            mentions=len(mentions),
            pairs_scored=len(pairs),
            match_threshold=request.match_threshold,
            review_threshold=request.review_threshold,
            entities_created=created,
            mentions_linked=linked,
            review_pairs_opened=opened,
            model=json.dumps(matcher.model_),
        )
        session.add(run)
        session.flush()
        entity_count = len({m.entity_id for m in mentions})
        uow.audit(
            action="entities_resolve",
            object_type="entities",
            object_id=agency.code,
            agency_id=agency.id,
            details={
                "run_id": run.id,
                "mentions": len(mentions),
                "pairs_scored": len(pairs),
                "entities_created": created,
                "entities_merged": merged,
                "mentions_linked": linked,
                "review_pairs_opened": opened,
                "match_threshold": request.match_threshold,
            },
        )
        return ResolveResult(
            agency=agency.code,
            run_id=run.id,
            mentions=len(mentions),
            pairs_scored=len(pairs),
            entities=entity_count,
            entities_created=created,
            entities_merged=merged,
            mentions_linked=linked,
            review_pairs_opened=opened,
            fields=tuple(matcher.fields_),
        )
