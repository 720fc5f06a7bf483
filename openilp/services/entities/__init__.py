"""Entities: person files read into mentions, mentions resolved into entities with stable ids.

* :mod:`~openilp.services.entities.imports` — a person file through its TOML mapping
  (``openilp entities import``), idempotent and atomic per file;
* :mod:`~openilp.services.entities.resolve` — training, scoring and clustering with stable ids
  (``openilp entities resolve``);
* :mod:`~openilp.services.entities.resolve_things` — vehicles, phones, handles, addresses and
  organisations by match keys, with reader-confusion and partial matches sent to review;
* :mod:`~openilp.services.entities.review` — the review queue and decisions that override the
  model (``openilp entities review``);
* :mod:`~openilp.services.entities.reading` — one entity, the CSV export, the search, each
  showing only the mentions the viewer may see (``openilp entities show|export``);
* :mod:`~openilp.services.entities.mentions` — intelligence subjects kept as mentions;
* :mod:`~openilp.services.entities.backfill` — memberships for designations approved before
  they existed (``openilp entities backfill-memberships``);
* :mod:`~openilp.services.entities.common` — permissions, the agency, mentions as person frames.

Every public function takes the core object, the acting user (None: the command line) and one
request, and returns a frozen result with ``as_dict()``. Importing and resolving need
``entities:write``, deciding pairs ``entities:review``, reading ``entities:read``; everything is
limited to the actor's agency and audited.
"""

from openilp.services.entities.backfill import (
    BackfillMembershipsRequest,
    BackfillMembershipsResult,
    backfill_memberships,
)
from openilp.services.entities.imports import ImportPersonsRequest, ImportPersonsResult, import_persons
from openilp.services.entities.reading import (
    EXPORT_COLUMNS,
    EntityDetail,
    EntitySearchResult,
    ExportRequest,
    MentionExport,
    SearchEntitiesRequest,
    ShowEntityRequest,
    export_mentions,
    search_entities,
    show_entity,
)
from openilp.services.entities.resolve import ResolveRequest, ResolveResult, resolve_entities
from openilp.services.entities.resolve_things import ResolveThingsRequest, ResolveThingsResult, resolve_things
from openilp.services.entities.review import (
    DECISIONS,
    DecideRequest,
    DecisionResult,
    ReviewQueue,
    ReviewQueueRequest,
    decide_pair,
    review_queue,
)
from openilp.services.entities.tips import NameInTipRequest, TipMentions, name_in_tip

__all__ = [
    "BackfillMembershipsRequest",
    "BackfillMembershipsResult",
    "backfill_memberships",
    "DECISIONS",
    "EXPORT_COLUMNS",
    "DecideRequest",
    "DecisionResult",
    "EntityDetail",
    "EntitySearchResult",
    "ExportRequest",
    "ImportPersonsRequest",
    "ImportPersonsResult",
    "MentionExport",
    "NameInTipRequest",
    "TipMentions",
    "name_in_tip",
    "ResolveRequest",
    "ResolveResult",
    "ResolveThingsRequest",
    "ResolveThingsResult",
    "ReviewQueue",
    "ReviewQueueRequest",
    "SearchEntitiesRequest",
    "ShowEntityRequest",
    "decide_pair",
    "export_mentions",
    "import_persons",
    "resolve_entities",
    "resolve_things",
    "review_queue",
    "search_entities",
    "show_entity",
]
