"""Officer-safety deconfliction within one store: planned operations checked against each other.

Each public function takes the core, the actor and one request and returns a frozen result with
``as_dict()``. Submitting, listing, cancelling and ending need ``deconfliction:submit``. The rule is
:mod:`openilp.tasking.deconfliction`; a conflict gives each side only the other's agency and point
of contact, never the other operation's name, place, time or targets.
"""

from openilp.services.deconfliction.events import (
    CLOSE_OUTCOMES,
    CloseEventRequest,
    ConflictNotice,
    EventClosed,
    EventList,
    EventSubmitted,
    ListEventsRequest,
    SubmitEventRequest,
    close_event,
    list_events,
    submit_event,
)

__all__ = [
    "CLOSE_OUTCOMES",
    "CloseEventRequest",
    "ConflictNotice",
    "EventClosed",
    "EventList",
    "EventSubmitted",
    "ListEventsRequest",
    "SubmitEventRequest",
    "close_event",
    "list_events",
    "submit_event",
]
