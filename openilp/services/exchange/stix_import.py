"""STIX 2.1 import: intelligence a partner released to this agency, kept as received items.

A bundle written by ``openilp export stix`` on a partner's OpenILP (or any bundle with the same
28 CFR Part 23 extension) is checked object by object (:func:`openilp.exchange.stix.received_reports`,
and the OASIS ``stix2-validator`` when installed); a refusal names the object and field at fault and
imports nothing. Each report becomes an intelligence record of the importing agency that keeps
exactly what was released (title, summary, offence category, criminal subjects, grading, handling
code and conditions, sensitivity, TLP level, approval and retention dates) and, as a received item,
who sent it and the marking, handling code and audience it arrived with: every later release may
only narrow them (:mod:`openilp.intel.markings`). What was not released stays unknown and is
stored as the strictest value (sensitivity ``restricted``, grading F6 "cannot be judged").

Importing the same bundle again changes nothing (a record is keyed by its STIX report id). The
import is audited (``import_stix``), refusals too (``import_stix_refused``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result
from openilp.db.models import IntelRecord, IntelSubject, OffenceCategory
from openilp.errors import InvalidRequest, NotPermitted
from openilp.exchange.stix import BundleRefused, ReceivedReport, received_reports
from openilp.intel.grading import SCHEMES
from openilp.intel.rules import SENSITIVITIES, SUBJECT_KINDS
from openilp.security.actors import UserInfo

__all__ = ["IMPORT_PERMISSION", "StixImportRequest", "StixImport", "import_stix", "validator_errors"]

#: Who may import received intelligence: the roles that may submit it.
IMPORT_PERMISSION = "intel:submit"
ACTION = "import_stix"
#: The source reference of an imported record starts with this, then the STIX report id.
SOURCE_PREFIX = "STIX "


@dataclass(frozen=True)
class StixImportRequest(Request):
    """The bundle's JSON text, and whether the OASIS validator must run (refused when it is not installed)."""

    text: str = ""
    require_validator: bool = False

    def validate(self) -> StixImportRequest:
        if not self.text.strip():
            raise InvalidRequest("bundle: json: the file is empty")
        return self


@dataclass(frozen=True)
class StixImport(Result):
    """Records created, reports already imported before (their record ids), and whether the validator ran."""

    imported: tuple[int, ...]
    unchanged: tuple[int, ...]
    senders: tuple[str, ...]
    validated: bool


def validator_errors(text: str) -> list[str] | None:
    """The OASIS ``stix2-validator``'s errors as ``object id: message`` (None when it is not installed)."""
    try:
        from stix2validator import ValidationOptions, validate_string
    except ImportError:
        return None
    results = validate_string(text, ValidationOptions(version="2.1"))
    errors: list[str] = []
    for result in getattr(results, "object_results", None) or []:
        errors.extend(f"{result.object_id}: {error.message}" for error in result.errors)
    if not results.is_valid and not errors:
        errors.append("bundle: not valid STIX 2.1")
    return errors


def _text(value: Any, limit: int) -> str:
    return str(value or "").replace("\x00", "").strip()[:limit]


