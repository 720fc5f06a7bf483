"""An entity's timeline, places and linked records, built from the mentions a viewer may see.

Each visible mention gives one timeline entry: the incident it is a party to (its complaint
number, offence and start, the party's role), the intelligence record it comes from (the
record's submission day; its content stays behind the record's own purpose-logged read), the tip
that named it, the approved designation that named it (its approval day), or the file and line
that gave it with the day the source recorded it. Places are the mentions' own (an address
placed on the agency's blocks, in the agency's CRS, with its longitude and latitude for the map)
and their incidents' map points.
Because the entries come only from visible mentions, a timeline never shows a record the viewer
could not read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pyproj
from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.db.entity_models import EntityMention
from openilp.db.models import Agency, Incident, IntelRecord, Tip

__all__ = ["timeline_of"]


def _day(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()


def _lonlat_transformers(session: Session, mentions: Sequence[EntityMention]) -> dict[int, pyproj.Transformer]:
    """Agency id -> transformer from the agency's CRS (metres) to longitude/latitude, for placed mentions."""
    agency_ids = {m.agency_id for m in mentions if m.x_m is not None and m.y_m is not None}
    if not agency_ids:
        return {}
    crs = dict(session.execute(select(Agency.id, Agency.crs).where(Agency.id.in_(agency_ids))).all())
    return {
        agency_id: pyproj.Transformer.from_crs(code, "EPSG:4326", always_xy=True)
        for agency_id, code in crs.items()
        if code
    }


def timeline_of(
    session: Session, mentions: Sequence[EntityMention]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """(timeline entries oldest first, places, counts of linked incidents, records, tips and files)."""
    incident_ids = {m.incident_id for m in mentions if m.incident_id is not None}
    record_ids = {m.intel_record_id for m in mentions if m.intel_record_id is not None}
    tip_ids = {m.tip_id for m in mentions if m.tip_id is not None}
    incidents = (
        {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(incident_ids)))}
        if incident_ids
        else {}
    )
    records = (
        dict(
            session.execute(
                select(IntelRecord.id, IntelRecord.submitted_at).where(IntelRecord.id.in_(record_ids))
            ).all()
        )
        if record_ids
        else {}
    )
    tips = {t.id: t for t in session.scalars(select(Tip).where(Tip.id.in_(tip_ids)))} if tip_ids else {}
    entries: list[dict[str, Any]] = []
    places: list[dict[str, Any]] = []
    to_lonlat = _lonlat_transformers(session, mentions)
    for mention in mentions:
        entry: dict[str, Any] = {"mention_id": mention.id, "kind": mention.kind, "role": mention.role}
        incident = incidents.get(mention.incident_id) if mention.incident_id is not None else None
        if incident is not None:
            what = incident.offence_description or incident.category_code or "incident"
            number = incident.source_record_id or f"#{incident.id}"
            entry |= {
                "date": _day(incident.occurred_from) or _day(mention.seen_on),
                "what": f"incident {number}: {what}" + (f" ({mention.role})" if mention.role else ""),
                "link": None,
                "record": f"incident:{incident.id}",
            }
            if incident.lon is not None and incident.lat is not None:
                places.append(
                    {"lon": incident.lon, "lat": incident.lat, "x_m": incident.x_m, "y_m": incident.y_m,
                     "label": f"incident {number}: {incident.block_address or ''}".strip()}
                )  # fmt: skip
        elif mention.intel_record_id is not None:
            entry |= {
                "date": _day(records.get(mention.intel_record_id)),
                "what": f"intelligence record {mention.intel_record_id}",
                "link": f"/intel/records/{mention.intel_record_id}",
                "record": f"intel:{mention.intel_record_id}",
            }
        elif mention.tip_id is not None and mention.tip_id in tips:
            tip = tips[mention.tip_id]
            entry |= {
                "date": _day(tip.created_at),
                "what": f"{tip.kind} {tip.public_id}",
                "link": f"/intel/tips/{tip.public_id}",
                "record": f"tip:{tip.id}",
            }
        elif mention.designation_id is not None:
            entry |= {
                "date": _day(mention.seen_on),
                "what": f"designation {mention.designation_id} approved ({mention.kind})",
                "link": f"/networks/designations#designation-{mention.designation_id}",
                "record": f"designation:{mention.designation_id}",
            }
        else:
            where = f"{mention.file_name}:{mention.line_number}" if mention.file_name else mention.source
            entry |= {
                "date": _day(mention.seen_on),
                "what": f"{mention.source} {mention.source_record_id} ({where})",
                "link": None,
                "record": f"file:{mention.source}",
            }
        if mention.x_m is not None and mention.y_m is not None:
            lon = lat = None
            if mention.agency_id in to_lonlat:
                lon, lat = (
                    round(float(v), 6) for v in to_lonlat[mention.agency_id].transform(mention.x_m, mention.y_m)
                )
            places.append(
                {"lon": lon, "lat": lat, "x_m": mention.x_m, "y_m": mention.y_m, "label": mention.display_name}
            )
        entries.append(entry)
    entries.sort(key=lambda e: (e["date"] is None, e["date"] or "", e["mention_id"]))
    counts = {
        "incidents": len(incidents),
        "intel_records": len(record_ids),
        "tips": len(tips),
        "files": len({m.source for m in mentions if m.file_name}),
    }
    return entries, places, counts
