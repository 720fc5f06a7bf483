"""STIX 2.1 bundles of released criminal-intelligence records, and reading them back without loss.

Fusion centres exchange intelligence as STIX 2.1 (OASIS, *STIX Version 2.1*, 2021). Each released
record becomes a ``report`` whose ``object_refs`` are its criminal subjects as ``identity`` objects
(or, when subjects are not released, the producing agency). The record's 28 CFR Part 23 fields
(record id, file type, grading, handling code and conditions, sensitivity, submission, approval
and retention dates, the dissemination it went out under) travel in a property extension defined
in the bundle (:data:`CFR_EXTENSION_ID`), and every object carries a TLP marking definition
(:func:`tlp_for`). :func:`read_intelligence_bundle` turns a bundle back into the records exactly
as released.

>>> record = {"id": 7, "title": "T", "summary": "S", "offence_category": "drugs", "sensitivity": "open",
...           "subjects": [{"id": 1, "kind": "person", "name": "A B", "identifiers": ""}]}
>>> text = intelligence_bundle([record], producer_name="SLMPD police", created=dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
>>> read_intelligence_bundle(text) == [record]
True
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openilp.intel.markings import TLP_LEVELS, default_tlp, parse_tlp

__all__ = [
    "CFR_EXTENSION_ID",
    "TLP2_EXTENSION_ID",
    "TLP2_MARKING_IDS",
    "TLP2_MARKING_CREATED",
    "TLP1_MARKING_LEVELS",
    "BundleRefused",
    "ReceivedReport",
    "intelligence_bundle",
    "read_intelligence_bundle",
    "received_reports",
    "tlp_for",
    "tlp_marking",
    "tlp_of_marking",
]

#: The extension definition that carries a record's 28 CFR Part 23 fields (one fixed id, so every
#: OpenILP bundle uses the same extension).
CFR_EXTENSION_ID = "extension-definition--220548e9-7295-4bab-8d5f-5f0fd461d642"
_EXTENSION_SCHEMA = (
    "OpenILP 28 CFR Part 23 criminal-intelligence record. Properties: record (object): the record as "
    "released by its owning agency under 28 CFR 23.20(e): id, status, file_type, agency {id, name}, "
    "control_official, submitted_at, approved_at, retention_expires_at, purged_at, handling_conditions "
    "and, when released, offence_category, sensitivity, grading {scheme, source, information, label} "
    "and handling_code; subject_ids (array): the record's own ids of the subjects, in the order of "
    "object_refs; dissemination (object): the release it went out under (id, released_at, items)."
)
_IDENTITY_CLASS = {"person": "individual", "organisation": "organization", "organization": "organization"}

#: The OASIS extension that marks STIX 2.1 content with TLP 2.0 (``cti-stix-common-objects``,
#: ``extension-definition-specifications/tlp-2.0``).
TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#: TLP 2.0 level -> its marking definition's fixed id, as OASIS publishes them. Every producer uses
#: these same objects (created 2022-10-01, no ``created_by_ref``), so any STIX reader recognises them.
TLP2_MARKING_IDS: dict[str, str] = {
    "TLP:CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "TLP:GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "TLP:AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "TLP:AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "TLP:RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
#: When OASIS created the TLP 2.0 marking definitions (part of each object, so part of its identity).
TLP2_MARKING_CREATED = "2022-10-01T00:00:00.000Z"
#: The TLP 1.0 marking definitions of the STIX 2.1 specification (section 7.2.1.4), as senders that
#: have not moved to TLP 2.0 still use them -> the TLP 2.0 level each is read as (FIRST: WHITE is
#: now CLEAR; GREEN, AMBER and RED keep their meaning).
TLP1_MARKING_LEVELS: dict[str, str] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "TLP:CLEAR",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "TLP:GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "TLP:AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "TLP:RED",
}
#: TLP 1.0 level names (``definition.tlp`` of a TLP 1.0 marking) -> TLP 2.0.
_TLP1_NAMES = {"white": "TLP:CLEAR", "clear": "TLP:CLEAR", "green": "TLP:GREEN", "amber": "TLP:AMBER", "red": "TLP:RED"}
_TLP2_BY_ID = {marking_id: level for level, marking_id in TLP2_MARKING_IDS.items()}


def tlp_for(sensitivity: str | None) -> str:
    """The TLP 2.0 level of a record of ``sensitivity`` that states none (unknown: the strictest, RED).

    >>> tlp_for("open"), tlp_for("restricted"), tlp_for(None)
    ('TLP:AMBER', 'TLP:RED', 'TLP:RED')
    """
    return default_tlp(sensitivity) if sensitivity in ("open", "agency_name_only", "restricted") else "TLP:RED"


def tlp_marking(level: str) -> dict[str, Any]:
    """The official STIX 2.1 marking definition of TLP 2.0 ``level``, exactly as OASIS publishes it.

    >>> marking = tlp_marking("amber+strict")
    >>> marking["id"], marking["name"]
    ('marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003', 'TLP:AMBER+STRICT')
    >>> marking["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"]
    'amber+strict'
    """
    canonical = parse_tlp(level)
    name = canonical.removeprefix("TLP:").lower()
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKING_IDS[canonical],
        "created": TLP2_MARKING_CREATED,
        "name": canonical,
        "extensions": {TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": name}},
    }


def tlp_of_marking(marking_id: str, marking: Mapping[str, Any] | None = None) -> str | None:
    """The TLP 2.0 level a marking reference stands for, or None when it is no TLP marking.

    The official TLP 2.0 ids are read as themselves and the STIX 2.1 TLP 1.0 ids as their TLP 2.0
    equivalent (WHITE -> CLEAR), whether or not the bundle carries the definition object. Any other
    id counts only through its definition: a TLP 1.0 ``definition_type: tlp`` is mapped the same
    way; a TLP 2.0 extension on an id that is not the official one is refused
    (:class:`BundleRefused`), since the ids are fixed.

    >>> tlp_of_marking("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9")
    'TLP:CLEAR'
    >>> tlp_of_marking(TLP2_MARKING_IDS["TLP:AMBER+STRICT"])
    'TLP:AMBER+STRICT'
    """
    if marking_id in _TLP2_BY_ID:
        level = _TLP2_BY_ID[marking_id]
        stated = ((marking or {}).get("extensions") or {}).get(TLP2_EXTENSION_ID)
        if stated is not None and "TLP:" + str(stated.get("tlp_2_0", "")).upper() != level:
            raise BundleRefused(marking_id, f"extensions.{TLP2_EXTENSION_ID}.tlp_2_0", f"is not {level}")
        return level
    if marking_id in TLP1_MARKING_LEVELS:
        return TLP1_MARKING_LEVELS[marking_id]
    if marking is None:
        return None
    if TLP2_EXTENSION_ID in (marking.get("extensions") or {}):
        raise BundleRefused(
            marking_id, "id", "a TLP 2.0 marking must use the official OASIS marking-definition id of its level"
        )
    if marking.get("definition_type") == "tlp":
        name = str((marking.get("definition") or {}).get("tlp", "")).lower()
        if name not in _TLP1_NAMES:
            raise BundleRefused(marking_id, "definition.tlp", f"{name!r} is no TLP level")
        return _TLP1_NAMES[name]
    return None


def _new_id(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def intelligence_bundle(
    records: Sequence[Mapping[str, Any]],
    *,
    producer_name: str,
    created: dt.datetime,
    disseminations: Mapping[int, Mapping[str, Any]] | None = None,
) -> str:
    """A STIX 2.1 bundle (JSON text) of ``records``, each as released (its keys are what the recipient may see).

    ``disseminations`` maps a record id to its dissemination-log entry (id, released_at, items, tlp).
    Each record is marked with the TLP 2.0 level of its release (the entry's ``tlp``), else its own
    ``tlp``, else the level its sensitivity implies (:func:`tlp_for`).
    """
    import stix2

    stamp = {"created": created, "modified": created}
    producer = stix2.v21.Identity(id=_new_id("identity"), name=producer_name, identity_class="organization", **stamp)
    extension = stix2.v21.ExtensionDefinition(
        id=CFR_EXTENSION_ID,
        created_by_ref=producer.id,
        name="28 CFR Part 23 criminal-intelligence record",
        description="The labels, dates and release of a criminal-intelligence record kept under 28 CFR Part 23.",
        schema=_EXTENSION_SCHEMA,
        version="1.0.0",
        extension_types=["property-extension"],
        **stamp,
    )
    objects: list[Any] = [producer, extension]
    markings_used: set[str] = set()
    for record in records:
        release = (disseminations or {}).get(int(record.get("id") or 0)) or {}
        stated = release.get("tlp") or record.get("tlp")
        level = parse_tlp(stated) if stated else tlp_for(record.get("sensitivity"))
        markings_used.add(level)
        marking = {"created_by_ref": producer.id, "object_marking_refs": [TLP2_MARKING_IDS[level]], **stamp}
        subjects = list(record.get("subjects") or [])
        subject_objects = [
            stix2.v21.Identity(
                id=_new_id("identity"),
                name=str(subject["name"]),
                identity_class=_IDENTITY_CLASS.get(str(subject.get("kind")), "unknown"),
                contact_information=str(subject.get("identifiers") or "") or None,
                roles=["criminal subject"],
                **marking,
            )
            for subject in subjects
        ]
        objects.extend(subject_objects)
        rest = {k: v for k, v in record.items() if k not in ("title", "summary", "subjects")}
        properties: dict[str, Any] = {"extension_type": "property-extension", "record": rest}
        if "subjects" in record:
            properties["subjects"] = [
                {"id": s["id"], "kind": s.get("kind"), "identity": o.id}
                for s, o in zip(subjects, subject_objects, strict=True)
            ]
        if disseminations and record.get("id") in disseminations:
            properties["dissemination"] = dict(disseminations[record["id"]])
        approved = record.get("approved_at")
        published = dt.datetime.fromisoformat(str(approved)) if approved else created
        report = stix2.v21.Report(
            id=_new_id("report"),
            name=str(record["title"]) if "title" in record else f"Criminal-intelligence record {record.get('id')}",
            description=str(record["summary"]) if "summary" in record else None,
            published=published,
            report_types=["threat-actor"],
            object_refs=[o.id for o in subject_objects] or [producer.id],
            labels=["title-released"] if "title" in record else None,
            extensions={CFR_EXTENSION_ID: properties},
            **marking,
        )
        objects.append(report)
    objects.extend(
        stix2.v21.MarkingDefinition(**tlp_marking(level)) for level in sorted(markings_used, key=TLP_LEVELS.index)
    )
    return str(stix2.v21.Bundle(objects=objects).serialize(pretty=True))


def _record_of(obj: Any, by_id: Mapping[str, Any]) -> dict[str, Any]:
    properties = json.loads(json.dumps(obj.extensions[CFR_EXTENSION_ID], default=str))
    record: dict[str, Any] = dict(properties["record"])
    if "title-released" in (obj.get("labels") or []):
        record["title"] = obj.name
        record["summary"] = obj.get("description") or ""
    if "subjects" in properties:
        record["subjects"] = [
            {
                "id": entry["id"],
                "kind": entry["kind"],
                "name": by_id[entry["identity"]].name,
                "identifiers": by_id[entry["identity"]].get("contact_information") or "",
            }
            for entry in properties["subjects"]
        ]
    return record


def read_intelligence_bundle(text: str) -> list[dict[str, Any]]:
    """The records of a bundle written by :func:`intelligence_bundle`, as they were released.

    Reports without the 28 CFR extension are skipped (they are not OpenILP records).
    """
    import stix2

    bundle = stix2.parse(text, allow_custom=False)
    by_id = {obj.id: obj for obj in bundle.objects}
    return [
        _record_of(obj, by_id)
        for obj in bundle.objects
        if obj.type == "report" and CFR_EXTENSION_ID in (obj.get("extensions") or {})
    ]


class BundleRefused(ValueError):
    """A bundle that cannot be imported; ``object_id`` and ``field`` name what is wrong."""

    def __init__(self, object_id: str, field: str, message: str) -> None:
        super().__init__(f"{object_id}: {field}: {message}")
        self.object_id = object_id
        self.field = field


@dataclass(frozen=True)
class ReceivedReport:
    """One OpenILP record read from a received bundle: its report id, sender, TLP 2.0 level and record."""

    report_id: str
    sender: str
    tlp: str
    record: dict[str, Any]
    dissemination: dict[str, Any]


def _require(condition: bool, object_id: str, field: str, message: str) -> None:
    if not condition:
        raise BundleRefused(object_id, field, message)


def received_reports(text: str) -> list[ReceivedReport]:
    """Check a received bundle object by object and read its OpenILP records.

    Raises :class:`BundleRefused` naming the object and field at fault: not JSON, not a bundle, a
    STIX error (``stix2`` parsing), a report without a TLP marking (TLP 2.0, or TLP 1.0 read as its
    TLP 2.0 equivalent), a TLP 2.0 marking under an id that is not the official one, a record that
    states a TLP level wider than its marking, a 28 CFR extension without the record's id or agency,
    a subject pointing to no identity in the bundle, an unknown TLP level.
    Reports without the 28 CFR extension are skipped (they are not OpenILP records).
    """
    import stix2
    import stix2.exceptions

    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BundleRefused("bundle", "json", f"not JSON ({exc})") from None
    _require(isinstance(raw, dict) and raw.get("type") == "bundle", "bundle", "type", "not a STIX bundle")
    for index, obj in enumerate(raw.get("objects") or []):
        object_id = str(obj.get("id") or f"objects[{index}]") if isinstance(obj, dict) else f"objects[{index}]"
        try:
            stix2.parse(obj, allow_custom=False)
        except stix2.exceptions.STIXError as exc:
            field = str(getattr(exc, "prop_name", "") or getattr(exc, "properties", "") or "object")
            raise BundleRefused(object_id, field, str(exc)) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise BundleRefused(object_id, "object", str(exc)) from None
    bundle = stix2.parse(raw, allow_custom=False)
    by_id = {obj.id: obj for obj in bundle.objects}
    markings = {obj.id: obj for obj in bundle.objects if obj.type == "marking-definition"}
    out: list[ReceivedReport] = []
    for obj in bundle.objects:
        if obj.type != "report" or CFR_EXTENSION_ID not in (obj.get("extensions") or {}):
            continue
        where = f"extensions.{CFR_EXTENSION_ID}"
        properties = obj.extensions[CFR_EXTENSION_ID]
        record = properties.get("record")
        _require(isinstance(record, Mapping), obj.id, f"{where}.record", "missing: not an OpenILP record")
        _require(isinstance(record.get("id"), int), obj.id, f"{where}.record.id", "missing or not a number")
        agency = record.get("agency")
        _require(
            isinstance(agency, Mapping) and bool(str(agency.get("name") or "").strip()),
            obj.id,
            f"{where}.record.agency.name",
            "missing: the owning agency must be named",
        )
        for position, entry in enumerate(properties.get("subjects") or []):
            target = by_id.get(str(entry.get("identity")))
            _require(
                target is not None and target.type == "identity",
                obj.id,
                f"{where}.subjects[{position}].identity",
                f"{entry.get('identity')!r} is no identity in the bundle",
            )
        levels = [
            level
            for ref in obj.get("object_marking_refs") or []
            if (level := tlp_of_marking(ref, markings.get(ref))) is not None
        ]
        _require(bool(levels), obj.id, "object_marking_refs", "no TLP marking: the sender must mark what it shares")
        marked = max(levels, key=TLP_LEVELS.index)
        stated = record.get("tlp")
        if stated is not None:
            _require(stated in TLP_LEVELS, obj.id, f"{where}.record.tlp", f"{stated!r} is not a TLP 2.0 level")
            _require(
                TLP_LEVELS.index(str(stated)) >= TLP_LEVELS.index(marked),
                obj.id,
                "object_marking_refs",
                f"marked {marked} but the record states the wider {stated}",
            )
        level = str(stated) if stated is not None else marked
        sender = by_id.get(str(obj.get("created_by_ref")))
        out.append(
            ReceivedReport(
                report_id=obj.id,
                sender=str(sender.name) if sender is not None else str(agency["name"]),
                tlp=level,
                record=_record_of(obj, by_id),
                dissemination=dict(json.loads(json.dumps(properties.get("dissemination") or {}, default=str))),
            )
        )
    return out
