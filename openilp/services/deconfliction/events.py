"""Submit, list, cancel and end deconfliction events (:mod:`openilp.tasking.deconfliction`).

* ``submit_event``: the event is checked against every active event of every agency in the store
  whose window has not ended more than the time buffer ago (place and time within 300 m and 2 h
  by default, or a shared target identifier anywhere). The submitter gets, for each conflict, the
  other side's agency and point of contact only; the owner of the other event is notified (an
  in-app notice naming their own operation and the submitter's contact). The event, each conflict
  and each notice are written and audited in one transaction.
  The event is then checked, signed, against every partner instance's active events
  (:mod:`openilp.services.deconfliction.federated`); their conflicts come back in ``partners``.
* ``list_events``: the agency's events (active only unless asked), each with its conflicts, the
  other side again reduced to its agency and contact, and its conflicts with partner instances'
  events (``partner_conflicts``); an audited read.
* ``close_event`` (:mod:`~openilp.services.deconfliction.closing`): cancel or end one of the
  agency's active events; partners told of its conflicts are sent a notice.

Places are compared in metres in an azimuthal equidistant projection centred on the new event
(exact distances from its centre), so agencies with different analysis CRSs share one rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openilp.core.contract import Request, Result, require
from openilp.services.deconfliction.common import agency_names, leave_notice, permitted
from openilp.services.deconfliction.federated import PartnerCheck, check_partners
from openilp.services.deconfliction.partner_records import partner_conflicts_of_events
from openilp.services.deconfliction.places import (
    Place,
    candidate_rows,
    cells_of,
    event_rules,
    local_polygon,
    matching_keys,
    table_around,
)
from openilp.services.deconfliction.purge import purge_locations
from openilp.services.deconfliction.watch import alarm_watch_centre
from openilp.tasking.deconfliction import (
    EVENT_TYPES,
    PlannedEvent,
    check_event,
    normalise_target,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = [
    "ConflictNotice",
    "EventList",
    "EventSubmitted",
    "ListEventsRequest",
    "SubmitEventRequest",
    "list_events",
    "submit_event",
]

PERMISSION = "deconfliction:submit"
#: Bounds of a request: the largest circle (metres), the longest window, the most targets.
MAX_RADIUS_M = 5_000.0
MAX_WINDOW = dt.timedelta(days=14)
MAX_TARGETS = 50


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    require(moment.tzinfo is not None, f"{name}: give a time with its UTC offset, e.g. 2024-03-01T22:00:00+00:00")
    return moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class SubmitEventRequest(Request):
    """A planned operation: type, name, place (a point in the agency CRS or WGS84 lon/lat, and a
    radius in metres), UTC window, point of contact and target identifiers (``kind:value``)."""

    event_type: str
    operation_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    contact_name: str
    contact_phone: str
    radius_m: float = 100.0
    x_m: float | None = None
    y_m: float | None = None
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    targets: tuple[str, ...] = ()
    #: A polygon's vertices as (lon, lat) pairs (WGS84), instead of a centre; widened by ``radius_m``.
    polygon: tuple[tuple[float, float], ...] | None = None

    def validate(self) -> SubmitEventRequest:
        require(self.event_type in EVENT_TYPES, f"event_type: choose one of {', '.join(EVENT_TYPES)}")
        require(0 < len(self.operation_name.strip()) <= 200, "operation_name: name the operation (1 to 200 characters)")
        starts_at, ends_at = _aware(self.starts_at, "starts_at"), _aware(self.ends_at, "ends_at")
        require(starts_at < ends_at, "ends_at: must be after starts_at")
        require(ends_at - starts_at <= MAX_WINDOW, f"ends_at: a window is at most {MAX_WINDOW.days} days")
        require(
            math.isfinite(self.radius_m) and 0 <= self.radius_m <= MAX_RADIUS_M,
            f"radius_m: give metres from 0 to {MAX_RADIUS_M:,.0f}",
        )
        has_xy = self.x_m is not None and self.y_m is not None
        has_lonlat = self.lon is not None and self.lat is not None
        polygon = None
        if self.polygon is not None:
            require(not has_xy and not has_lonlat, "polygon: give a polygon or a centre, not both")
            polygon = _valid_polygon(self.polygon)
        else:
            require(has_xy != has_lonlat, "location: give either x_m and y_m (agency CRS) or lon and lat (WGS84)")
        if polygon is None and has_xy:
            require(math.isfinite(self.x_m or 0.0) and math.isfinite(self.y_m or 0.0), "x_m, y_m: give finite metres")
        elif polygon is None:
            require(-180 <= (self.lon or 0.0) <= 180 and -90 <= (self.lat or 0.0) <= 90, "lon, lat: out of range")
        require(0 < len(self.contact_name.strip()) <= 200, "contact_name: name the point of contact")
        require(
            sum(c.isdigit() for c in self.contact_phone) >= 7 and len(self.contact_phone) <= 40,
            "contact_phone: give a 24/7 phone number",
        )
        require(len(self.address) <= 300, "address: at most 300 characters")
        require(len(self.targets) <= MAX_TARGETS, f"targets: at most {MAX_TARGETS}")
        targets = tuple(sorted({normalise_target(t) for t in self.targets if t.strip()}))
        require("" not in targets, "targets: each target needs a value, e.g. vehicle:ABC123 or phone:3145550100")
        return dataclasses.replace(
            self,
            operation_name=" ".join(self.operation_name.split()),
            contact_name=" ".join(self.contact_name.split()),
            contact_phone=self.contact_phone.strip(),
            address=self.address.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            targets=targets,
            polygon=polygon,
        )


#: Most vertices of a polygon; its widest extent (metres).
MAX_POLYGON_VERTICES = 200
MAX_POLYGON_EXTENT_M = 10_000.0


def _valid_polygon(vertices: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    from shapely import Polygon

    require(
        3 <= len(vertices) <= MAX_POLYGON_VERTICES,
        f"polygon: give 3 to {MAX_POLYGON_VERTICES} vertices as [lon, lat] pairs",
    )
    points = tuple((float(v[0]), float(v[1])) for v in vertices)
    require(
        all(
            math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in points
        ),
        "polygon: each vertex is [lon, lat] in range",
    )
    shape = Polygon(points)
    require(shape.is_valid and shape.area > 0, "polygon: the vertices must draw one simple area (no crossing edges)")
    min_lon, min_lat, max_lon, max_lat = shape.bounds
    wide_m = max(max_lat - min_lat, (max_lon - min_lon) * math.cos(math.radians(max(abs(min_lat), abs(max_lat)))))
    require(wide_m * 111_320 <= MAX_POLYGON_EXTENT_M, f"polygon: at most {MAX_POLYGON_EXTENT_M:,.0f} m across")
    return points


@dataclass(frozen=True)
class ConflictNotice:
    """What one side of a conflict learns of the other: why, which agency, whom to call."""

    conflict_id: int
    reasons: tuple[str, ...]
    agency_code: str
    agency_name: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class EventSubmitted(Result):
    event_id: int
    conflicts: tuple[ConflictNotice, ...]
    #: What partner instances answered (:mod:`openilp.services.deconfliction.federated`).
    partners: PartnerCheck = PartnerCheck()


def _place(session: Session, agency_id: int, request: SubmitEventRequest) -> Place:
    if request.polygon is not None:
        from shapely import Polygon

        centre = Polygon(request.polygon).centroid
        return Place(float(centre.x), float(centre.y), float(request.radius_m), request.polygon)
    if request.lon is not None and request.lat is not None:
        return Place(float(request.lon), float(request.lat), float(request.radius_m))
    from pyproj import Transformer

    from openilp.db.models import Agency

    agency = session.get(Agency, agency_id)
    assert agency is not None
    to_wgs84 = Transformer.from_crs(agency.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(request.x_m, request.y_m)
    return Place(float(lon), float(lat), float(request.radius_m))


def submit_event(core: OpenILP, actor: UserInfo | None, request: SubmitEventRequest) -> EventSubmitted:
    """Record a planned operation and report its conflicts (see the module notes); audited."""

    from openilp.db.deconfliction_models import (
        DeconflictionCell,
        DeconflictionConflict,
        DeconflictionEvent,
        DeconflictionTarget,
    )

    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, PERMISSION, "submit deconfliction events", "deconfliction_event")
    request = request.validate()
    rule = event_rules(core)[request.event_type]
    with core.unit_of_work(actor) as uow:
        place = _place(uow.session, actor.agency_id, request)
        purge_locations(uow, core.settings.deconfliction_purge_after_h)
        keys = matching_keys(uow.session, request.targets)
        rows = candidate_rows(uow.session, place, request.starts_at, request.ends_at, rule, keys, uow.now)
        new = PlannedEvent(
            0.0,
            0.0,
            float(request.radius_m),
            request.starts_at,
            request.ends_at,
            tuple(keys),
            polygon=local_polygon(place),
            rule=rule,
        )
        hits = check_event(new, table_around(place, rows)) if rows else []
        E = DeconflictionEvent
        others = [uow.session.get(E, int(rows[hit.second][0])) for hit in hits]
        min_lon, min_lat, max_lon, max_lat = place.box(rule.buffer_m)
        row = DeconflictionEvent(
            agency_id=actor.agency_id,
            created_by_id=actor.id,
            created_at=uow.now,
            event_type=request.event_type,
            operation_name=request.operation_name,
            address=request.address,
            lon=place.lon,
            lat=place.lat,
            polygon=json.dumps([list(v) for v in place.polygon]) if place.polygon else None,
            min_lon=min_lon,
            min_lat=min_lat,
            max_lon=max_lon,
            max_lat=max_lat,
            buffer_m=rule.buffer_m,
            time_buffer_s=rule.time_buffer.total_seconds(),
            window_from=request.starts_at - rule.time_buffer,
            window_until=request.ends_at + rule.time_buffer,
            radius_m=float(request.radius_m),
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            contact_name=request.contact_name,
            contact_phone=request.contact_phone,
            targets=json.dumps(list(request.targets)),
            status="active",
        )
        uow.session.add(row)
        uow.session.flush()
        uow.session.add_all(DeconflictionTarget(event_id=row.id, key=key) for key in sorted(keys))
        uow.session.add_all(
            DeconflictionCell(event_id=row.id, cell=cell) for cell in cells_of((min_lon, min_lat, max_lon, max_lat))
        )
        agencies = agency_names(uow.session, {e.agency_id for e in (*others, row) if e is not None})
        mine_code, mine_name = agencies[actor.agency_id]
        notices = []
        for hit, other in zip(hits, others, strict=True):
            assert other is not None
            conflict = DeconflictionConflict(
                event_id=row.id, other_event_id=other.id, reasons=",".join(hit.reasons), found_at=uow.now
            )
            uow.session.add(conflict)
            uow.session.flush()
            code, name = agencies[other.agency_id]
            notices.append(
                ConflictNotice(conflict.id, hit.reasons, code, name, other.contact_name, other.contact_phone)
            )
            leave_notice(
                uow,
                agency_id=other.agency_id,
                user_id=other.created_by_id,
                kind="deconfliction_conflict",
                message=(
                    f"Deconfliction: your event #{other.id} ({other.operation_name}) conflicts "
                    f"({' and '.join(_REASON_TEXT[r] for r in hit.reasons)}) with an event of {mine_name} "
                    f"({mine_code}). Call {request.contact_name} on {request.contact_phone} before you proceed."
                ),
            )
            alarm_watch_centre(
                uow,
                conflict.id,
                f"{mine_name} ({mine_code}) planned event #{row.id} ({request.event_type}) that conflicts "
                f"({' and '.join(_REASON_TEXT[r] for r in hit.reasons)}) with event #{other.id} of {name} ({code}).",
            )
            uow.audit(
                action="deconfliction_conflict",
                object_type="deconfliction_event",
                object_id=other.id,
                details={"conflict_id": conflict.id, "event_id": row.id, "reasons": list(hit.reasons)},
                agency_id=other.agency_id,
            )
        uow.audit(
            action="deconfliction_event_submitted",
            object_type="deconfliction_event",
            object_id=row.id,
            details={
                "event_type": request.event_type,
                "starts_at": request.starts_at.isoformat(),
                "ends_at": request.ends_at.isoformat(),
                "radius_m": float(request.radius_m),
                "targets": len(request.targets),
                "conflicts": [n.conflict_id for n in notices],
            },
            agency_id=actor.agency_id,
        )
        event_id = row.id
    payload = {
        "event_type": request.event_type,
        "lon": place.lon,
        "lat": place.lat,
        "polygon": [list(v) for v in place.polygon] if place.polygon else None,
        "radius_m": float(request.radius_m),
        "starts_at": request.starts_at.isoformat(),
        "ends_at": request.ends_at.isoformat(),
        "targets": list(request.targets),
        "contact_name": request.contact_name,
        "contact_phone": request.contact_phone,
    }
    partners = check_partners(core, actor, event_id, request.operation_name, payload)
    return EventSubmitted(event_id=event_id, conflicts=tuple(notices), partners=partners)


_REASON_TEXT = {"place_time": "place and time", "target": "a shared target"}


@dataclass(frozen=True)
class ListEventsRequest(Request):
    """Whether to include the agency's cancelled and ended events."""

    include_closed: bool = False


