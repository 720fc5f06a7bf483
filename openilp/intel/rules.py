"""The submission rules of a criminal intelligence record (28 CFR 23.20(a)–(d), (g)), as pure checks.

A submission becomes criminal intelligence only with a **criminal predicate**: an offence category,
a written factual basis for reasonable suspicion that states its facts in four structured fields
(**who** is suspected, **what** criminal conduct, **when** and **where**), a submitter, a
reference to the source document the submitting agency keeps in its own files (23.20(n)) and an
attestation that the information was lawfully collected (23.20(d)). Every record carries the
labels of 23.20(g): source reliability and information validity (in the agency's grading scheme),
handling code, sensitivity, submitting agency and control official.

Political, religious or social views, associations or activities (23.20(b)) may be recorded only
when they relate directly to criminal conduct: such a submission needs a written **nexus
justification**, and a second person must approve it (enforced at approval, see
:mod:`openilp.services.intel.records`).

Subjects have a **role**: ``criminal_subject`` (reasonably suspected) or ``non_criminal_identifier``
(a vehicle owner, a business the subject uses: entered only to identify, never shown or returned
as a subject; 1998 Policy Clarification, 63 FR 71752).

>>> s = Submission(title="Cocaine supply, north side", summary="...", offence_category="drugs",
...     factual_basis="Two controlled buys on 3 and 10 May from the subject at 100 Main St.",
...     predicate_who="John Doe", predicate_what="Sells cocaine (two controlled buys)",
...     predicate_when="3 and 10 May 2024", predicate_where="100 Main St.",
...     source_reference="SLMPD file 19-1234", collection_method="informant",
...     lawful_collection_attested=True, grading_scheme="admiralty", source_grade="B",
...     information_grade="2", handling_code="P", sensitivity="open", control_official_id=7,
...     subjects=[SubjectInput("person", "criminal_subject", "John Doe", "DOB 1980-01-01")])
>>> validate_submission(s)
>>> import dataclasses
>>> validate_submission(dataclasses.replace(s, factual_basis=""))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
openilp.intel.rules.SubmissionError: no criminal predicate: factual_basis is required ...
>>> validate_submission(dataclasses.replace(s, predicate_where=""))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
openilp.intel.rules.SubmissionError: no criminal predicate: where is required ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from openilp.errors import InvalidRequest
from openilp.intel.grading import DEFAULT_SCHEME, HANDLING_CODES, check_handling, grading_errors
from openilp.intel.markings import parse_tlp

__all__ = [
    "SubmissionError",
    "SubjectInput",
    "Submission",
    "SUBJECT_KINDS",
    "SUBJECT_ROLES",
    "SENSITIVITIES",
    "FILE_TYPES",
    "COLLECTION_METHODS",
    "FORBIDDEN_COLLECTION_METHODS",
    "PROTECTED_CATEGORIES",
    "MIN_FACTUAL_BASIS_CHARS",
    "PREDICATE_FACTS",
    "MIN_NEXUS_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_SUBJECTS",
    "validate_submission",
    "submission_field_errors",
    "check_predicate_facts",
    "clean_text",
]

#: What a subject is.
SUBJECT_KINDS: dict[str, str] = {
    "person": "Person",
    "organisation": "Organisation",
    "vehicle": "Vehicle",
    "location": "Location",
}
#: How a subject relates to the suspected criminal activity.
SUBJECT_ROLES: dict[str, str] = {
    "criminal_subject": "Criminal subject (reasonably suspected)",
    "non_criminal_identifier": "Non-criminal identifying information (never a subject)",
}
#: How a record is released on a hit from outside the owning agency (28 CFR Part 23 FAQ).
SENSITIVITIES: dict[str, str] = {
    "open": "Open: the file may be released to an authorised inquirer",
    "agency_name_only": "Agency name only: a hit returns the owning agency and contact",
    "restricted": "Restricted: no hit is shown; the owning agency is notified",
}
#: Permanent criminal intelligence (≤ 5 years per period) or a temporary working file (≤ 1 year).
FILE_TYPES: dict[str, str] = {
    "permanent": "Criminal intelligence (retention up to 5 years)",
    "temporary": "Temporary working file (retention up to 1 year, never disseminated)",
}
#: How the information was obtained.
COLLECTION_METHODS: dict[str, str] = {
    "officer_observation": "Officer observation",
    "informant": "Informant / confidential source",
    "public_record": "Public record or open source",
    "interview": "Interview or statement",
    "court_order": "Court order or warrant",
    "tip": "Community tip or suspicious-activity report",
    "partner_agency": "Partner agency",
    "other_lawful": "Other lawful method",
}
#: Methods that are never lawful and are hard-blocked (23.20(d), (k)).
FORBIDDEN_COLLECTION_METHODS: frozenset[str] = frozenset({"warrantless_intercept", "unlawful_search"})
#: Protected-activity categories (23.20(b)): blocked unless tied to criminal conduct.
PROTECTED_CATEGORIES: dict[str, str] = {
    "political": "Political views, affiliation or activity",
    "religious": "Religious views, affiliation or activity",
    "social": "Social views or activity",
    "association": "Associations or membership",
    "protest": "Protest or other First Amendment activity",
}

MIN_FACTUAL_BASIS_CHARS = 20
#: Distinct letters or digits a factual basis needs (twenty x's state no fact).
MIN_FACTUAL_BASIS_DISTINCT = 6
#: The structured facts of the predicate: field -> (the word shown, what it asks for).
PREDICATE_FACTS: dict[str, tuple[str, str]] = {
    "predicate_who": ("who", "the person or group reasonably suspected"),
    "predicate_what": ("what", "the criminal conduct suspected"),
    "predicate_when": ("when", "the date or period of the conduct"),
    "predicate_where": ("where", "the place, area or online location of the conduct"),
}
#: Characters and distinct letters or digits each structured fact needs.
MIN_FACT_CHARS = 2
MIN_FACT_DISTINCT = 2
MIN_NEXUS_CHARS = 20
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 10_000
MAX_NAME_CHARS = 200
MAX_SHORT_CHARS = 200
MAX_SUBJECTS = 50


class SubmissionError(InvalidRequest):
    """A submission breaks a rule; the message says which and why, ``field`` the form field at fault."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SubjectInput:
    """A subject as submitted: kind, role, the name shown and free-text identifiers."""

    kind: str
    role: str
    display_name: str
    identifiers: str = ""


