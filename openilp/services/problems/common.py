"""What every problem workflow shares: the stages, permission and text checks, loading a problem of
the actor's agency, and the change record written to the problem's history and the audit log."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import UnitOfWork
from openilp.core.dates import parse_day as core_parse_day
from openilp.db.models import Agency, Problem, ProblemHistory, User
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.problems.areas import geometry_from_geojson

__all__ = [
    "MAX_TEXT",
    "OPEN_STAGES",
    "STAGES",
    "WORKSHEET_FIELDS",
    "ProblemNotFound",
    "agency_of",
    "area_geometry",
    "iso",
    "refusals",
    "load_problem",
    "parse_day",
    "record_change",
    "require_write",
    "text",
    "usernames",
]

P = ParamSpec("P")
T = TypeVar("T")

#: The SARA stages in order, then "closed".
STAGES = ("scanning", "analysis", "response", "assessment", "closed")
OPEN_STAGES = STAGES[:-1]
#: The problem analysis triangle: inner (offender, target/victim, place) and outer (controllers).
WORKSHEET_FIELDS = ("offender", "target_victim", "place", "handlers", "guardians", "managers")
MAX_TEXT = 20_000


class ProblemNotFound(NotFound):
    """No problem with that id in the user's agency."""


def refusals(function: Callable[P, T]) -> Callable[P, T]:
    """Let a public service raise the library's plain ValueError as :class:`InvalidRequest`.

    The analysis library (category lookup, area overlap, Knox bands, power) refuses bad input
    with ValueError; the shells map only :class:`~openilp.errors.ServiceError`, so a public
    problem service turns those refusals into :class:`InvalidRequest` with the same message.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except InvalidRequest:
            raise
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc

    return wrapper


def require_write(actor: UserInfo | None) -> UserInfo:
    """The actor when it may change problems; :class:`~openilp.errors.NotPermitted` otherwise."""
    if actor is None:
        raise NotPermitted("changing a problem needs a signed-in account with the problems:write permission")
    if not actor.can("problems:write"):
        raise NotPermitted(f"your role ({actor.role}) may read problems but not change them")
    return actor


def require_read(actor: UserInfo | None) -> UserInfo:
    """The actor when it may read problems; :class:`~openilp.errors.NotPermitted` otherwise."""
    if actor is None or not actor.can("problems:read"):
        role = actor.role if actor is not None else "anonymous"
        raise NotPermitted(f"your role ({role}) may not read problems")
    return actor


def text(value: str | None, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """``value`` stripped; InvalidRequest when required and empty or longer than ``limit`` characters."""
    stripped = (value or "").strip()
    if not stripped.isascii():
        try:
            stripped.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(f"{name} is not valid Unicode text (a lone surrogate)") from None
    if required and not stripped:
        raise InvalidRequest(f"{name} is required")
    if len(stripped) > limit:
        raise InvalidRequest(f"{name} is longer than {limit:,} characters")
    return stripped


def parse_day(value: dt.date | str | None, name: str) -> dt.date | None:
    """A calendar day from a date or ``YYYY-MM-DD`` text (None or blank: None; :func:`openilp.core.dates.parse_day`)."""
    return core_parse_day(value, name)


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def area_geometry(problem: Problem, crs: str) -> shapely.Geometry:
    """The problem's area projected to ``crs`` (metres)."""
    return geometry_from_geojson(json.loads(problem.area_geojson), crs)


def agency_of(session: Session, problem: Problem) -> Agency:
    agency = session.get(Agency, problem.agency_id)
    if agency is None:
        raise NotFound(f"the agency of problem {problem.id} no longer exists")
    return agency


def load_problem(session: Session, actor: UserInfo, problem_id: int) -> Problem:
    """The problem if it belongs to the actor's agency; ProblemNotFound otherwise."""
    problem = session.get(Problem, problem_id)
    if problem is None or problem.agency_id != actor.agency_id:
        raise ProblemNotFound(f"no problem {problem_id} in your agency")
    return problem


def usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all()
    return {int(row[0]): str(row[1]) for row in rows}


def record_change(
    uow: UnitOfWork,
    problem: Problem,
    actor: UserInfo,
    action: str,
    details: Mapping[str, Any],
    *,
    audit_action: str = "update",
) -> None:
    """Append to the problem's history and to the audit log (at ``uow.now``); bump ``updated_at``."""
    plain = json.loads(json.dumps(dict(details), default=str))
    uow.session.add(
        ProblemHistory(
            problem_id=problem.id,
            at=uow.now,
            user_id=actor.id,
            username=actor.username,
            action=action,
            details=json.dumps(plain, sort_keys=True),
        )
    )
    problem.updated_at = uow.now
    uow.audit(
        action=audit_action,
        object_type="problem",
        object_id=problem.id,
        actor=actor,
        details={"change": action, **plain},
        agency_id=problem.agency_id,
    )
