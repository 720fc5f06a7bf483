"""The compliance report: protected-activity records (23.20(b), (l)), retention and release counts.

Auditors, administrators and supervisors see, for their agency: every record that records
political, religious or social views, associations or activities, with its nexus justification,
submitter and second-person approver; how many records are pending, approved, purged or rejected;
approved records past their retention end (must be zero: the purge job is late otherwise); reviews
due; releases in the last year; refused searches, reads and releases (missing purpose).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select

from openilp.core import OpenILP, Result
from openilp.db.models import AuditEntry, IntelDissemination, IntelRecord, IntelReviewTask
from openilp.security.actors import UserInfo
from openilp.services.intel.common import require_permission, user_label

__all__ = ["ProtectedActivityRecord", "ComplianceReport", "compliance_report"]


@dataclass(frozen=True)
class ProtectedActivityRecord(Result):
    """A record that records protected activity, with its nexus and who approved it (23.20(b))."""

    record_id: int
    status: str
    title: str
    categories: tuple[str, ...]
    nexus_justification: str
    submitter: str
    submitted_at: dt.datetime
    nexus_approved_by: str
    nexus_approved_at: dt.datetime | None


@dataclass(frozen=True)
class ComplianceReport(Result):
    """The agency's compliance figures at ``generated_at`` (counts are whole records or releases)."""

    generated_at: dt.datetime
    agency: str
    protected_activity: tuple[ProtectedActivityRecord, ...]
    records_by_status: Mapping[str, int] = field(default_factory=dict)
    #: Approved records past their retention end: must be zero (the purge job is late otherwise).
    approved_past_retention: int = 0
    reviews_due: int = 0
    releases_last_365_days: int = 0
    #: Searches, reads, releases and updates refused for want of a purpose.
    refused_without_purpose: int = 0


def compliance_report(core: OpenILP, user: UserInfo) -> ComplianceReport:
    """The report for the user's agency (``intel:compliance``); the read is audited."""
    require_permission(user, "intel:compliance")
    with core.unit_of_work(user) as uow:
        session, now = uow.session, uow.now
        agency = user.agency_id
        protected = session.scalars(
            select(IntelRecord)
            .where(IntelRecord.agency_id == agency, IntelRecord.protected_categories != "")
            .order_by(IntelRecord.id)
        ).all()
        by_status = dict(
            session.execute(
                select(IntelRecord.status, func.count())
                .where(IntelRecord.agency_id == agency)
                .group_by(IntelRecord.status)
            ).all()
        )
        overdue = session.scalar(
            select(func.count()).where(
                IntelRecord.agency_id == agency,
                IntelRecord.status == "approved",
                IntelRecord.retention_expires_at <= now,
            )
        )
        due = session.scalar(
            select(func.count())
            .select_from(IntelReviewTask)
            .join(IntelRecord, IntelRecord.id == IntelReviewTask.record_id)
            .where(IntelRecord.agency_id == agency, IntelReviewTask.status == "open", IntelReviewTask.due_at <= now)
        )
        releases = session.scalar(
            select(func.count())
            .select_from(IntelDissemination)
            .join(IntelRecord, IntelRecord.id == IntelDissemination.record_id)
            .where(IntelRecord.agency_id == agency, IntelDissemination.released_at >= now - dt.timedelta(days=365))
        )
        refused = session.scalar(
            select(func.count()).where(
                AuditEntry.agency_id == agency,
                AuditEntry.action.in_(["search_refused", "read_refused", "disseminate_refused", "update_refused"]),
            )
        )
        report = ComplianceReport(
            generated_at=now,
            agency=user.agency_name,
            protected_activity=tuple(
                ProtectedActivityRecord(
                    record_id=r.id,
                    status=r.status,
                    title=r.title,
                    categories=tuple(c for c in r.protected_categories.split(",") if c),
                    nexus_justification=r.nexus_justification,
                    submitter=user_label(session, r.submitter_id),
                    submitted_at=r.submitted_at,
                    nexus_approved_by=user_label(session, r.nexus_approved_by_id),
                    nexus_approved_at=r.nexus_approved_at,
                )
                for r in protected
            ),
            records_by_status={k: int(v) for k, v in sorted(by_status.items())},
            approved_past_retention=int(overdue or 0),
            reviews_due=int(due or 0),
            releases_last_365_days=int(releases or 0),
            refused_without_purpose=int(refused or 0),
        )
        uow.audit(action="read", object_type="intel_compliance", purpose="compliance review")
        return report
