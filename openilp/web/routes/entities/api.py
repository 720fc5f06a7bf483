"""The entities JSON API: search, one entity with its visible mentions, the review queue, decisions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services import entities
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.params import Id

__all__ = ["router"]

READ = require("entities:read")
REVIEW = require("entities:review")

router = APIRouter(prefix="/api/v1/entities", tags=["entities"])


@router.get("/search")
def search_api(
    name: str = Query("", max_length=200),
    date_of_birth: str = Query("", max_length=10, description="YYYY-MM-DD"),
    identifier: str = Query("", max_length=100),
    plate: str = Query("", max_length=200, description="a plate or VIN; reader-confused characters tolerated"),
    phone: str = Query("", max_length=200),
    handle: str = Query("", max_length=200, description="an e-mail address or online handle"),
    address: str = Query("", max_length=200),
    limit: int = Query(50, ge=1, le=200),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> dict[str, Any]:
    """Entities whose visible mentions match a name (fuzzy), a date of birth or an identifier, or a
    plate or VIN, a phone, a handle or an address."""
    request = entities.SearchEntitiesRequest(
        name=name,
        date_of_birth=date_of_birth,
        identifier=identifier,
        plate=plate,
        phone=phone,
        handle=handle,
        address=address,
        limit=limit,
    )
    return entities.search_entities(core, user, request).as_dict()


@router.get("/suggest")
def suggest_api(
    name: str = Query("", max_length=200),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(READ),
) -> dict[str, Any]:
    """Do we already know this person? Up to 5 entities whose visible mentions match a name as it
    is typed (fuzzy, nicknames tolerated); the intelligence record form asks while a subject's name
    is typed. Fewer than 3 letters answer nothing; the search is audited like any other."""
    if len("".join(ch for ch in name if ch.isalpha())) < 3:
        return {"hits": []}
    return entities.search_entities(core, user, entities.SearchEntitiesRequest(name=name, limit=5)).as_dict()


@router.post("/tips/{tip_id}")
def name_in_tip_api(
    tip_id: str,
    kind: str = Body("person", max_length=20),
    name: str = Body(..., max_length=200),
    identifiers: str = Body("", max_length=200),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(require("tips:triage")),
) -> dict[str, Any]:
    """Record a person or thing a tip names (by the tip's public id) as entity mentions; audited."""
    return entities.name_in_tip(core, user, entities.NameInTipRequest(tip_id[:40], kind, name, identifiers)).as_dict()


@router.get("/review")
def review_api(
    limit: int = Query(50, ge=1, le=1000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(REVIEW),
) -> dict[str, Any]:
    """The open review pairs, each with every field's match weight."""
    return entities.review_queue(core, user, entities.ReviewQueueRequest(limit=limit)).as_dict()


@router.post("/review/{pair_id}")
def decide_api(
    pair_id: Id,
    decision: str = Body(..., max_length=12),
    reason: str = Body(..., max_length=2000),
    core: OpenILP = Depends(get_core),
    user: UserInfo = Depends(REVIEW),
) -> dict[str, Any]:
    """Decide a review pair: match (merge), not_match (split) or unsure; the reason is audited."""
    return entities.decide_pair(core, user, entities.DecideRequest(pair_id, decision, reason)).as_dict()


@router.get("/{entity_id}")
def show_api(entity_id: Id, core: OpenILP = Depends(get_core), user: UserInfo = Depends(READ)) -> dict[str, Any]:
    """One entity: the mentions the user may see, with provenance, and its lineage (audited read)."""
    return entities.show_entity(core, user, entities.ShowEntityRequest(entity_id)).as_dict()
