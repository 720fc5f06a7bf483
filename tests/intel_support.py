"""Helpers for the intelligence tests: agencies, users with reviewer training, valid submissions."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session
from store_support import add_user, core_for

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import User
from openilp.intel.rules import SubjectInput, Submission
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import ensure_agency
from openilp.services.accounts.records import user_info as get_user_info

PASSWORD = "a long enough test password"
UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
R = TypeVar("R")


class Clock:
    """The core's clock in these tests: frozen at ``now`` (T0 unless moved)."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_core(engine: Engine, data_dir: Path, now: dt.datetime = T0) -> OpenILP:
    """A core object over ``engine`` whose clock stands at ``now`` (move it with :func:`at`)."""
    return core_for(engine, data_dir, clock=Clock(now))


def at(core: OpenILP, moment: dt.datetime, action: Callable[[], R]) -> R:
    """Run ``action`` with the core's clock at ``moment``, then put the clock back."""
    clock = core.clock
    assert isinstance(clock, Clock)
    previous, clock.now = clock.now, moment
    try:
        return action()
    finally:
        clock.now = previous


def make_agency(session: Session, code: str) -> int:
    return ensure_agency(session, code, f"{code} police", "America/Chicago", "ESRI:102696").id


def make_user(
    session: Session, username: str, role: str, agency: str = "SLMPD", trained_until: dt.date | None = None
) -> UserInfo:
    info = add_user(session, username, PASSWORD, role, agency, full_name=username.title())
    if trained_until is not None:
        session.execute(update(User).where(User.id == info.id).values(training_valid_until=trained_until))
    found = get_user_info(session, info.id)
    assert found is not None
    return found


@dataclasses.dataclass
class Cast:
    """The people of a test: two agencies, each with an analyst and a trained reviewer."""

    analyst: UserInfo
    reviewer: UserInfo
    untrained: UserInfo
    officer: UserInfo
    auditor: UserInfo
    other_analyst: UserInfo
    other_reviewer: UserInfo
    partner: UserInfo


def cast(engine: Engine) -> Cast:
    with session_scope(engine) as session:
        make_agency(session, "SLMPD")
        make_agency(session, "OTHER")
        trained = dt.date(2030, 1, 1)
        return Cast(
            analyst=make_user(session, "ana", "analyst"),
            reviewer=make_user(session, "rev", "reviewer", trained_until=trained),
            untrained=make_user(session, "untrained", "reviewer", trained_until=dt.date(2020, 1, 1)),
            officer=make_user(session, "off", "officer"),
            auditor=make_user(session, "aud", "auditor"),
            other_analyst=make_user(session, "other-ana", "analyst", agency="OTHER"),
            other_reviewer=make_user(session, "other-rev", "reviewer", agency="OTHER", trained_until=trained),
            partner=make_user(session, "partner", "partner", agency="OTHER"),
        )


def submission(control_official_id: int, **overrides: Any) -> Submission:
    base = Submission(
        title="Cocaine supply from a north-side garage",
        summary="Subject supplies cocaine to street dealers from a garage on Main St.",
        offence_category="drugs",
        factual_basis="Two controlled buys on 3 and 10 May 2024 from the subject at 100 Main St.",
        predicate_who="Johnny Suspect",
        predicate_what="Sells cocaine to street dealers (two controlled buys)",
        predicate_when="3 and 10 May 2024",
        predicate_where="Garage at 100 Main St.",
        source_reference="SLMPD file 24-001234",
        collection_method="informant",
        lawful_collection_attested=True,
        grading_scheme="admiralty",
        source_grade="B",
        information_grade="2",
        handling_code="P",
        sensitivity="open",
        control_official_id=control_official_id,
        subjects=[
            SubjectInput("person", "criminal_subject", "Johnny Suspect", "DOB 1980-01-01"),
            SubjectInput("vehicle", "non_criminal_identifier", "Grey Honda owned by Mary Innocent", "plate ABC123"),
        ],
    )
    return dataclasses.replace(base, **overrides)
