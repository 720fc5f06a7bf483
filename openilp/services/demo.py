"""The demo: a store loaded with a bundled sample of real St. Louis data and a demo sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openilp.db.models import Agency, Incident, User
from openilp.ingest.spec import load_source_spec
from openilp.services.imports import ImportReport, ProgressCallback, import_source
from openilp.services.users import create_user

__all__ = ["DEMO_DATA_DIR", "DEMO_USERNAME", "DEMO_PASSWORD", "DemoResult", "load_demo"]

DEMO_DATA_DIR = Path(__file__).resolve().parent.parent / "demo_data"
DEMO_USERNAME = "demo"
#: The demo password is public by design: the demo store holds only public open data.
DEMO_PASSWORD = "openilp-demo-analyst"


@dataclass
class DemoResult:
    report: ImportReport
    username: str
    password: str
    user_created: bool
    #: Incidents of the demo agency in the store after loading (reversals already netted out).
    incidents: int


def load_demo(engine: Engine, progress: ProgressCallback | None = None) -> DemoResult:
    """Import the bundled St. Louis sample (idempotent) and make sure the demo analyst exists."""
    spec = load_source_spec("stlouis")
    report = import_source(engine, spec, [DEMO_DATA_DIR / "stlouis" / "monthly"], progress=progress)
    created = False
    with Session(engine) as session:
        incidents = (
            session.scalar(select(func.count(Incident.id)).join(Agency).where(Agency.code == spec.agency.code)) or 0
        )
        if session.scalar(select(User.id).where(User.username == DEMO_USERNAME)) is None:
            create_user(session, DEMO_USERNAME, DEMO_PASSWORD, "analyst", spec.agency.code, "Demo Analyst")
            session.commit()
            created = True
    return DemoResult(
        report=report, username=DEMO_USERNAME, password=DEMO_PASSWORD, user_created=created, incidents=incidents
    )
