"""The intelligence record as a JSON document: what the API sends, search hits carry and STIX reads.

A record's document is an external document (its keys are the API's, documented in
``docs/intel.md``), so it is typed as a :class:`~typing.TypedDict` rather than a dataclass: the
service builds it once (:func:`openilp.services.intel.reading.record_dict`) and every shell sends it
unchanged. The keys a release can withhold (:data:`openilp.services.intel.common.ITEM_FIELDS`) and
those a purged or rejected record no longer has are ``NotRequired``.

>>> sorted(RecordDocument.__required_keys__)[:3]
['agency', 'approved_at', 'control_official']
>>> "subjects" in RecordDocument.__optional_keys__
True
"""

# No ``from __future__ import annotations`` here: TypedDict reads NotRequired[...] when the class
# is made (Python 3.11), so its annotations must be evaluated, not kept as text.
from typing import NotRequired, TypedDict

__all__ = [
    "AgencyReference",
    "GradingDocument",
    "PredicateDocument",
    "RecordDocument",
    "ReviewDocument",
    "SubjectDocument",
]


class AgencyReference(TypedDict):
    """The owning agency: id and name."""

    id: int
    name: str


class GradingDocument(TypedDict):
    """The record's evaluation: scheme, source and information grades, and their label (e.g. B2)."""

    scheme: str
    source: str
    information: str
    label: str


class SubjectDocument(TypedDict):
    """A criminal subject or (owning agency only) non-criminal identifying information."""

    id: int
    kind: str
    name: str
    identifiers: str


class PredicateDocument(TypedDict):
    """The criminal predicate: who, what, when, where (28 CFR 23.20(a))."""

    who: str
    what: str
    when: str
    where: str


class ReviewDocument(TypedDict):
    """One review decision on the record."""

    decision: str
    reviewer: str
    decided_at: str
    reason: str
    predicate_checked: bool


class RecordDocument(TypedDict):
    """One intelligence record as JSON, in the order the API sends its keys."""

    id: int
    status: str
    file_type: str
    agency: AgencyReference
    control_official: str
    submitted_at: str
    approved_at: str | None
    retention_expires_at: str | None
    purged_at: str | None
    #: Withheld unless the release opens the ``labels`` item.
    sensitivity: NotRequired[str]
    grading: NotRequired[GradingDocument]
    handling_code: NotRequired[str]
    #: The TLP 2.0 marking: always travels with the record, released or not (it says how far it may go).
    tlp: str
    handling_conditions: str
    #: Absent once the record is purged or rejected; withheld unless the release opens ``summary``.
    title: NotRequired[str]
    summary: NotRequired[str]
    offence_category: NotRequired[str | None]
    #: Absent once purged or rejected; withheld unless the release opens ``subjects``.
    subjects: NotRequired[list[SubjectDocument]]
    #: The owning agency's full view only.
    factual_basis: NotRequired[str]
    predicate: NotRequired[PredicateDocument]
    source_reference: NotRequired[str]
    collection_method: NotRequired[str]
    submitter: NotRequired[str]
    approved_by: NotRequired[str]
    protected_categories: NotRequired[list[str]]
    nexus_justification: NotRequired[str]
    nexus_approved_by: NotRequired[str]
    identifying_information: NotRequired[list[SubjectDocument]]
    reviews: NotRequired[list[ReviewDocument]]