@dataclass(frozen=True)
class Submission:
    """Everything a submitter provides for one intelligence record."""

    title: str
    summary: str
    offence_category: str
    factual_basis: str
    source_reference: str
    collection_method: str
    lawful_collection_attested: bool
    grading_scheme: str
    source_grade: str
    information_grade: str
    handling_code: str
    sensitivity: str
    control_official_id: int | None
    handling_conditions: str = ""
    file_type: str = "permanent"
    subjects: Sequence[SubjectInput] = field(default_factory=tuple)
    protected_categories: Sequence[str] = field(default_factory=tuple)
    nexus_justification: str = ""
    #: The structured facts of the predicate (:data:`PREDICATE_FACTS`), each required.
    predicate_who: str = ""
    predicate_what: str = ""
    predicate_when: str = ""
    predicate_where: str = ""
    #: TLP 2.0 marking (:mod:`openilp.intel.markings`); empty = TLP:RED when restricted, else TLP:AMBER.
    tlp: str = ""


def clean_text(value: object, name: str, max_chars: int, *, required: bool = False) -> str:
    """``value`` stripped of surrounding space and NUL characters, checked for type and length.

    >>> clean_text("  hi ", "title", 10)
    'hi'
    >>> clean_text("x" * 11, "title", 10)
    Traceback (most recent call last):
    ...
    openilp.intel.rules.SubmissionError: title is too long (11 characters; at most 10)
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise SubmissionError(f"{name} must be text")
    text = value.replace("\x00", "").strip()
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise SubmissionError(f"{name} is not valid Unicode text (a lone surrogate)") from None
    if len(text) > max_chars:
        raise SubmissionError(f"{name} is too long ({len(text)} characters; at most {max_chars})")
    if required and not text:
        raise SubmissionError(f"{name} is required")
    return text


def _distinct_alnum(text: str) -> int:
    return len({c.casefold() for c in text if c.isalnum()})


def check_predicate_facts(submission: Submission) -> dict[str, str]:
    """The structured facts of the predicate (who, what, when, where), cleaned; each is required.

    >>> facts = check_predicate_facts(Submission("t", "s", "drugs", "b", "r", "informant", True, "admiralty",
    ...     "B", "2", "P", "open", 1, predicate_who="J. Doe", predicate_what="sells cocaine",
    ...     predicate_when="May 2024", predicate_where=" 100 Main St. "))
    >>> facts["predicate_where"]
    '100 Main St.'
    """
    return {name: _fact(submission, name) for name in PREDICATE_FACTS}


def _fact(submission: Submission, name: str) -> str:
    word, asks = PREDICATE_FACTS[name]
    text = clean_text(getattr(submission, name), name, MAX_SHORT_CHARS)
    if not text:
        raise SubmissionError(f"no criminal predicate: {word} is required ({name}: {asks})")
    if len(text) < MIN_FACT_CHARS or _distinct_alnum(text) < MIN_FACT_DISTINCT:
        raise SubmissionError(f"no criminal predicate: {word} must state a fact ({name}: {asks})")
    return text


def _choice(value: str, name: str, choices: dict[str, str] | frozenset[str]) -> None:
    if value not in choices:
        raise SubmissionError(f"{name} {value!r} is not one of: {', '.join(choices)}")


def validate_submission(submission: Submission) -> None:
    """Raise :class:`SubmissionError` unless ``submission`` meets every submission rule.

    Checks, in order: the criminal predicate (offence category, factual basis of at least
    :data:`MIN_FACTUAL_BASIS_CHARS` characters in words, the structured facts who, what, when and
    where of :data:`PREDICATE_FACTS`, source reference, lawful-collection attestation and
    a lawful method), the labels (grading scheme and grades, handling code and conditions,
    sensitivity, control official), the subjects (at least one criminal subject: a record made of
    non-criminal identifiers only suspects nobody) and protected activity (a nexus justification of
    at least :data:`MIN_NEXUS_CHARS` characters). Text lengths are bounded. Whether the offence
    category exists is checked against the database by the service.
    """
    for _, check in _CHECKS:
        check(submission)


def submission_field_errors(submission: Submission) -> dict[str, str]:
    """Every rule of :func:`validate_submission` that ``submission`` breaks, by form field name.

    :func:`validate_submission` stops at the first broken rule; a form shows them all at once, each
    next to its control (``subjects`` for the subject rows). Empty when the submission passes.

    >>> s = Submission("", "s", "drugs", "too short", "", "informant", False, "admiralty", "B", "2",
    ...     "P", "open", 1, subjects=[SubjectInput("person", "criminal_subject", "J. Doe")],
    ...     predicate_who="J. Doe", predicate_what="sells cocaine", predicate_when="May 2024",
    ...     predicate_where="100 Main St.")
    >>> sorted(submission_field_errors(s))
    ['factual_basis', 'lawful_collection_attested', 'source_reference', 'title']
    """
    errors: dict[str, str] = {}
    for name, check in _CHECKS:
        if name in errors:
            continue
        try:
            check(submission)
        except ValueError as exc:
            errors[name] = str(exc)
    return errors


def _required_text(name: str, max_chars: int) -> Callable[[Submission], None]:
    def check(s: Submission) -> None:
        clean_text(getattr(s, name), name, max_chars, required=True)

    return check


def _offence_category(s: Submission) -> None:
    if not clean_text(s.offence_category, "offence_category", 40):
        raise SubmissionError("no criminal predicate: offence_category is required")


def _factual_basis(s: Submission) -> None:
    basis = clean_text(s.factual_basis, "factual_basis", MAX_TEXT_CHARS)
    if not basis:
        raise SubmissionError(
            "no criminal predicate: factual_basis is required (the facts that give reasonable suspicion)"
        )
    if len(basis) < MIN_FACTUAL_BASIS_CHARS:
        raise SubmissionError(
            f"no criminal predicate: factual_basis must state the facts (at least {MIN_FACTUAL_BASIS_CHARS} characters)"
        )
    if _distinct_alnum(basis) < MIN_FACTUAL_BASIS_DISTINCT or len(basis.split()) < 3:
        raise SubmissionError(
            "no criminal predicate: factual_basis must state the facts in words (who did what, when and where)"
        )


def _source_reference(s: Submission) -> None:
    if not clean_text(s.source_reference, "source_reference", MAX_SHORT_CHARS):
        raise SubmissionError(
            "no criminal predicate: source_reference is required (your agency's file number, 23.20(n))"
        )


def _collection_method(s: Submission) -> None:
    if s.collection_method in FORBIDDEN_COLLECTION_METHODS:
        raise SubmissionError(
            f"collection method {s.collection_method!r} is unlawful and cannot be recorded (23.20(d))"
        )
    _choice(s.collection_method, "collection_method", COLLECTION_METHODS)


def _attestation(s: Submission) -> None:
    if s.lawful_collection_attested is not True:
        raise SubmissionError("the submitter must attest that the information was lawfully collected (23.20(d))")


def _grade(part: str) -> Callable[[Submission], None]:
    def check(s: Submission) -> None:
        errors = grading_errors(s.grading_scheme or DEFAULT_SCHEME, s.source_grade, s.information_grade)
        if part in errors:
            raise SubmissionError(errors[part])

    return check


def _handling_code(s: Submission) -> None:
    if s.handling_code not in HANDLING_CODES:
        try:
            check_handling(s.handling_code, "")
        except ValueError as exc:
            raise SubmissionError(str(exc)) from exc


def _handling_conditions(s: Submission) -> None:
    conditions = clean_text(s.handling_conditions, "handling_conditions", MAX_TEXT_CHARS)
    if s.handling_code in HANDLING_CODES:
        try:
            check_handling(s.handling_code, conditions)
        except ValueError as exc:
            raise SubmissionError(str(exc)) from exc


def _tlp(s: Submission) -> None:
    if s.tlp:
        try:
            parse_tlp(s.tlp)
        except InvalidRequest as exc:
            raise SubmissionError(str(exc)) from None


def _control_official(s: Submission) -> None:
    if not isinstance(s.control_official_id, int):
        raise SubmissionError("a control official is required (23.20(g))")


def _subjects(s: Submission) -> None:
    if len(s.subjects) > MAX_SUBJECTS:
        raise SubmissionError(f"at most {MAX_SUBJECTS} subjects per record")
    for subject in s.subjects:
        _choice(subject.kind, "subject kind", SUBJECT_KINDS)
        _choice(subject.role, "subject role", SUBJECT_ROLES)
        clean_text(subject.display_name, "subject name", MAX_NAME_CHARS, required=True)
        clean_text(subject.identifiers, "subject identifiers", MAX_SHORT_CHARS)
    if not any(subject.role == "criminal_subject" for subject in s.subjects):
        raise SubmissionError(
            "a record needs at least one criminal subject; non-criminal identifiers alone suspect nobody"
        )


def _protected_categories(s: Submission) -> None:
    for category in s.protected_categories:
        _choice(category, "protected category", PROTECTED_CATEGORIES)


def _nexus(s: Submission) -> None:
    if s.protected_categories:
        nexus = clean_text(s.nexus_justification, "nexus_justification", MAX_TEXT_CHARS)
        if len(nexus) < MIN_NEXUS_CHARS:
            raise SubmissionError(
                "protected activity (political, religious or social views, associations or activities) may be "
                "recorded only with a written justification of its direct relation to criminal conduct "
                f"(nexus_justification, at least {MIN_NEXUS_CHARS} characters; 28 CFR 23.20(b))"
            )


def _fact_check(name: str) -> Callable[[Submission], None]:
    def check(s: Submission) -> None:
        _fact(s, name)

    return check


#: The submission rules in the order :func:`validate_submission` applies them, by form field.
_CHECKS: tuple[tuple[str, Callable[[Submission], None]], ...] = (
    ("title", _required_text("title", MAX_TITLE_CHARS)),
    ("summary", _required_text("summary", MAX_TEXT_CHARS)),
    ("offence_category", _offence_category),
    ("factual_basis", _factual_basis),
    *((name, _fact_check(name)) for name in PREDICATE_FACTS),
    ("source_reference", _source_reference),
    ("collection_method", _collection_method),
    ("lawful_collection_attested", _attestation),
    ("source_grade", _grade("source_grade")),
    ("information_grade", _grade("information_grade")),
    ("handling_code", _handling_code),
    ("handling_conditions", _handling_conditions),
    ("sensitivity", lambda s: _choice(s.sensitivity, "sensitivity", SENSITIVITIES)),
    ("tlp", _tlp),
    ("file_type", lambda s: _choice(s.file_type, "file_type", FILE_TYPES)),
    ("control_official_id", _control_official),
    ("subjects", _subjects),
    ("protected_categories", _protected_categories),
    ("nexus_justification", _nexus),
)
