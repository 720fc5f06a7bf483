"""Helpers shared by the web tests: seed agencies, users and incidents; sign in through the form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, select, update
from store_support import TEST_SECRET_KEY, add_user, core_for

from openilp.db import Agency, ImportFile, Incident, User, session_scope
from openilp.services.accounts.records import ensure_agency
from openilp.web import create_app

PASSWORD = "a long enough test password"
UTC = dt.UTC


@dataclass
class IncidentSpec:
    """One test incident; ``occurred`` is UTC."""

    category: str | None
    occurred: dt.datetime | None
    lon: float | None = -90.2
    lat: float | None = 38.63
    location_status: str = "located"
    description: str = "TEST OFFENCE"
    address: str = "100 MARKET ST"
    net_count: int = 1
    extra: dict[str, object] = field(default_factory=dict)


def seed_agency(engine: Engine, code: str = "SLMPD", timezone: str = "America/Chicago") -> int:
    with session_scope(engine) as session:
        return ensure_agency(session, code, f"{code} police", timezone, "ESRI:102696").id


def seed_user(
    engine: Engine, username: str, role: str = "analyst", agency_code: str = "SLMPD", password: str = PASSWORD
) -> int:
    with session_scope(engine) as session:
        return add_user(session, username, password, role, agency_code, full_name=username.title()).id


def seed_incidents(engine: Engine, agency_code: str, specs: Iterable[IncidentSpec]) -> list[int]:
    """Insert incidents through the ORM under one import file; return their ids in order."""
    with session_scope(engine) as session:
        agency = session.scalars(select(Agency).where(Agency.code == agency_code)).one()
        import_file = ImportFile(
            agency_id=agency.id, source="test", file_name="test.csv", sha256=f"{agency_code:0<64}"[:64]
        )
        session.add(import_file)
        session.flush()
        incidents = []
        for line, spec in enumerate(specs, start=1):
            located = spec.location_status == "located"
            incident = Incident(
                agency_id=agency.id,
                source="test",
                source_key=f"{agency_code}-{line}",
                offence_description=spec.description,
                category_code=spec.category,
                occurred_from=spec.occurred,
                occurred_to=spec.occurred,
                time_precision="minute",
                lon=spec.lon if located else None,
                lat=spec.lat if located else None,
                location_status=spec.location_status,
                block_address=spec.address,
                net_count=spec.net_count,
                import_file_id=import_file.id,
                source_line=line,
                content_hash=line,
                raw=f"line {line}",
                **spec.extra,
            )
            session.add(incident)
            incidents.append(incident)
        session.flush()
        return [incident.id for incident in incidents]


def make_client(engine: Engine, tmp_path: Path, **settings: object) -> TestClient:
    values: dict[str, object] = {"secret_key": TEST_SECRET_KEY}
    values.update(settings)
    https_only = bool(values.pop("https_only", False))
    clock = values.pop("clock", None)
    core = core_for(engine, tmp_path, clock=clock, **values)  # type: ignore[arg-type]
    return TestClient(create_app(core, https_only=https_only))


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class FrozenClock:
    """A clock for the app that moves only when told (session timeouts, TOTP steps)."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def audit_actions(engine: Engine) -> list[tuple[str, str | None, str]]:
    """``(action, actor_username, object_type)`` of every audit entry, oldest first."""
    from openilp.db.models import AuditEntry

    with session_scope(engine) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor_username, AuditEntry.object_type).order_by(AuditEntry.seq)
        ).all()
    return [(str(a), u, str(o)) for a, u, o in rows]


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')

#: TOTP secrets of users enrolled through :func:`login` (or :func:`remember_totp_secret`).
TOTP_SECRETS: dict[tuple[int, str], str] = {}


def remember_totp_secret(engine: Engine, username: str, secret: str) -> None:
    TOTP_SECRETS[(id(engine), username)] = secret


def totp_code(client: TestClient, secret: str) -> str:
    """The current code for ``secret`` by the app's clock."""
    now = client.app.state.openilp.clock()  # type: ignore[attr-defined]
    return pyotp.TOTP(secret).at(now)


def login(
    client: TestClient, username: str, password: str = PASSWORD, next_path: str = "/", *, second_factor: bool = True
) -> Response:
    """Sign in through the real forms; returns the last POST response.

    For users whose role needs TOTP the helper enrols an authenticator on first sign-in (reading
    the secret from the setup page) and enters a valid code, unless ``second_factor`` is False.
    The replay guard is reset first, so one test may sign the same user in several times.
    """
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )
    location = response.headers.get("location", "")
    if not second_factor or response.status_code != 303 or not location.startswith("/login/totp"):
        return response
    engine: Engine = client.app.state.openilp.engine  # type: ignore[attr-defined]
    key = (id(engine), username.strip().lower())
    page = client.get(location)
    if location == "/login/totp/setup":
        match = _SECRET.search(page.text)
        assert match, "no TOTP secret on the setup page"
        TOTP_SECRETS[key] = match.group(1)
    with session_scope(engine) as session:
        session.execute(update(User).where(User.username == key[1]).values(totp_last_step=None))
    return client.post(
        location,
        data={"code": totp_code(client, TOTP_SECRETS[key]), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def open_record(client: TestClient, record_id: int, purpose: str) -> Response:
    """Open an intelligence record as the page does: the purpose form (a GET), then its POST."""
    ask = client.get(f"/intel/records/{record_id}", params={"purpose": purpose})
    token = csrf_from(ask.text) if ask.status_code == 200 else ""
    return client.post(f"/intel/records/{record_id}/open", data={"csrf_token": token, "purpose": purpose})
