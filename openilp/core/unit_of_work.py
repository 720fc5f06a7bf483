"""The unit of work: one transaction per service call, with the audit rules built in.

Every public service function opens one with :meth:`openilp.core.OpenILP.unit_of_work` and does
all its reading, writing and auditing through it. The rules it carries out, so that no shell has
to:

* **Commit before answering.** The transaction commits when the ``with`` block ends, inside the
  service call: when a shell gets the result, the change is durable and visible to every other
  connection. A failed commit raises, so the shell answers with an error, never with a success.
* **A refusal rolls the action back but stays in the audit log.** A service that refuses (no
  purpose stated, a wrong payout code) records the refusal with :meth:`UnitOfWork.refuse` and
  raises the returned error. The unit of work rolls the action back, then writes the recorded
  refusal entries (and any :meth:`UnitOfWork.keep_on_failure` writes, such as a failed-attempt
  counter) in their own short transaction before the error reaches the shell.
* **One clock.** ``uow.now`` is the core's clock read once when the unit starts: every timestamp
  the unit writes, including audit entries, is the same injectable moment (tests freeze it).
* **Nesting joins.** A service that calls another public service inside its own unit of work
  joins the outer transaction instead of committing halfway.
* **Nothing audited in a user's name from another site's link.** While a shell handles a
  navigation that another site started (:func:`navigation_from_another_site`), an audit entry in a
  user's name (a read, a search, a plan made by opening a page) raises
  :class:`~openilp.errors.ViewFromAnotherSite` instead of being recorded: a link elsewhere cannot
  write entries in the viewer's name. The same page opened from OpenILP is audited as usual. Only
  the session's own bookkeeping (:data:`SESSION_ACTIONS`) is still recorded.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openilp.db.models import AuditEntry
from openilp.errors import ViewFromAnotherSite
from openilp.security.actors import UserInfo
from openilp.security.audit import record_event

__all__ = ["SESSION_ACTIONS", "UnitOfWork", "navigation_from_another_site", "open_unit_of_work"]

#: Audit actions still recorded during another site's navigation: the session's own bookkeeping.
SESSION_ACTIONS = frozenset({"session_expired"})

#: Set by a shell while it handles a navigation another site started (a link, a redirect).
_FOREIGN_NAVIGATION: contextvars.ContextVar[bool] = contextvars.ContextVar("openilp_foreign_navigation", default=False)


@contextmanager
def navigation_from_another_site() -> Iterator[None]:
    """Mark the work done inside as started by another site's link: audited views are refused.

    >>> import openilp.core.unit_of_work as uow
    >>> with navigation_from_another_site():
    ...     uow._FOREIGN_NAVIGATION.get()
    True
    >>> uow._FOREIGN_NAVIGATION.get()
    False
    """
    token = _FOREIGN_NAVIGATION.set(True)
    try:
        yield
    finally:
        _FOREIGN_NAVIGATION.reset(token)


E = TypeVar("E", bound=BaseException)

#: The unit of work open in this thread or task, per core object (to join nested calls).
_CURRENT: contextvars.ContextVar[dict[int, UnitOfWork] | None] = contextvars.ContextVar(
    "openilp_unit_of_work", default=None
)


@dataclass
class UnitOfWork:
    """One transaction: the session, who acts, the moment, and the refusals to keep.

    Build it with :meth:`openilp.core.OpenILP.unit_of_work`, never directly.
    """

    session: Session
    actor: UserInfo | None
    #: The core's clock at the start of the unit (aware UTC).
    now: dt.datetime
    _kept: list[Callable[[Session], Any]] = field(default_factory=list)

    def audit(
        self,
        *,
        action: str,
        object_type: str,
        object_id: str | int | None = None,
        purpose: str | None = None,
        details: dict[str, object] | None = None,
        agency_id: int | None = None,
        actor: UserInfo | None = None,
    ) -> AuditEntry:
        """Append an audit entry in this transaction (committed or rolled back with the action).

        The actor defaults to the unit's; pass ``actor`` for entries about someone else (a
        sign-in attempt before the user is known). An entry in a user's name during another site's
        navigation raises :class:`~openilp.errors.ViewFromAnotherSite` (module docstring).
        """
        who = actor if actor is not None else self.actor
        if who is not None and action not in SESSION_ACTIONS and _FOREIGN_NAVIGATION.get():
            raise ViewFromAnotherSite(
                "You opened this page from a link on another site. Viewing it is recorded in the audit log in "
                "your name, so it opens only from OpenILP itself."
            )
        return record_event(
            self.session,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            actor=actor if actor is not None else self.actor,
            purpose=purpose,
            details=details,
            agency_id=agency_id,
            occurred_at=self.now,
        )

    def refuse(
        self,
        error: E,
        *,
        action: str,
        object_type: str,
        object_id: str | int | None = None,
        purpose: str | None = None,
        details: dict[str, object] | None = None,
        agency_id: int | None = None,
    ) -> E:
        """Record an audited refusal that survives the rollback, and return ``error`` to raise.

        >>> # raise uow.refuse(PurposeRequired(msg), action="read_refused", object_type="intel_record")
        """
        actor, now = self.actor, self.now
        entry_details = {"reason": str(error), **(details or {})}

        def write(session: Session) -> None:
            record_event(
                session,
                action=action,
                object_type=object_type,
                object_id=None if object_id is None else str(object_id),
                actor=actor,
                purpose=purpose,
                details=entry_details,
                agency_id=agency_id,
                occurred_at=now,
            )

        self._kept.append(write)
        return error

    def keep_on_failure(self, write: Callable[[Session], Any]) -> None:
        """Run ``write(session)`` even when the action fails (then in its own transaction).

        For state a refusal must change: a failed-attempt counter, a lock after too many tries.
        """
        self._kept.append(write)


@contextmanager
def open_unit_of_work(
    owner: object, engine: Engine, clock: Callable[[], dt.datetime], actor: UserInfo | None
) -> Iterator[UnitOfWork]:
    """The context manager behind :meth:`openilp.core.OpenILP.unit_of_work` (``owner``: the core)."""
    open_units = _CURRENT.get() or {}
    outer = open_units.get(id(owner))
    if outer is not None:
        yield outer  # a nested service call joins the caller's transaction
        return
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    unit = UnitOfWork(session=session, actor=actor, now=clock())
    token = _CURRENT.set({**open_units, id(owner): unit})
    try:
        try:
            yield unit
            for write in unit._kept:
                write(session)
            session.commit()
        except BaseException as failure:
            session.rollback()
            if unit._kept:
                try:
                    with factory() as kept_session:
                        for write in unit._kept:
                            write(kept_session)
                        kept_session.commit()
                except Exception as kept_error:  # the original failure is what the caller must see
                    failure.add_note(f"the refusal could not be written to the audit log: {kept_error}")
            raise
    finally:
        _CURRENT.reset(token)
        session.close()
