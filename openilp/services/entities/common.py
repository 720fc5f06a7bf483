"""What the entity workflows share: permissions, the agency of a request, mentions as person frames."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import Result
from openilp.db.entity_models import EntityMention
from openilp.db.models import Agency
from openilp.entities.normalize import PERSON_COLUMNS
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo

__all__ = [
    "require",
    "agency_for",
    "mention_frame",
    "PERSON_FIELDS",
    "MentionSummary",
    "mention_summary",
]

#: Mention columns that make up a person record: the person frame of ``openilp.entities`` without its record id.
PERSON_FIELDS = tuple(column for column in PERSON_COLUMNS if column != "record_id")


def require(actor: UserInfo | None, permission: str, what: str) -> None:
    """Refuse a signed-in actor without ``permission`` (the command line, no actor, is the operator)."""
    if actor is not None and not actor.can(permission):
        raise NotPermitted(f"your role ({actor.role}) may not {what}")


def agency_for(session: Session, actor: UserInfo | None, code: str, *, create_if_none: bool = False) -> Agency:
    """The agency a request is about: the actor's own, the named one, or the only one in the store.

    With ``create_if_none`` (a first person import into an empty store) an agency ``code`` (default
    ``LOCAL``) is created in UTC with a Web-Mercator CRS.
    """
    code = code.strip()
    if actor is not None:
        agency = session.get(Agency, actor.agency_id)
        assert agency is not None
        if code and code != agency.code:
            raise NotPermitted(f"{actor.username} belongs to {agency.code}, not {code}")
        return agency
    if code:
        found = session.scalar(select(Agency).where(Agency.code == code))
        if found is not None:
            return found
        if create_if_none:
            return _create(session, code)
        raise NotFound(f"unknown agency {code!r}")
    agencies = session.scalars(select(Agency).order_by(Agency.code)).all()
    if len(agencies) == 1:
        return agencies[0]
    if not agencies:
        if create_if_none:
            return _create(session, "LOCAL")
        raise NotFound("the store holds no agency yet: import person records first (openilp entities import)")
    raise InvalidRequest(
        f"agency: the store holds several agencies ({', '.join(a.code for a in agencies)}); give --agency CODE"
    )


def _create(session: Session, code: str) -> Agency:
    agency = Agency(code=code, name=f"{code} (created by a person import)", timezone="UTC", crs="EPSG:3857")
    session.add(agency)
    session.flush()
    return agency


def mention_frame(mentions: list[EntityMention]) -> pd.DataFrame:
    """Person mentions as the person frame (``record_id`` is the mention id as text)."""
    rows: list[dict[str, Any]] = []
    for mention in mentions:
        row: dict[str, Any] = {"record_id": str(mention.id)}
        for field in PERSON_FIELDS:
            value = getattr(mention, field)
            row[field] = value.isoformat() if isinstance(value, dt.date) else value
        rows.append(row)
    return pd.DataFrame(rows, columns=["record_id", *PERSON_FIELDS])


@dataclass(frozen=True)
class MentionSummary(Result):
    """A mention as shown to a user who may see it: its provenance and the fields it gives.

    ``as_dict()`` is its JSON form (dates as ISO text), the one the API and ``--json`` print.
    ``address`` and ``vehicle`` join the mention's parts with spaces (empty when it has none).
    """

    mention_id: int
    kind: str
    source: str
    source_record_id: str
    file_name: str | None
    line_number: int | None
    intel_record_id: int | None
    display_name: str
    date_of_birth: dt.date | None
    identifier: str | None
    address: str
    entity_id: int | None
    role: str | None
    plate: str | None
    plate_state: str | None
    vin: str | None
    vehicle: str
    phone: str | None
    handle: str | None
    organisation: str | None
    match_key: str | None
    incident_id: int | None
    tip_id: int | None
    seen_on: dt.date | None
    x_m: float | None
    y_m: float | None
    #: The designation that named this person or organisation (``source`` "designation").
    designation_id: int | None = None


def mention_summary(mention: EntityMention) -> MentionSummary:
    """A mention as shown to a user who may see it (:class:`MentionSummary`)."""
    return MentionSummary(
        mention_id=mention.id,
        kind=mention.kind,
        source=mention.source,
        source_record_id=mention.source_record_id,
        file_name=mention.file_name,
        line_number=mention.line_number,
        intel_record_id=mention.intel_record_id,
        display_name=mention.display_name,
        date_of_birth=mention.date_of_birth,
        identifier=mention.identifier,
        address=" ".join(
            str(v)
            for v in (mention.street_number, mention.street, mention.locality, mention.postcode, mention.state)
            if v
        ),
        entity_id=mention.entity_id,
        role=mention.role,
        plate=mention.plate,
        plate_state=mention.plate_state,
        vin=mention.vin,
        vehicle=" ".join(str(v) for v in (mention.colour, mention.make, mention.model) if v),
        phone=mention.phone,
        handle=mention.handle,
        organisation=mention.organisation,
        match_key=mention.match_key,
        incident_id=mention.incident_id,
        tip_id=mention.tip_id,
        seen_on=mention.seen_on,
        x_m=mention.x_m,
        y_m=mention.y_m,
        designation_id=mention.designation_id,
    )