def _moment(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _new_record(report: ReceivedReport, actor: UserInfo, agency_code: str, now: dt.datetime) -> IntelRecord:
    record, sent = report.record, report.dissemination
    grading = record.get("grading") if isinstance(record.get("grading"), dict) else None
    scheme, source, information = "admiralty", "F", "6"
    if grading is not None:
        scheme, source, information = (
            str(grading.get("scheme")),
            str(grading.get("source")),
            str(grading.get("information")),
        )
        chosen = SCHEMES.get(scheme)
        if chosen is None or source not in chosen.source_grades or information not in chosen.information_grades:
            raise BundleRefused(
                report.report_id, "record.grading", f"{scheme} {source}{information} is no known grading"
            )
    sensitivity = str(record.get("sensitivity") or "restricted")
    if sensitivity not in SENSITIVITIES:
        raise BundleRefused(
            report.report_id, "record.sensitivity", f"{sensitivity!r} is not one of {', '.join(SENSITIVITIES)}"
        )
    conditions = _text(record.get("handling_conditions"), 10_000)
    handling = str(record.get("handling_code") or ("C" if conditions else "P"))
    if handling not in ("P", "C"):
        raise BundleRefused(report.report_id, "record.handling_code", f"{handling!r} is not P or C")
    audience = sent.get("audience")
    if report.tlp in ("TLP:CLEAR", "TLP:GREEN"):
        audience = None
    elif not isinstance(audience, list):
        audience = [agency_code]
    released_id, dissemination_id = record.get("id"), sent.get("id")
    basis = (
        f"Received from {report.sender} (their record #{released_id}"
        + (f", dissemination #{dissemination_id}" if dissemination_id else "")
        + "); the factual basis stays with the owning agency."
    )
    imported = IntelRecord(
        agency_id=actor.agency_id,
        status="approved",
        file_type="permanent",
        title=_text(record.get("title") or f"Record #{released_id} of {report.sender}", 200),
        summary=_text(record.get("summary"), 10_000) or "(summary not released)",
        offence_category=record.get("offence_category") or None,
        factual_basis=basis,
        source_reference=(SOURCE_PREFIX + report.report_id)[:200],
        collection_method="partner_agency",
        lawful_collection_attested=True,
        submitter_id=actor.id,
        submitted_at=now,
        grading_scheme=scheme,
        source_grade=source,
        information_grade=information,
        handling_code=handling,
        handling_conditions=conditions,
        sensitivity=sensitivity,
        tlp=report.tlp,
        control_official_id=actor.id,
        approved_by_id=None,
        approved_at=_moment(record.get("approved_at")) or now,
        last_validated_at=now,
        retention_expires_at=_moment(record.get("retention_expires_at")),
        updated_at=now,
        received_from=_text(report.sender, 200),
        received_tlp=report.tlp,
        received_handling_code=handling,
        received_audience=json.dumps(sorted(audience)) if audience is not None else None,
    )
    imported.subjects = [
        IntelSubject(
            kind=str(s.get("kind")) if s.get("kind") in SUBJECT_KINDS else "person",
            role="criminal_subject",
            display_name=_text(s.get("name"), 200),
            identifiers=_text(s.get("identifiers"), 200),
        )
        for s in record.get("subjects") or []
    ]
    return imported


def import_stix(core: OpenILP, actor: UserInfo, request: StixImportRequest) -> StixImport:
    """Import the OpenILP records of a received STIX 2.1 bundle into the actor's agency (audited).

    Raises
    ------
    InvalidRequest
        The bundle is refused; the message starts with the object id and field at fault.
    NotPermitted
        The actor may not submit intelligence.
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        session, now = uow.session, uow.now
        if not actor.can(IMPORT_PERMISSION):
            raise uow.refuse(
                NotPermitted(f"{actor.username} ({actor.role}) may not import intelligence: needs {IMPORT_PERMISSION}"),
                action=f"{ACTION}_refused",
                object_type="agency",
                object_id=actor.agency_code,
            )
        try:
            try:
                raw = json.loads(request.text)
            except ValueError as exc:
                raise BundleRefused("bundle", "json", f"not JSON ({exc})") from None
            if not isinstance(raw, dict) or raw.get("type") != "bundle":
                raise BundleRefused("bundle", "type", "not a STIX bundle")
            errors = validator_errors(request.text)
            if errors is None and request.require_validator:
                raise BundleRefused("bundle", "validator", "stix2-validator is not installed (openilp[stix-validator])")
            if errors:
                object_id, _, message = errors[0].partition(": ")
                raise BundleRefused(object_id, "stix2-validator", message)
            reports = received_reports(request.text)
            if not reports:
                raise BundleRefused(
                    "bundle", "objects", "no report with the 28 CFR Part 23 extension: nothing to import"
                )
            for report in reports:
                category = report.record.get("offence_category")
                if category and session.get(OffenceCategory, str(category)) is None:
                    raise BundleRefused(
                        report.report_id, "record.offence_category", f"{category!r} is no known offence category"
                    )
            imported: list[int] = []
            unchanged: list[int] = []
            for report in reports:
                known = session.scalar(
                    select(IntelRecord.id).where(
                        IntelRecord.agency_id == actor.agency_id,
                        IntelRecord.source_reference == (SOURCE_PREFIX + report.report_id)[:200],
                    )
                )
                if known is not None:
                    unchanged.append(int(known))
                    continue
                record = _new_record(report, actor, actor.agency_code, now)
                session.add(record)
                session.flush()
                imported.append(record.id)
        except BundleRefused as exc:
            raise uow.refuse(
                InvalidRequest(f"refused: {exc}"),
                action=f"{ACTION}_refused",
                object_type="agency",
                object_id=actor.agency_code,
            ) from None
        senders = tuple(dict.fromkeys(r.sender for r in reports))
        uow.audit(
            action=ACTION,
            object_type="agency",
            object_id=actor.agency_code,
            purpose="intelligence received from a partner",
            details={
                "senders": list(senders),
                "reports": [r.report_id for r in reports],
                "imported": imported,
                "unchanged": unchanged,
                "validated": errors is not None,
            },
        )
        return StixImport(tuple(imported), tuple(unchanged), senders, errors is not None)
