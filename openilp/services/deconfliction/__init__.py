"""Officer-safety deconfliction within one store: planned operations checked against each other.

Each public function takes the core, the actor and one request and returns a frozen result with
``as_dict()``. Submitting, listing, cancelling and ending need ``deconfliction:submit``; the watch
centre's queue, acknowledgements and resolutions ``deconfliction:watch``; an exigency waiver
``deconfliction:waive``. A submitted event is also checked against partner instances' active
events (:mod:`~openilp.services.deconfliction.federated`; the partner's side is
:mod:`~openilp.services.deconfliction.partner_answer`); conflicts with partners' events are queued
for the watch centre on both sides (:mod:`~openilp.services.deconfliction.partner_queue`), and
closing an event tells those partners (:mod:`~openilp.services.deconfliction.partner_notices`). The rule is
:mod:`openilp.tasking.deconfliction`; a conflict gives each side only the other's agency and point
of contact, never the other operation's name, place, time or targets.
"""

from openilp.services.deconfliction.closing import CLOSE_OUTCOMES, CloseEventRequest, EventClosed, close_event
from openilp.services.deconfliction.events import (
    ConflictNotice,
    EventList,
    EventSubmitted,
    ListEventsRequest,
    SubmitEventRequest,
    list_events,
    submit_event,
)
from openilp.services.deconfliction.federated import PartnerCheck, PartnerConflict, PartnerUnanswered
from openilp.services.deconfliction.partner_answer import answer_partner_check
from openilp.services.deconfliction.partner_notices import (
    PartnerNotice,
    PartnersNotified,
    answer_partner_closure,
    notify_partners,
)
from openilp.services.deconfliction.partner_queue import (
    acknowledge_partner_conflict,
    resolve_partner_conflict,
    waive_partner_conflict,
)
from openilp.services.deconfliction.purge import LocationsPurged, purge_event_locations
from openilp.services.deconfliction.watch import (
    RESOLUTIONS,
    AcknowledgeRequest,
    ConflictHandled,
    ResolveRequest,
    WaiveRequest,
    WatchQueue,
    WatchQueueRequest,
    acknowledge_conflict,
    resolve_conflict,
    waive_conflict,
    watch_queue,
)

__all__ = [
    "PartnerCheck",
    "PartnerConflict",
    "PartnerUnanswered",
    "answer_partner_check",
    "answer_partner_closure",
    "notify_partners",
    "PartnerNotice",
    "PartnersNotified",
    "acknowledge_partner_conflict",
    "resolve_partner_conflict",
    "waive_partner_conflict",
    "RESOLUTIONS",
    "AcknowledgeRequest",
    "ConflictHandled",
    "LocationsPurged",
    "ResolveRequest",
    "WaiveRequest",
    "WatchQueue",
    "WatchQueueRequest",
    "acknowledge_conflict",
    "purge_event_locations",
    "resolve_conflict",
    "waive_conflict",
    "watch_queue",
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
