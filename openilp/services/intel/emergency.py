"""Imminent-danger release of an assessment (28 CFR 23.20(f)(2)).

The regulation lets a project disseminate "an assessment of criminal intelligence information to
a government official or to any other individual, when necessary, to avoid imminent danger to
life or property". This is an explicit, separate mode, not a way round the ordinary checks of
:func:`openilp.services.intel.dissemination.disseminate`:

* only supervisors and reviewers (``intel:emergency_release``) of the owning agency may use it;
* a written **justification** of the imminent danger is required (a missing one is refused and
  the refusal audited, as a missing purpose is);
* what leaves is an **assessment** the releaser writes, never the raw file: no factual basis,
  source or identifying information is attached;
* the recipient may be anyone (no agreement, no law-enforcement role), named with their position
  or organisation and how they were reached;
* the dissemination log row is flagged (``kind`` "emergency", ``imminent_danger`` True), the audit
  action is ``emergency_release``, and the record's control official and submitter are notified
  so the release is reviewed after the fact. Corrections and purges later tell the control
  official to advise the recipient by hand (:func:`openilp.services.intel.common.notify_past_recipients`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from openilp.core import OpenILP, Request
from openilp.db.models import IntelDissemination
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.rules import MAX_TEXT_CHARS, SubmissionError, clean_text
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import FieldError
from openilp.services.intel.common import checked_purpose, load_record, notify, require_permission
from openilp.services.intel.dissemination import Release

__all__ = ["MIN_JUSTIFICATION_CHARS", "MIN_ASSESSMENT_CHARS", "EmergencyReleaseRequest", "emergency_release"]

#: Shortest justification of the imminent danger, in characters.
MIN_JUSTIFICATION_CHARS = 20
#: Shortest assessment, in characters.
MIN_ASSESSMENT_CHARS = 20


def _field(value: object, field: str, max_chars: int, min_chars: int) -> str:
    try:
        text = clean_text(value, field, max_chars)
    except SubmissionError as exc:
        raise FieldError(field, str(exc).removeprefix(f"{field} ")) from None
    if len(text) < min_chars:
        raise FieldError(field, f"is required (at least {min_chars} characters)")
    return text


@dataclass(frozen=True)
class EmergencyReleaseRequest(Request):
    """An imminent-danger release: the justification, who receives it and the assessment written."""

    record_id: int
    justification: str | None = None
    recipient_name: str = ""
    recipient_organisation: str = ""
    assessment: str = ""


def emergency_release(core: OpenILP, actor: UserInfo, request: EmergencyReleaseRequest) -> Release:
    """Release an assessment of a record to avoid imminent danger to life or property.

    Raises
    ------
    PurposeRequired
        No justification (the refusal is audited as ``emergency_release_refused`` and kept).
    FieldError
        Justification, recipient or assessment missing or too short (``field`` names which).
    IntelForbidden
        The actor is not a supervisor or reviewer, or the record is not approved and unexpired.
    IntelNotFound
        No such record in the actor's agency.
    """
    request = request.validate()
    require_permission(actor, "intel:emergency_release")
    with core.unit_of_work(actor) as uow:
        session, now = uow.session, uow.now
        record = load_record(session, request.record_id)
        if record.agency_id != actor.agency_id:
            raise IntelNotFound("no such record")
        justification = request.justification
        stated = justification.strip()[:500] if isinstance(justification, str) else justification
        reason = checked_purpose(
            uow, stated, action="emergency_release", object_type="intel_record", object_id=record.id
        )
        why = _field(justification, "justification", MAX_TEXT_CHARS, MIN_JUSTIFICATION_CHARS)
        if record.status != "approved" or record.retention_expires_at is None or record.retention_expires_at <= now:
            raise IntelForbidden(
                "only approved, unexpired intelligence can be assessed for release (this record is not)"
            )
        name = _field(request.recipient_name, "recipient_name", 120, 2)
        organisation = _field(request.recipient_organisation, "recipient_organisation", 78, 2)
        text = _field(request.assessment, "assessment", MAX_TEXT_CHARS, MIN_ASSESSMENT_CHARS)
        release = IntelDissemination(
            record_id=record.id,
            kind="emergency",
            imminent_danger=True,
            released_by_id=actor.id,
            recipient_agency_id=None,
            recipient_user_id=None,
            recipient_name=f"{name} ({organisation})",
            reason=reason,
            need_to_know=why,
            items=json.dumps(["assessment"]),
            assessment=text,
            handling_conditions=record.handling_conditions,
            released_at=now,
        )
        session.add(release)
        session.flush()
        owners = dict.fromkeys(i for i in (record.control_official_id, record.submitter_id) if i is not None)
        for owner_id in owners:
            notify(
                session,
                agency_id=record.agency_id,
                user_id=owner_id,
                kind="emergency_release",
                message=f"{actor.full_name or actor.username} released an assessment of intelligence record "
                f"#{record.id} to {release.recipient_name} to avoid imminent danger (28 CFR 23.20(f)(2)). "
                f"Justification: {why} Review the release.",
                record_id=record.id,
                now=now,
            )
        uow.audit(
            action="emergency_release",
            object_type="intel_record",
            object_id=record.id,
            purpose=reason,
            details={
                "dissemination_id": release.id,
                "recipient": release.recipient_name,
                "imminent_danger": True,
                "items": ["assessment"],
                "owners_notified": len(owners),
            },
        )
        return Release(release.id, record.id, release.kind, True, release.recipient_name, release.released_at)
