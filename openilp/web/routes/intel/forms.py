"""Reading the HTML submission form of an intelligence record into a :class:`Submission`.

The form has a fixed number of subject rows (no script needed); rows without a name are ignored.
The raw values are kept so a refused form can be shown again exactly as it was filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from fastapi import Form

from openilp.intel.rules import SubjectInput, Submission

__all__ = ["SUBJECT_ROWS", "SubmissionForm", "submission_form", "empty_submission_values"]

#: Subject rows shown on the form.
SUBJECT_ROWS = 5


def empty_submission_values(**overrides: Any) -> dict[str, Any]:
    """The values of an empty form (defaults: permanent file, open, handling code P)."""
    values: dict[str, Any] = {
        "title": "",
        "summary": "",
        "offence_category": "",
        "factual_basis": "",
        "predicate_who": "",
        "predicate_what": "",
        "predicate_when": "",
        "predicate_where": "",
        "source_reference": "",
        "collection_method": "",
        "lawful_collection_attested": False,
        "source_grade": "",
        "information_grade": "",
        "handling_code": "P",
        "handling_conditions": "",
        "sensitivity": "open",
        "tlp": "",
        "control_official_id": "",
        "file_type": "permanent",
        "subjects": [],
        "protected_categories": [],
        "nexus_justification": "",
    }
    values.update(overrides)
    rows = list(values["subjects"])[:SUBJECT_ROWS]
    rows += [{"kind": "person", "role": "criminal_subject", "display_name": "", "identifiers": ""}] * (
        SUBJECT_ROWS - len(rows)
    )
    values["subjects"] = rows
    return values


@dataclass(frozen=True)
class SubmissionForm:
    """A posted submission form: the CSRF token and the raw values."""

    csrf_token: str
    values: dict[str, Any] = field(default_factory=dict)

    def submission(self, grading_scheme: str = "") -> Submission:
        """The values as a :class:`Submission` (the service validates them).

        The form does not ask for the grading scheme: the grades are read in the agency's own
        scheme (``use_agency_scheme`` on the service's request) unless ``grading_scheme`` is given.
        """
        v = self.values
        official = str(v["control_official_id"]).strip()
        return Submission(
            title=v["title"],
            summary=v["summary"],
            offence_category=v["offence_category"],
            factual_basis=v["factual_basis"],
            predicate_who=v["predicate_who"],
            predicate_what=v["predicate_what"],
            predicate_when=v["predicate_when"],
            predicate_where=v["predicate_where"],
            source_reference=v["source_reference"],
            collection_method=v["collection_method"],
            lawful_collection_attested=bool(v["lawful_collection_attested"]),
            grading_scheme=grading_scheme,
            source_grade=v["source_grade"],
            information_grade=v["information_grade"],
            handling_code=v["handling_code"],
            handling_conditions=v["handling_conditions"],
            sensitivity=v["sensitivity"],
            tlp=v.get("tlp", ""),
            control_official_id=int(official) if official.isdigit() and len(official) < 10 else None,
            file_type=v["file_type"],
            subjects=[
                SubjectInput(s["kind"], s["role"], s["display_name"], s["identifiers"])
                for s in v["subjects"]
                if s["display_name"].strip()
            ],
            protected_categories=list(v["protected_categories"]),
            nexus_justification=v["nexus_justification"],
        )


def submission_form(
    csrf_token: str = Form(""),
    title: str = Form(""),
    summary: str = Form(""),
    offence_category: str = Form(""),
    factual_basis: str = Form(""),
    predicate_who: str = Form(""),
    predicate_what: str = Form(""),
    predicate_when: str = Form(""),
    predicate_where: str = Form(""),
    source_reference: str = Form(""),
    collection_method: str = Form(""),
    lawful_collection_attested: str = Form(""),
    source_grade: str = Form(""),
    information_grade: str = Form(""),
    handling_code: str = Form(""),
    handling_conditions: str = Form(""),
    sensitivity: str = Form(""),
    tlp: str = Form("", max_length=20),
    control_official_id: str = Form(""),
    file_type: str = Form("permanent"),
    subject_kind: list[str] = Form([]),
    subject_role: list[str] = Form([]),
    subject_name: list[str] = Form([]),
    subject_identifiers: list[str] = Form([]),
    protected_categories: list[str] = Form([]),
    nexus_justification: str = Form(""),
) -> SubmissionForm:
    """A FastAPI dependency reading the form fields (lengths are checked by the service)."""
    subjects = [
        {"kind": kind, "role": role, "display_name": name, "identifiers": identifiers}
        for kind, role, name, identifiers in zip_longest(
            subject_kind, subject_role, subject_name, subject_identifiers, fillvalue=""
        )
    ]
    return SubmissionForm(
        csrf_token=csrf_token,
        values={
            "title": title,
            "summary": summary,
            "offence_category": offence_category,
            "factual_basis": factual_basis,
            "predicate_who": predicate_who,
            "predicate_what": predicate_what,
            "predicate_when": predicate_when,
            "predicate_where": predicate_where,
            "source_reference": source_reference,
            "collection_method": collection_method,
            "lawful_collection_attested": lawful_collection_attested == "yes",
            "source_grade": source_grade,
            "information_grade": information_grade,
            "handling_code": handling_code,
            "handling_conditions": handling_conditions,
            "sensitivity": sensitivity,
            "tlp": tlp,
            "control_official_id": control_official_id,
            "file_type": file_type,
            "subjects": subjects,
            "protected_categories": protected_categories,
            "nexus_justification": nexus_justification,
        },
    )
