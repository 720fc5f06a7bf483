"""NIBRS XML export of an agency's incidents, with the offences that could not be mapped and why.

Each record number (SLMPD's complaint) is one NIBRS incident; its offences are the Group A
offences its records map to (:func:`openilp.ingest.nibrs.resolve_offence`: the source's own
``[nibrs]`` mapping, else a category holding exactly one NIBRS offence). Nothing is guessed: every
offence that does not map is listed with its reason, and an incident none of whose offences maps is
left out and listed. Unfounded and reversed records are never exported.

The result holds a ZIP archive: ``nibrs/<incident>.xml`` (one ``nibrs:Submission`` each),
``unmapped.csv`` (one row per offence not exported) and ``summary.json``. With a schema path every
document is validated against the official ``nibrs.xsd`` before the archive is built; the export
refuses to produce an archive with a schema error.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result
from openilp.core.contract import plain
from openilp.db.models import Incident
from openilp.errors import InvalidRequest
from openilp.exchange.nibrs import (
    MAX_INCIDENT_NUMBER_CHARS,
    NibrsIncident,
    NibrsSchema,
    check_ori,
    group_a_report,
)
from openilp.ingest.nibrs import NIBRS_OFFENCES, NibrsSourceMapping, resolve_offence
from openilp.ingest.spec import SpecError, builtin_source_names, load_source_spec
from openilp.security.actors import UserInfo
from openilp.services.exchange.common import check_window, export_agency, local_midnight_utc

__all__ = ["NibrsExportRequest", "NibrsGap", "NibrsExport", "export_nibrs", "UNMAPPED_COLUMNS"]

ACTION = "export_nibrs"
#: What a validated export names as its schema.
SCHEMA_NAME = "FBI NIBRS XML IEPD 2019.1 (nibrs.xsd)"
#: The columns of ``unmapped.csv``.
UNMAPPED_COLUMNS = (
    "incident_number",
    "incident_id",
    "occurred_local",
    "source_code",
    "description",
    "category",
    "nibrs_offence",
    "reason",
    "incident_exported",
)
_HOUR_PRECISIONS = ("minute", "hour")


@dataclass(frozen=True)
class NibrsExportRequest(Request):
    """Incidents of ``agency`` that occurred ``date_from`` … ``date_to`` (local days, inclusive).

    ``ori`` is the agency's ORI (NIBRS element 1). ``schema_path`` (``nibrs.xsd`` or the folder of
    the IEPD 2019.1) validates every document before anything is returned.
    """

    agency: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    ori: str = ""
    schema_path: str | None = None

    def validate(self) -> NibrsExportRequest:
        check_window(self.date_from, self.date_to)
        if not self.agency.strip():
            raise InvalidRequest("agency is required (--agency CODE)")
        try:
            check_ori(self.ori)
        except ValueError as exc:
            raise InvalidRequest(f"ori: {exc}") from None
        if self.schema_path is not None and not Path(self.schema_path).exists():
            raise InvalidRequest(f"schema_path: no file or folder at {self.schema_path}")
        return self


@dataclass(frozen=True)
class NibrsGap(Result):
    """One offence record not in the export, and why (a key of ``GAP_REASONS`` or ``INCIDENT_GAP_REASONS``)."""

    incident_number: str
    incident_id: int
    occurred_local: str
    source_code: str
    description: str
    category: str
    nibrs_offence: str
    reason: str
    incident_exported: bool


@dataclass(frozen=True)
class NibrsExport(Result):
    """The export's counts and gaps; ``archive`` (not in ``as_dict``) is the ZIP to write."""

    agency: str
    ori: str
    date_from: dt.date
    date_to: dt.date
    records: int
    incidents: int
    incidents_exported: int
    offences_exported: int
    offences_by_code: dict[str, int]
    incidents_not_exported_by_reason: dict[str, int]
    offences_unmapped_by_reason: dict[str, int]
    validated_against: str | None
    schema_errors: int
    gaps: tuple[NibrsGap, ...] = field(repr=False)
    _archive: bytes = field(default=b"", repr=False)

    @property
    def archive(self) -> bytes:
        return self._archive

    def as_dict(self) -> dict[str, Any]:
        """The counts as JSON; the gaps are in the archive's ``unmapped.csv``."""
        skip = {"gaps", "_archive"}
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in skip}


def _source_mappings(sources: Iterable[str]) -> dict[str, NibrsSourceMapping | None]:
    builtin = set(builtin_source_names())
    out: dict[str, NibrsSourceMapping | None] = {}
    for name in sources:
        try:
            out[name] = load_source_spec(name).nibrs if name in builtin else None
        except SpecError:
            out[name] = None
    return out


def _file_name(incident_number: str) -> str:
    return "nibrs/" + re.sub(r"[^A-Za-z0-9._-]", "_", incident_number) + ".xml"


