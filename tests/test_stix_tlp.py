"""STIX 2.1 TLP 2.0 markings: the official OASIS marking definitions out, TLP 1.0 read as TLP 2.0 in."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import stix2
from stix2validator import ValidationOptions, validate_string

from openilp.exchange.stix import (
    TLP2_EXTENSION_ID,
    BundleRefused,
    intelligence_bundle,
    received_reports,
    tlp_marking,
    tlp_of_marking,
)

#: The marking definitions OASIS publishes for TLP 2.0 (cti-stix-common-objects,
#: extension-definition-specifications/tlp-2.0), written out here, not derived from the module.
OFFICIAL = {
    "TLP:CLEAR": ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
    "TLP:GREEN": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
    "TLP:AMBER": ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
    "TLP:AMBER+STRICT": ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"),
    "TLP:RED": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"),
}
CREATED = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def _record(record_id: int, tlp: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": record_id,
        "title": f"Record {record_id}",
        "summary": "Cocaine supply from a garage",
        "sensitivity": "open",
        "agency": {"id": 1, "name": "SLMPD police"},
        "subjects": [{"id": record_id, "kind": "person", "name": "Johnny Suspect", "identifiers": ""}],
    }
    if tlp is not None:
        record["tlp"] = tlp
    return record


@pytest.mark.parametrize("level", list(OFFICIAL))
def test_each_level_is_the_official_oasis_marking_definition(level: str) -> None:
    marking_id, name = OFFICIAL[level]
    assert tlp_marking(level) == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": level,
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": name,
            }
        },
    }
    parsed = stix2.parse(tlp_marking(level), allow_custom=False)  # the stix2 library accepts it as is
    assert parsed.id == marking_id and tlp_of_marking(marking_id) == level


def test_a_bundle_of_every_level_is_valid_and_reads_back_at_the_same_levels() -> None:
    records = [_record(i, level) for i, level in enumerate(OFFICIAL, start=1)]
    text = intelligence_bundle(records, producer_name="SLMPD police", created=CREATED)
    report = validate_string(text, ValidationOptions(version="2.1"))
    assert report.is_valid, [str(e) for e in report.errors]
    assert [str(w) for w in report.warnings] == []

    objects = json.loads(text)["objects"]
    markings = [o for o in objects if o["type"] == "marking-definition"]
    assert [m["id"] for m in markings] == [marking_id for marking_id, _ in OFFICIAL.values()]
    assert all("definition_type" not in m and "created_by_ref" not in m for m in markings)
    reports = [o for o in objects if o["type"] == "report"]
    assert [r["object_marking_refs"] for r in reports] == [[marking_id] for marking_id, _ in OFFICIAL.values()]
    assert [r.tlp for r in received_reports(text)] == list(OFFICIAL)


def test_the_release_level_marks_the_record_not_its_own() -> None:
    text = intelligence_bundle(
        [_record(7, "TLP:GREEN")],
        producer_name="SLMPD police",
        created=CREATED,
        disseminations={7: {"id": 3, "tlp": "TLP:AMBER+STRICT"}},
    )
    (report,) = [o for o in json.loads(text)["objects"] if o["type"] == "report"]
    assert report["object_marking_refs"] == [OFFICIAL["TLP:AMBER+STRICT"][0]]


TLP1 = {
    "white": (stix2.v21.TLP_WHITE, "TLP:CLEAR"),
    "green": (stix2.v21.TLP_GREEN, "TLP:GREEN"),
    "amber": (stix2.v21.TLP_AMBER, "TLP:AMBER"),
    "red": (stix2.v21.TLP_RED, "TLP:RED"),
}


@pytest.mark.parametrize("name", list(TLP1))
@pytest.mark.parametrize("with_definition", [True, False], ids=["definition-in-bundle", "id-only"])
def test_a_tlp1_marking_is_read_as_its_tlp2_equivalent(name: str, with_definition: bool) -> None:
    old, expected = TLP1[name]
    data = json.loads(intelligence_bundle([_record(1, None)], producer_name="County police", created=CREATED))
    data["objects"] = [o for o in data["objects"] if o["type"] != "marking-definition"]
    for obj in data["objects"]:
        if "object_marking_refs" in obj:
            obj["object_marking_refs"] = [old.id]
    if with_definition:
        data["objects"].append(json.loads(old.serialize()))
    (report,) = received_reports(json.dumps(data))
    assert report.tlp == expected


def test_a_tlp2_marking_under_another_id_or_with_another_level_is_refused() -> None:
    forged = tlp_marking("TLP:CLEAR") | {"id": "marking-definition--00000000-0000-4000-8000-000000000001"}
    with pytest.raises(BundleRefused, match="official OASIS marking-definition id"):
        tlp_of_marking(forged["id"], forged)
    relabelled = tlp_marking("TLP:RED")
    relabelled["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"] = "clear"
    with pytest.raises(BundleRefused, match="is not TLP:RED"):
        tlp_of_marking(relabelled["id"], relabelled)
    assert tlp_of_marking("marking-definition--00000000-0000-4000-8000-000000000002") is None
