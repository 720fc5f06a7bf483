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
from openilp.entities.mapping import KIND_COLUMNS, MappingError, parse_person_mapping
from openilp.entities.subjects import content_hash
from openilp.entities.things import (
    match_key,
    normalise_handle,
    normalise_phone,
    normalise_plate,
    normalise_state,
    normalise_vin,
)
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.services.entities.common import agency_for
from openilp.services.entities.common import require as require_permission
from openilp.services.entities.places import block_index, incident_ids

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
    kind: str = "person"


def _display_name(kind: str, row: dict[str, Any]) -> str:
    """How a mention is named on a page: the person's name, the plate, the number, the address, ..."""
    if kind == "person":
        name = " ".join(str(row[f]) for f in ("first_name", "middle_name", "surname") if row.get(f))
    elif kind == "vehicle":
        plate = normalise_plate(row.get("plate"))
        state = normalise_state(row.get("plate_state"))
        what = " ".join(str(row[f]) for f in ("colour", "make", "model") if row.get(f))
        ident = f"{plate} ({state})" if plate and state else plate or f"VIN {normalise_vin(row.get('vin'))}"
        name = f"{ident} {what}".strip()
    elif kind == "phone":
        name = normalise_phone(row.get("phone")) or ""
    elif kind == "handle":
        name = normalise_handle(row.get("handle")) or ""
    elif kind == "address":
        key = match_key("address", row)
        name = key.split(":", 1)[1] if key else ""
    else:
        name = " ".join(str(row.get("organisation") or "").split())
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
        kind = mapping.kind
        kind_fields = [f for f in KIND_COLUMNS[kind] if f != "record_id"]
        incidents = incident_ids(session, agency.id, (str(r["incident"]) for r in rows if r.get("incident")))
        rejections = list(read.rejections)
        kept: list[dict[str, Any]] = []
        for row in rows:
            if row.get("incident") and str(row["incident"]) not in incidents:
                rejections.append(
                    Rejection(
                        request.file_name,
                        int(row["line"]),
                        "incident",
                        f"no incident {str(row['incident'])[:40]} in {agency.code}'s store: import the incidents first",
                    )
                )
            else:
                kept.append(row)
        rows = kept
        places = block_index(session, agency.id) if kind == "address" and rows else None
        for row in rows:
            fields: dict[str, Any] = {f: row[f] for f in kind_fields}
            fields["kind"] = kind
            fields["display_name"] = _display_name(kind, row)
            fields["match_key"] = None if kind == "person" else match_key(kind, row)
            fields["role"] = row.get("party_role") if row.get("incident") else None
            fields["incident_id"] = incidents.get(str(row["incident"])) if row.get("incident") else None
            fields["seen_on"] = row.get("seen_on")
            if places is not None:
                place = places.place(row.get("street_number"), row.get("street"))
                fields["x_m"], fields["y_m"] = place if place is not None else (None, None)
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
                rows_accepted=len(rows),
                rows_rejected=len(rejections),
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
                "kind": kind,
                "accepted": len(rows),
                "rejected": len(rejections),
                "added": added,
                "updated": updated,
            },
        )
        return ImportPersonsResult(
            source=mapping.name,
            agency=agency.code,
            file_name=request.file_name,
            rows_read=read.rows_read,
            rows_accepted=len(rows),
            rows_rejected=len(rejections),
            mentions_added=added,
            mentions_updated=updated,
            mentions_unchanged=unchanged,
            rejections=tuple(sorted(rejections, key=lambda r: r.line)),
            kind=kind,
        )
