"""Cancel or end a deconfliction event, and tell the partners that were told of its conflicts.

``close_event`` cancels or ends one of the agency's active events (audited
``deconfliction_event_cancelled`` / ``deconfliction_event_ended``); a closed event is no longer
checked against. In the same transaction its conflicts with partner instances' events are marked
closed and a notice to each of those partners pending
(:func:`~openilp.services.deconfliction.partner_notices.mark_event_closed`); after it, the pending
notices are sent, signed, with bounded waits
(:func:`~openilp.services.deconfliction.partner_notices.notify_partners`). A partner that does not
answer is named in ``partners`` and told later; the closure itself never waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from openilp.core.contract import Request, Result, require
from openilp.errors import NotFound
from openilp.services.deconfliction.common import permitted
from openilp.services.deconfliction.partner_notices import PartnersNotified, mark_event_closed, notify_partners

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = ["CLOSE_OUTCOMES", "CloseEventRequest", "EventClosed", "close_event"]

PERMISSION = "deconfliction:submit"
#: How an active event is closed.
CLOSE_OUTCOMES = ("cancelled", "ended")


@dataclass(frozen=True)
class CloseEventRequest(Request):
    """Cancel or end one of the agency's active events, with an optional reason."""

    event_id: int
    outcome: str = "cancelled"
    reason: str = ""

    def validate(self) -> CloseEventRequest:
        require(self.outcome in CLOSE_OUTCOMES, f"outcome: choose {' or '.join(CLOSE_OUTCOMES)}")
        require(len(self.reason) <= 1000, "reason: at most 1,000 characters")
        return self


@dataclass(frozen=True)
class EventClosed(Result):
    event_id: int
    status: str
    #: The closure notices to partner instances (those told, and those still to be told).
    partners: PartnersNotified = PartnersNotified()


def close_event(core: OpenILP, actor: UserInfo | None, request: CloseEventRequest) -> EventClosed:
    """Cancel or end an active event of the actor's agency (audited); tell partners (module notes)."""
    from openilp.db.deconfliction_models import DeconflictionEvent

    request = request.validate()
    with core.unit_of_work(actor) as uow:
        actor = permitted(uow, actor, PERMISSION, "cancel or end deconfliction events", "deconfliction_event")
    with core.unit_of_work(actor) as uow:
        row = uow.session.get(DeconflictionEvent, request.event_id)
        if row is None or row.agency_id != actor.agency_id or row.status != "active":
            raise NotFound(f"no active deconfliction event {request.event_id} in your agency")
        row.status = request.outcome
        row.closed_at = uow.now
        row.closed_by_id = actor.id
        partners_to_tell = mark_event_closed(uow, row.id, request.outcome)
        uow.audit(
            action=f"deconfliction_event_{request.outcome}",
            object_type="deconfliction_event",
            object_id=row.id,
            details={"reason": request.reason.strip(), "partners_to_tell": partners_to_tell},
            agency_id=actor.agency_id,
        )
    partners = notify_partners(core, actor) if partners_to_tell else PartnersNotified()
    return EventClosed(event_id=request.event_id, status=request.outcome, partners=partners)