def _archive(documents: list[tuple[str, bytes]], gaps: list[NibrsGap], summary: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, document in documents:
            archive.writestr(name, document)
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(UNMAPPED_COLUMNS)
        for gap in gaps:
            writer.writerow([getattr(gap, column) for column in UNMAPPED_COLUMNS])
        archive.writestr("unmapped.csv", table.getvalue())
        archive.writestr("summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return buffer.getvalue()


def export_nibrs(core: OpenILP, actor: UserInfo | None, request: NibrsExportRequest) -> NibrsExport:
    """NIBRS XML of the agency's incidents in the window, the unmapped offences, and the audit entry."""
    request = request.validate()
    date_from, date_to = check_window(request.date_from, request.date_to)
    ori = check_ori(request.ori)
    schema = NibrsSchema(request.schema_path) if request.schema_path else None
    with core.unit_of_work(actor) as uow:
        agency = export_agency(uow, actor, request.agency, action=ACTION)
        zone = ZoneInfo(agency.timezone)
        rows = uow.session.execute(
            select(
                Incident.id,
                Incident.source,
                Incident.source_record_id,
                Incident.source_key,
                Incident.offence_code,
                Incident.offence_description,
                Incident.category_code,
                Incident.occurred_from,
                Incident.time_precision,
                Incident.reported_at,
            )
            .where(
                Incident.agency_id == agency.id,
                Incident.net_count > 0,
                Incident.flag_unfounded.is_(False),
                Incident.occurred_from >= local_midnight_utc(date_from, zone),
                Incident.occurred_from < local_midnight_utc(date_to + dt.timedelta(days=1), zone),
            )
            .order_by(Incident.occurred_from, Incident.id)
        ).all()
        mappings = _source_mappings({row.source for row in rows})
        grouped: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            grouped.setdefault((row.source, row.source_record_id or row.source_key), []).append(row)

        now_local = uow.now.astimezone(zone)
        report_month = now_local.strftime("%Y-%m")
        documents: list[tuple[str, bytes]] = []
        gaps: list[NibrsGap] = []
        offence_counts: Counter[str] = Counter()
        incident_reasons: Counter[str] = Counter()
        schema_errors = 0
        first_errors: list[str] = []
        for (source, number), records in grouped.items():
            first = records[0]
            occurred = first.occurred_from.astimezone(zone)
            hour_known = first.time_precision in _HOUR_PRECISIONS
            offences: list[str] = []
            pending: list[tuple[Any, str, str]] = []
            for record in records:
                match = resolve_offence(record.category_code, record.offence_code, mappings[source])
                if match.offence is not None and not match.reason:
                    if match.offence not in offences:
                        offences.append(match.offence)
                else:
                    pending.append((record, match.offence or "", match.reason))
            incident_reason = ""
            date_is_report_date = False
            when: dt.datetime | dt.date = occurred
            if first.time_precision == "month":
                if first.reported_at is None:
                    incident_reason = "no_incident_date"
                else:
                    when, date_is_report_date, hour_known = first.reported_at.astimezone(zone).date(), True, False
            if len(number) > MAX_INCIDENT_NUMBER_CHARS:
                incident_reason = "incident_number_too_long"
            exported = bool(offences) and not incident_reason
            if exported:
                document = group_a_report(
                    NibrsIncident(number, when, hour_known, tuple(offences), date_is_report_date),
                    ori=ori,
                    report_month=report_month,
                    message_time=now_local,
                )
                if schema is not None:
                    errors = schema.errors(document)
                    schema_errors += len(errors)
                    first_errors.extend(f"{number}: {e}" for e in errors[: 3 - len(first_errors)])
                documents.append((_file_name(number), document))
                offence_counts.update(offences)
            else:
                reasons = {incident_reason} if incident_reason else {reason for _, _, reason in pending}
                incident_reasons["+".join(sorted(reasons))] += 1
                if incident_reason:
                    pending = [(record, "", incident_reason) for record in records]
            for record, offence, reason in pending:
                gaps.append(
                    NibrsGap(
                        incident_number=number,
                        incident_id=int(record.id),
                        occurred_local=occurred.replace(tzinfo=None).isoformat(timespec="minutes"),
                        source_code=record.offence_code or "",
                        description=record.offence_description or "",
                        category=record.category_code or "",
                        nibrs_offence=offence,
                        reason=reason,
                        incident_exported=exported,
                    )
                )
        if schema_errors:
            raise uow.refuse(
                InvalidRequest(
                    f"{schema_errors} NIBRS schema error(s), nothing exported; first: {'; '.join(first_errors)}"
                ),
                action=f"{ACTION}_refused",
                object_type="agency",
                object_id=agency.code,
            )
        gap_counts = Counter(gap.reason for gap in gaps)
        summary: dict[str, Any] = {
            "agency": agency.code,
            "ori": ori,
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "records": len(rows),
            "incidents": len(grouped),
            "incidents_exported": len(documents),
            "offences_exported": sum(offence_counts.values()),
            "offences_by_code": {
                f"{code} {NIBRS_OFFENCES[code].label}": offence_counts[code] for code in sorted(offence_counts)
            },
            "incidents_not_exported_by_reason": dict(sorted(incident_reasons.items())),
            "offences_unmapped_by_reason": dict(sorted(gap_counts.items())),
            "validated_against": SCHEMA_NAME if schema is not None else None,
            "schema_errors": schema_errors,
        }
        uow.audit(
            action=ACTION,
            object_type="agency",
            object_id=agency.code,
            agency_id=agency.id,
            details={key: summary[key] for key in summary if key != "offences_by_code"},
        )
    return NibrsExport(
        agency=agency.code,
        ori=ori,
        date_from=date_from,
        date_to=date_to,
        records=len(rows),
        incidents=len(grouped),
        incidents_exported=len(documents),
        offences_exported=sum(offence_counts.values()),
        offences_by_code=dict(sorted(offence_counts.items())),
        incidents_not_exported_by_reason=dict(sorted(incident_reasons.items())),
        offences_unmapped_by_reason=dict(sorted(gap_counts.items())),
        validated_against=summary["validated_against"],
        schema_errors=schema_errors,
        gaps=tuple(gaps),
        _archive=_archive(documents, gaps, summary),
    )
