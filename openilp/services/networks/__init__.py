"""Networks of people from the store: the chart around a person, group, series or record, and
gang / enterprise designations on documented criteria (never on network association).

Each public function takes the core, the actor and one request and returns a frozen result with
``as_dict()``. Reading needs ``networks:read``; what a viewer sees is limited record by record to
the intelligence they may read (28 CFR Part 23), in :mod:`.sources`.
"""

from openilp.services.networks.charts import (
    EXPORT_FORMATS,
    MAX_CHART_NODES,
    METRICS,
    NetworkChart,
    NetworkRequest,
    network_chart,
)
from openilp.services.networks.designations import (
    DecideDesignationRequest,
    DesignationDecided,
    DesignationList,
    DesignationMade,
    DesignationRequest,
    PurgedDesignations,
    PurgeDesignationsRequest,
    ReviewDesignationRequest,
    decide_designation,
    designate_member,
    list_designations,
    purge_expired_designations,
    review_designation,
)
from openilp.services.networks.sources import (
    IntelRecordLinks,
    LinkSource,
    LinkTables,
    OffenderLinks,
    subject_key,
    visible_record_ids,
)

__all__ = [
    "DecideDesignationRequest",
    "DesignationDecided",
    "DesignationList",
    "DesignationMade",
    "DesignationRequest",
    "PurgeDesignationsRequest",
    "PurgedDesignations",
    "ReviewDesignationRequest",
    "decide_designation",
    "designate_member",
    "list_designations",
    "purge_expired_designations",
    "review_designation",
    "EXPORT_FORMATS",
    "MAX_CHART_NODES",
    "METRICS",
    "IntelRecordLinks",
    "LinkSource",
    "LinkTables",
    "NetworkChart",
    "NetworkRequest",
    "OffenderLinks",
    "network_chart",
    "subject_key",
    "visible_record_ids",
]
