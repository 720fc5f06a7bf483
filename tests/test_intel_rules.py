"""Pure intelligence rules: predicate gate, labels, grading schemes, protected activity, retention."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from intel_support import submission

from openilp.intel.grading import SCHEMES, check_grading
from openilp.intel.retention import add_years, retention_end, review_due_at
from openilp.intel.rules import SubjectInput, SubmissionError, validate_submission

UTC = dt.UTC


def test_a_complete_submission_passes() -> None:
    validate_submission(submission(1))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("offence_category", "", "offence_category is required"),
        ("factual_basis", "", "factual_basis is required"),
        ("factual_basis", "he is bad", "at least 20 characters"),
        ("factual_basis", "x" * 20, "state the facts in words"),
        ("factual_basis", "xxxxxx xxxxxx xxxxxx xxxxxx", "state the facts in words"),
        ("predicate_who", "", "who is required"),
        ("predicate_what", " ", "what is required"),
        ("predicate_when", "", "when is required"),
        ("predicate_where", "", "where is required"),
        ("predicate_who", "x", "who must state a fact"),
        ("predicate_where", "----", "where must state a fact"),
        ("predicate_when", "y" * 201, "too long"),
        ("source_reference", " ", "source_reference is required"),
        ("lawful_collection_attested", False, "lawfully collected"),
        ("collection_method", "warrantless_intercept", "unlawful"),
        ("collection_method", "guesswork", "collection_method"),
        ("source_grade", "", "source reliability"),
        ("information_grade", "9", "information validity"),
        ("handling_code", "", "handling code"),
        ("handling_code", "C", "conditions"),
        ("sensitivity", "secret", "sensitivity"),
        ("control_official_id", None, "control official"),
        ("title", "", "title is required"),
        ("title", "x" * 201, "too long"),
        ("summary", "x" * 10_001, "too long"),
        ("file_type", "forever", "file_type"),
        ("grading_scheme", "5x5x5", "unknown grading scheme"),
        ("title", 42, "must be text"),
    ],
)
def test_each_missing_predicate_or_label_is_rejected(field: str, value: object, message: str) -> None:
    with pytest.raises(SubmissionError, match=message):
        validate_submission(dataclasses.replace(submission(1), **{field: value}))  # type: ignore[arg-type]


def test_non_criminal_identifiers_alone_suspect_nobody() -> None:
    only_identifier = [SubjectInput("vehicle", "non_criminal_identifier", "Grey Honda", "plate ABC123")]
    with pytest.raises(SubmissionError, match="at least one criminal subject"):
        validate_submission(submission(1, subjects=only_identifier))


def test_unknown_subject_role_is_rejected() -> None:
    with pytest.raises(SubmissionError, match="subject role"):
        validate_submission(submission(1, subjects=[SubjectInput("person", "suspect?", "X")]))


def test_protected_activity_needs_a_nexus() -> None:
    with pytest.raises(SubmissionError, match="nexus_justification"):
        validate_submission(submission(1, protected_categories=["protest"]))
    with pytest.raises(SubmissionError, match="nexus_justification"):
        validate_submission(submission(1, protected_categories=["religious"], nexus_justification="because"))
    validate_submission(
        submission(
            1,
            protected_categories=["protest"],
            nexus_justification="The subject organised arson attacks under cover of the 3 May protest.",
        )
    )
    with pytest.raises(SubmissionError, match="protected category"):
        validate_submission(submission(1, protected_categories=["hobbies"], nexus_justification="x" * 40))


def test_uk_3x5x2_grades() -> None:
    check_grading("uk_3x5x2", "2", "B")
    with pytest.raises(ValueError):
        check_grading("uk_3x5x2", "B", "2")
    validate_submission(submission(1, grading_scheme="uk_3x5x2", source_grade="1", information_grade="A"))
    assert set(SCHEMES) == {"admiralty", "uk_3x5x2"}


def test_retention_never_exceeds_five_years_or_one_for_temporary_files() -> None:
    start = dt.datetime(2024, 2, 29, 9, tzinfo=UTC)
    assert retention_end(start, "permanent") == dt.datetime(2029, 2, 28, 9, tzinfo=UTC)
    assert retention_end(start, "temporary") == dt.datetime(2025, 2, 28, 9, tzinfo=UTC)
    assert retention_end(start, "permanent", requested_days=10_000) == dt.datetime(2029, 2, 28, 9, tzinfo=UTC)
    assert retention_end(start, "temporary", requested_days=30) == start + dt.timedelta(days=30)
    with pytest.raises(ValueError):
        retention_end(start, "permanent", requested_days=0)
    with pytest.raises(ValueError):
        retention_end(start.replace(tzinfo=None), "permanent")
    assert review_due_at(dt.datetime(2029, 2, 28, tzinfo=UTC)) == dt.datetime(2028, 11, 30, tzinfo=UTC)


@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)),
    st.sampled_from(["permanent", "temporary"]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=5000)),
)
def test_retention_invariant(start: dt.datetime, file_type: str, days: int | None) -> None:
    aware = start.replace(tzinfo=UTC)
    end = retention_end(aware, file_type, days)
    years = 1 if file_type == "temporary" else 5
    assert aware < end <= add_years(aware, years)
    assert end - aware <= dt.timedelta(days=366 * years)
