"""Import a person file through its TOML mapping: idempotent, atomic per file, every rejection named.

``openilp entities import MAPPING.toml FILE.csv`` and the API call :func:`import_persons`. One file
is one transaction: its mentions are all written, or (on any failure) none. A row already stored
(same agency, source and record id) with the same content changes nothing, so importing a file
twice adds nothing the second time; a row whose content changed is updated and will be resolved
again. The audit log gets one ``entities_import`` entry per file with the counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result, require
from openilp.db.entity_models import EntityImport, EntityMention
from openilp.entities.intake import PersonFileError, Rejection, read_person_file
from openilp.entities.mapping import MappingError, parse_person_mapping
from openilp.entities.subjects import content_hash
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.entities.common import PERSON_FIELDS, agency_for
from openilp.services.entities.common import require as require_permission

__all__ = ["ImportPersonsRequest", "ImportPersonsResult", "import_persons", "MAX_FILE_BYTES"]

#: The largest person file one request may carry (bytes).
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ImportPersonsRequest(Request):
    """A person file and the TOML mapping that reads it."""

    mapping_toml: str
    file_name: str
    data: bytes
    #: Agency code; empty: the actor's, or the only one in the store (created when the store has none).
    agency: str = ""
    mapping_name: str = "mapping"

    def validate(self) -> ImportPersonsRequest:
        require(bool(self.file_name.strip()), "file_name: name the file")
        require(len(self.data) <= MAX_FILE_BYTES, f"data: the file is larger than {MAX_FILE_BYTES:,} bytes")
        return self


@dataclass(frozen=True)
class ImportPersonsResult(Result):
    source: str
    agency: str
    file_name: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    mentions_added: int
    mentions_updated: int
    mentions_unchanged: int
    rejections: tuple[Rejection, ...]


def _display_name(row: dict[str, Any]) -> str:
    name = " ".join(str(row[f]) for f in ("first_name", "middle_name", "surname") if row.get(f))
    return name[:200] or str(row["record_id"])[:200]


def import_persons(core: OpenILP, actor: UserInfo | None, request: ImportPersonsRequest) -> ImportPersonsResult:
    """Read one person file into mentions of the agency (see the module docstring)."""
    request = request.validate()
    require_permission(actor, "entities:write", "import person records")
    try:
        mapping = parse_person_mapping(request.mapping_toml, origin=request.mapping_name)
    except MappingError as error:
        raise InvalidRequest(str(error)) from error
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = agency_for(session, actor, request.agency, create_if_none=True)
        try:
            read = read_person_file(request.data, mapping, file_name=request.file_name, today=uow.now.date())
        except PersonFileError as error:
            raise uow.refuse(
                InvalidRequest(str(error)),
                action="entities_import_refused",
                object_type="person_file",
                object_id=request.file_name,
                agency_id=agency.id,
            ) from error
        stored = {
            m.source_record_id: m
            for m in session.scalars(
                select(EntityMention).where(EntityMention.agency_id == agency.id, EntityMention.source == mapping.name)
            )
        }
        added = updated = unchanged = 0
        rows: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in read.rows.to_dict("records")]
        for row in rows:
            fields: dict[str, Any] = {f: row[f] for f in PERSON_FIELDS}
            fields["kind"] = "person"
            fields["display_name"] = _display_name(row)
            digest = content_hash({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in fields.items()})
            record_id = str(row["record_id"])[:200]
            mention = stored.get(record_id)
            if mention is None:
                session.add(
                    EntityMention(
                        agency_id=agency.id,
                        source=mapping.name,
                        source_record_id=record_id,
                        file_name=request.file_name[:300],
                        line_number=int(row["line"]),
                        searchable=True,
                        content_hash=digest,
                        created_at=uow.now,
                        updated_at=uow.now,
                        **fields,
                    )
                )
                added += 1
            elif mention.content_hash != digest:
                for key, value in fields.items():
                    setattr(mention, key, value)
                mention.file_name = request.file_name[:300]
                mention.line_number = int(row["line"])
                mention.content_hash = digest
                mention.updated_at = uow.now
                updated += 1
            else:
                unchanged += 1
        session.add(
            EntityImport(
                agency_id=agency.id,
                source=mapping.name,
                file_name=request.file_name[:300],
                file_sha256=read.sha256,
                rows_read=read.rows_read,
                rows_accepted=len(read.rows),
                rows_rejected=len(read.rejections),
                mentions_added=added,
                mentions_updated=updated,
                imported_at=uow.now,
            )
        )
        uow.audit(
            action="entities_import",
            object_type="person_file",
            object_id=request.file_name[:200],
            agency_id=agency.id,
            details={
                "source": mapping.name,
                "sha256": read.sha256,
                "rows_read": read.rows_read,
                "accepted": len(read.rows),
                "rejected": len(read.rejections),
                "added": added,
                "updated": updated,
            },
        )
        return ImportPersonsResult(
            source=mapping.name,
            agency=agency.code,
            file_name=request.file_name,
            rows_read=read.rows_read,
            rows_accepted=len(read.rows),
            rows_rejected=len(read.rejections),
            mentions_added=added,
            mentions_updated=updated,
            mentions_unchanged=unchanged,
            rejections=read.rejections,
        )
