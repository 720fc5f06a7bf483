"""The demo: a store loaded with a bundled sample of real St. Louis data and a demo sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, Incident
from openilp.errors import NotPermitted
from openilp.ingest.spec import load_source_spec
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import user_by_username
from openilp.services.accounts.users import CreateUserRequest, create_user
from openilp.services.imports.run import ImportReport, ImportRequest, ProgressCallback, import_source

__all__ = ["DEMO_DATA_DIR", "DEMO_USERNAME", "DEMO_PASSWORD", "DemoRequest", "DemoResult", "load_demo"]

DEMO_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "demo_data"
DEMO_USERNAME = "demo"
#: The demo password is public by design: the demo store holds only public open data.
DEMO_PASSWORD = "openilp-demo-analyst"


@dataclass(frozen=True)
class DemoRequest(Request):
    """Nothing to choose: the bundled sample and the demo analyst."""


@dataclass(frozen=True)
class DemoResult(Result):
    report: ImportReport
    username: str
    password: str
    user_created: bool
    #: Incidents of the demo agency in the store after loading (reversals already netted out).
    incidents: int


def load_demo(
    core: OpenILP,
    actor: UserInfo | None,
    request: DemoRequest | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Import the bundled St. Louis sample (idempotent, audited) and make sure the demo analyst exists."""
    (request or DemoRequest()).validate()
    if actor is not None:
        raise NotPermitted("the demo is loaded on the command line (openilp demo)")
    spec = load_source_spec("stlouis")
    report = import_source(
        core, None, ImportRequest(source=spec, paths=(DEMO_DATA_DIR / "stlouis" / "monthly",)), progress=progress
    )
    with core.unit_of_work(None) as uow:
        exists = user_by_username(uow.session, DEMO_USERNAME) is not None
    if not exists:
        create_user(
            core,
            None,
            CreateUserRequest(DEMO_USERNAME, DEMO_PASSWORD, "analyst", spec.agency.code, "Demo Analyst"),
        )
    with core.unit_of_work(None) as uow:
        incidents = (
            uow.session.scalar(select(func.count(Incident.id)).join(Agency).where(Agency.code == spec.agency.code)) or 0
        )
    return DemoResult(
        report=report,
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        user_created=not exists,
        incidents=int(incidents),
    )
