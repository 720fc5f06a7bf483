"""Deconfliction: one new event checked against 10,000 active events (target < 50 ms), same run as
the previous path.

The store (SQLite in a temporary folder; PostgreSQL too when ``OPENILP_BENCH_DATABASE_URL`` names an
empty database) holds 10,000 active events of 20 agencies, spread uniformly over a 60 km × 60 km
square around St. Louis and over the next 14 days (windows of 1 to 8 hours, radii 0 to 200 m, one
in ten naming a vehicle plate out of 2,000), the way a metropolitan watch centre's board looks.
Then 200 new events drawn the same way are checked:

* **now**: :func:`openilp.services.deconfliction.submit_event` end to end (purge, matching keys,
  the indexed filter in the database, the exact rule on the candidates, the write of the event,
  its keys, its conflicts and notices, the audit entries), and the check alone (filter + rule);
* **before**: the previous path, which read every active event as columns and ran the rule on the
  whole table (about 0.2 s per submission on SQLite when it was written).

Both paths find the same conflicts for every new event (checked here). Median and 95th
percentile milliseconds; the ratio is before / now on the median of the check.
``OPENILP_BENCH_DECONFLICTION_BEFORE`` (default all 200) checks only the first N new events the
previous way too, since on PostgreSQL each takes seconds; the comparison stays in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import write_result

N_ACTIVE = 10_000
N_NEW = 200
N_AGENCIES = 20
#: How many of the new events are also checked the previous way (each a full scan of the table).
N_BEFORE = int(os.environ.get("OPENILP_BENCH_DECONFLICTION_BEFORE", str(N_NEW)))
LON, LAT = -90.25, 38.63
SIDE_M = 60_000.0
T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


def _draw(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    m_per_deg_lon = 111_320.0 * np.cos(np.radians(LAT))
    out = []
    for _ in range(n):
        start = T0 + dt.timedelta(minutes=int(rng.integers(0, 14 * 24 * 60)))
        out.append(
            {
                "lon": LON + float(rng.uniform(-SIDE_M / 2, SIDE_M / 2)) / m_per_deg_lon,
                "lat": LAT + float(rng.uniform(-SIDE_M / 2, SIDE_M / 2)) / 111_320.0,
                "radius_m": float(rng.uniform(0, 200)),
                "starts_at": start,
                "ends_at": start + dt.timedelta(minutes=int(rng.integers(60, 480))),
                "targets": (f"vehicle:PL{int(rng.integers(0, 2000)):04d}",) if rng.random() < 0.1 else (),
                "event_type": str(rng.choice(["raid", "search_warrant", "surveillance", "undercover_buy"])),
            }
        )
    return out


def _seed(core: Any, events: list[dict[str, Any]]) -> list[Any]:
    """Agencies, one planner each, and the active events written as the service writes them."""
    from openilp.db import session_scope
    from openilp.db.deconfliction_models import DeconflictionCell, DeconflictionEvent, DeconflictionTarget
    from openilp.db.models import User, utcnow
    from openilp.security.actors import UserInfo
    from openilp.services.accounts.records import ensure_agency, info_of
    from openilp.services.deconfliction.places import Place, cells_of, event_rules

    rules = event_rules(core)
    users: list[UserInfo] = []
    with session_scope(core.engine) as session:
        for k in range(N_AGENCIES):
            code = f"A{k:02d}"
            agency = ensure_agency(session, code, f"Agency {k}", "America/Chicago", "EPSG:26996")
            user = User(
                username=f"planner{k}",
                full_name=f"Planner {k}",
                password_hash="!",  # never signs in
                role="analyst",
                agency_id=agency.id,
                is_active=True,
                failed_logins=0,
                totp_enabled=False,
                password_changed_at=utcnow(),
            )
            session.add(user)
            session.flush()
            users.append(info_of(user, agency))
        rows = []
        for i, e in enumerate(events):
            rule = rules[e["event_type"]]
            min_lon, min_lat, max_lon, max_lat = Place(e["lon"], e["lat"], e["radius_m"]).box(rule.buffer_m)
            rows.append(
                DeconflictionEvent(
                    agency_id=users[i % N_AGENCIES].agency_id,
                    created_by_id=users[i % N_AGENCIES].id,
                    created_at=T0 - dt.timedelta(days=1),
                    event_type=e["event_type"],
                    operation_name=f"Operation {i}",
                    address="",
                    lon=e["lon"],
                    lat=e["lat"],
                    radius_m=e["radius_m"],
                    min_lon=min_lon,
                    min_lat=min_lat,
                    max_lon=max_lon,
                    max_lat=max_lat,
                    buffer_m=rule.buffer_m,
                    time_buffer_s=rule.time_buffer.total_seconds(),
                    window_from=e["starts_at"] - rule.time_buffer,
                    window_until=e["ends_at"] + rule.time_buffer,
                    starts_at=e["starts_at"],
                    ends_at=e["ends_at"],
                    contact_name=f"Contact {i}",
                    contact_phone="314-555-0100",
                    targets=json.dumps(list(e["targets"])),
                    status="active",
                )
            )
        session.add_all(rows)
        session.flush()
        session.add_all(
            DeconflictionCell(event_id=row.id, cell=cell)
            for row in rows
            for cell in cells_of((row.min_lon, row.min_lat, row.max_lon, row.max_lat))
        )
        session.add_all(
            DeconflictionTarget(event_id=row.id, key=key)
            for row, e in zip(rows, events, strict=True)
            for key in e["targets"]
        )
    return users


def _previous_check(core: Any, e: dict[str, Any]) -> list[int]:
    """The path before: every active event as columns, the rule over the whole table."""
    from sqlalchemy import select

    from openilp.db import session_scope
    from openilp.db.deconfliction_models import DeconflictionEvent as E
    from openilp.services.deconfliction.places import Place, table_around
    from openilp.tasking.deconfliction import DEFAULT_TIME_BUFFER, PlannedEvent, check_event

    with session_scope(core.engine) as session:
        rows = session.execute(
            select(
                E.id,
                E.lon,
                E.lat,
                E.radius_m,
                E.starts_at,
                E.ends_at,
                E.targets,
                E.polygon,
                E.buffer_m,
                E.time_buffer_s,
            )
            .where(E.status == "active", E.ends_at >= core.now() - DEFAULT_TIME_BUFFER)
            .order_by(E.id)
        ).all()
        rows = [(*r, frozenset(json.loads(r[6]))) for r in rows]
        new = PlannedEvent(0.0, 0.0, e["radius_m"], e["starts_at"], e["ends_at"], e["targets"])
        hits = check_event(new, table_around(Place(e["lon"], e["lat"], e["radius_m"]), rows))
        return [int(rows[h.second][0]) for h in hits]


def _indexed_check(core: Any, e: dict[str, Any]) -> list[int]:
    """The path now, without the write: the indexed filter and the rule on its candidates."""
    from openilp.db import session_scope
    from openilp.services.deconfliction.places import Place, candidate_rows, event_rules, matching_keys, table_around
    from openilp.tasking.deconfliction import PlannedEvent, check_event

    rule = event_rules(core)[e["event_type"]]
    place = Place(e["lon"], e["lat"], e["radius_m"])
    with session_scope(core.engine) as session:
        keys = matching_keys(session, e["targets"])
        rows = candidate_rows(session, place, e["starts_at"], e["ends_at"], rule, keys, core.now())
        if not rows:
            return []
        new = PlannedEvent(0.0, 0.0, e["radius_m"], e["starts_at"], e["ends_at"], tuple(keys), rule=rule)
        return [int(rows[h.second][0]) for h in check_event(new, table_around(place, rows))]


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def _timed(function: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def _run_backend(url: str | None, folder: Path) -> dict[str, Any]:
    from openilp.config import Settings
    from openilp.core import OpenILP
    from openilp.services.deconfliction import SubmitEventRequest, submit_event

    settings = Settings(data_dir=str(folder), database_url=url or "", secret_key="bench", audit_key="bench")
    core = OpenILP(settings, clock=lambda: T0 - dt.timedelta(hours=12))
    core.migrate()
    rng = np.random.default_rng(0)
    users = _seed(core, _draw(rng, N_ACTIVE))
    new_events = _draw(rng, N_NEW)
    # Warm both paths (imports, the projection's first use, the connection pool).
    _previous_check(core, new_events[0])
    _indexed_check(core, new_events[0])
    before, now, agree, conflicts = [], [], 0, 0
    for i, e in enumerate(new_events):
        t_now, ids_now = _timed(_indexed_check, core, e)
        now.append(t_now)
        conflicts += len(ids_now)
        if i < N_BEFORE:
            t_before, ids_before = _timed(_previous_check, core, e)
            before.append(t_before)
            agree += ids_before == ids_now
    submits = []
    for i, e in enumerate(new_events):
        request = SubmitEventRequest(
            event_type=e["event_type"],
            operation_name=f"New {i}",
            starts_at=e["starts_at"],
            ends_at=e["ends_at"],
            contact_name="Bench",
            contact_phone="314-555-0100",
            radius_m=e["radius_m"],
            lon=e["lon"],
            lat=e["lat"],
            targets=e["targets"],
        )
        seconds, _ = _timed(submit_event, core, users[i % N_AGENCIES], request)
        submits.append(seconds)
    core.engine.dispose()
    result = {
        "check_now": _ms(now),
        "check_before": _ms(before),
        "submit_now": _ms(submits),
        "same_conflicts": f"{agree}/{len(before)}",
        "conflicts_per_new_event": round(conflicts / N_NEW, 2),
    }
    result["ratio"] = round(result["check_before"]["median_ms"] / max(result["check_now"]["median_ms"], 1e-6), 1)
    return result


def run() -> dict[str, Any]:
    out: dict[str, Any] = {
        "active_events": N_ACTIVE,
        "new_events": N_NEW,
        "target_ms": 50,
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="openilp-bench-deconfliction-") as folder:
        out["sqlite"] = _run_backend(None, Path(folder))
    pg = os.environ.get("OPENILP_BENCH_DATABASE_URL")
    if pg:
        with tempfile.TemporaryDirectory(prefix="openilp-bench-deconfliction-") as folder:
            try:
                out["postgresql"] = _run_backend(pg, Path(folder))
            except Exception as error:  # noqa: BLE001 - reported in the results, not fatal
                out["postgresql"] = {"error": f"{type(error).__name__}: {error}"}
    rows = []
    for backend in ("sqlite", "postgresql"):
        r = out.get(backend)
        if not r or "error" in r:
            continue
        rows.append(
            f"| deconfliction: a new event checked against {N_ACTIVE:,} active events ({backend}), "
            f"median / p95 of {N_NEW} | check {r['check_now']['median_ms']} / {r['check_now']['p95_ms']} ms, "
            f"whole submission {r['submit_now']['median_ms']} / {r['submit_now']['p95_ms']} ms (target < 50 ms) "
            f"| the previous full scan {r['check_before']['median_ms']} / {r['check_before']['p95_ms']} ms "
            f"(of {r['same_conflicts'].split('/')[1]}; same conflicts {r['same_conflicts']}) | {r['ratio']}× |"
        )
    out["table_rows"] = rows
    out["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    write_result("deconfliction", out)
    return out