@dataclass(frozen=True)
class EventList(Result):
    events: tuple[dict[str, Any], ...]


def list_events(core: OpenILP, actor: UserInfo | None, request: ListEventsRequest) -> EventList:
    """The agency's events with their conflicts (the other side: agency and contact only); audited."""
    from sqlalchemy import or_, select

    from openilp.db.deconfliction_models import DeconflictionConflict, DeconflictionEvent

    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, PERMISSION, "read deconfliction events", "deconfliction_event")
        query = select(DeconflictionEvent).where(DeconflictionEvent.agency_id == actor.agency_id)
        if not request.include_closed:
            query = query.where(DeconflictionEvent.status == "active")
        rows = list(uow.session.scalars(query.order_by(DeconflictionEvent.starts_at, DeconflictionEvent.id)).all())
        ids = [r.id for r in rows]
        conflicts = (
            list(
                uow.session.scalars(
                    select(DeconflictionConflict)
                    .where(or_(DeconflictionConflict.event_id.in_(ids), DeconflictionConflict.other_event_id.in_(ids)))
                    .order_by(DeconflictionConflict.id)
                ).all()
            )
            if ids
            else []
        )
        # both ends: two of the agency's own events may conflict with each other
        counterpart_ids = {i for c in conflicts for i in (c.event_id, c.other_event_id)}
        counterparts = {
            e.id: e
            for e in uow.session.scalars(
                select(DeconflictionEvent).where(DeconflictionEvent.id.in_(counterpart_ids))
            ).all()
        }
        agencies = agency_names(uow.session, {e.agency_id for e in counterparts.values()})
        with_partners = partner_conflicts_of_events(uow.session, ids)
        out = []
        for row in rows:
            mine = []
            for c in conflicts:
                if row.id not in (c.event_id, c.other_event_id):
                    continue
                other = counterparts[c.other_event_id if c.event_id == row.id else c.event_id]
                code, name = agencies[other.agency_id]
                notice = ConflictNotice(
                    c.id, tuple(c.reasons.split(",")), code, name, other.contact_name, other.contact_phone
                )
                mine.append(
                    {
                        **dataclasses.asdict(notice),
                        "other_status": other.status,
                        "status": c.status,
                        "resolution": c.resolution,
                        "resolution_note": c.resolution_note,
                        "exigency_waiver": c.exigency_waiver,
                    }
                )
            out.append(
                {
                    "id": row.id,
                    "event_type": row.event_type,
                    "operation_name": row.operation_name,
                    "address": row.address,
                    "lon": row.lon,
                    "lat": row.lat,
                    "radius_m": row.radius_m,
                    "starts_at": row.starts_at.isoformat(),
                    "ends_at": row.ends_at.isoformat(),
                    "contact_name": row.contact_name,
                    "contact_phone": row.contact_phone,
                    "targets": json.loads(row.targets),
                    "status": row.status,
                    "conflicts": mine,
                    "partner_conflicts": with_partners.get(row.id, []),
                }
            )
        uow.audit(
            action="deconfliction_events_read",
            object_type="deconfliction_event",
            details={"count": len(out), "include_closed": request.include_closed},
            agency_id=actor.agency_id,
        )
    return EventList(events=tuple(out))
