"""The officer-safety alert: intelligence records in a product, with their handling end to end.

A record with handling code C marks every page with the code and the 28 CFR Part 23 caveat; its
criminal subjects are shown and its non-criminal identifying information never; a restricted record
is left out and named (redact) or refuses the alert (refuse); each read is audited with the purpose;
the dissemination log lists the records the alert holds, and each record sent out has the sending
in its own dissemination log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from intel_support import Cast, cast, make_core, submission
from products_support import page_texts, pdftoppm_pages, structure_of
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db.models import AuditEntry
from openilp.db.product_models import ProductDissemination
from openilp.errors import InvalidRequest, NotPermitted
from openilp.intel.errors import IntelNotFound
from openilp.intel.rules import SubjectInput
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record
from openilp.services.products.catalogue import rerender_product
from openilp.services.products.common import ProductRefused
from openilp.services.products.delivery import SendRequest, send_product
from openilp.services.products.safety_alert import SafetyAlertRequest, safety_alert

PURPOSE = "Officer-safety alert for the north patrol briefing"
CONDITIONS = "Not to be shared outside SLMPD without the control official's approval"


def _approved(core: OpenILP, people: Cast, **overrides: object) -> int:
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id, **overrides)))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    return record.id


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, int, int]:
    """Two approved records: one with handling code C (a person and a vehicle), one restricted."""
    core = make_core(engine, tmp_path)
    people = cast(engine)
    guarded = _approved(
        core,
        people,
        title="Armed cocaine supplier on Main St.",
        handling_code="C",
        handling_conditions=CONDITIONS,
        subjects=[
            SubjectInput("person", "criminal_subject", "Johnny Suspect", "DOB 1980-01-01"),
            SubjectInput("vehicle", "criminal_subject", "Black Chevrolet Tahoe", "plate XYZ789"),
            SubjectInput("vehicle", "non_criminal_identifier", "Grey Honda owned by Mary Innocent", "plate ABC123"),
        ],
    )
    restricted = _approved(
        core,
        people,
        title="Informant-sourced threat report",
        sensitivity="restricted",
        subjects=[SubjectInput("person", "criminal_subject", "Rita Restricted", "DOB 1975-05-05")],
    )
    return core, people, guarded, restricted


def _request(*record_ids: int, **overrides: object) -> SafetyAlertRequest:
    values: dict[str, object] = {
        "record_ids": record_ids,
        "purpose": PURPOSE,
        "cautions": ("armed", "flight_risk"),
        "instructions": "Do not approach alone; call for a second unit.",
    }
    values.update(overrides)
    return SafetyAlertRequest(**values)  # type: ignore[arg-type]


def test_the_alert_is_marked_by_its_records_on_every_page(world: tuple[OpenILP, Cast, int, int]) -> None:
    core, people, guarded, _ = world
    produced = safety_alert(core, people.analyst, _request(guarded))
    marking = produced.marking
    assert (marking.tlp, marking.handling_code, marking.criminal_intelligence) == ("TLP:AMBER", "C", True)
    texts = [" ".join(t.split()) for t in page_texts(produced.pdf)]
    assert len(texts) == produced.pdf_pages == len(pdftoppm_pages(produced.pdf))
    for number, flat in enumerate(texts, start=1):
        assert "TLP:AMBER · HANDLING CODE C · 28 CFR PART 23 CRIMINAL INTELLIGENCE" in flat, number
        assert "Contains criminal intelligence under 28 CFR Part 23" in flat, number
    text = " ".join(texts)
    assert f"Handling conditions: {CONDITIONS}" in text
    assert "ARMED: reported to carry a firearm" in text and "FLIGHT RISK" in text
    assert "Johnny Suspect" in text and "plate XYZ789" in text and "Black Chevrolet Tahoe" in text
    assert "Mary Innocent" not in text and "ABC123" not in text  # identifying information is never shown
    assert produced.items == (f"Intelligence record #{guarded}",) and produced.withheld == ()
    marked, elements = structure_of(produced.pdf)
    assert marked and [r for r, _ in elements].count("/H2") == 3
    with Session(core.engine) as session:
        reads = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "read", AuditEntry.object_id == str(guarded))
        ).all()
    assert [entry.purpose for entry in reads] == [PURPOSE]


def test_a_restricted_record_is_redacted_and_named_or_refuses(
    world: tuple[OpenILP, Cast, int, int], tmp_path: Path
) -> None:
    core, people, guarded, restricted = world
    produced = safety_alert(core, people.analyst, _request(guarded, restricted))
    label = f"Intelligence record #{restricted}"
    assert produced.withheld == (label,) and produced.items == (f"Intelligence record #{guarded}",)
    text = " ".join(" ".join(page_texts(produced.pdf)).split())
    assert f"Withheld from this product (restricted): {label}." in text
    assert "Rita Restricted" not in text and "Informant-sourced" not in text
    assert produced.content["record_ids"] == [guarded]
    sent = send_product(
        core, people.analyst, SendRequest(produced.product_id, "folder", str(tmp_path), "north patrol briefing")
    )
    assert Path(sent.path).read_bytes()[:5] == b"%PDF-"
    with Session(core.engine) as session:
        log = session.scalars(
            select(ProductDissemination).where(ProductDissemination.product_id == produced.product_id)
        ).one()
    assert json.loads(log.items) == [f"Intelligence record #{guarded}"] and log.status == "delivered"
    with pytest.raises(ProductRefused, match=f"#{restricted}"):
        safety_alert(core, people.analyst, _request(guarded, restricted), on_restricted="refuse")
    with pytest.raises(ProductRefused, match=f"#{restricted}"):  # nothing left to say: refused whatever the policy
        safety_alert(core, people.analyst, _request(restricted))
    with Session(core.engine) as session:
        refusals = session.scalars(select(AuditEntry).where(AuditEntry.action == "produce_refused")).all()
    assert len(refusals) == 2 and all(label in entry.details for entry in refusals)


def test_who_may_build_an_alert_and_what_it_needs(world: tuple[OpenILP, Cast, int, int]) -> None:
    core, people, guarded, _ = world
    with pytest.raises(NotPermitted, match="products:produce"):
        safety_alert(core, people.officer, _request(guarded))
    with pytest.raises(NotPermitted, match="build it as a user"):
        safety_alert(core, None, _request(guarded))
    with pytest.raises(IntelNotFound):  # another agency's record, never released to them
        safety_alert(core, people.other_analyst, _request(guarded))
    with pytest.raises(InvalidRequest, match="unknown flag bad_vibes"):
        safety_alert(core, people.analyst, _request(guarded, cautions=("bad_vibes",)))
    with pytest.raises(InvalidRequest, match="purpose"):
        safety_alert(core, people.analyst, _request(guarded, purpose="why"))
    produced = safety_alert(core, people.analyst, _request(guarded))
    again = rerender_product(core, people.analyst, produced.product_id)
    assert again.same_numbers and again.product.version == produced.version + 1
    with pytest.raises(NotPermitted, match="build it as a user"):
        rerender_product(core, None, produced.product_id)


def test_the_cli_builds_an_alert_as_a_user(
    world: tuple[OpenILP, Cast, int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    core, people, guarded, restricted = world
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", core.engine.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()  # type: ignore[attr-defined]
    try:
        target = tmp_path / "alert.pdf"
        base = ["products", "safety-alert", "--user", people.analyst.username, "--purpose", PURPOSE]
        base += ["--caution", "armed", "--record", str(guarded), "--record", str(restricted)]
        result = CliRunner().invoke(app, [*base, "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert target.read_bytes()[:5] == b"%PDF-" and f"withheld: Intelligence record #{restricted}" in result.output
        result = CliRunner().invoke(app, [*base, "--on-restricted", "refuse", "-o", str(target)])
        assert result.exit_code == 1 and f"Intelligence record #{restricted}" in result.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()  # type: ignore[attr-defined]


def test_sending_the_alert_writes_each_records_own_dissemination_log(
    world: tuple[OpenILP, Cast, int, int], tmp_path: Path
) -> None:
    from openilp.services.intel.corrections import CorrectionRequest, correct_record
    from openilp.services.intel.dissemination import disseminations_of, notifications_for

    core, people, guarded, restricted = world
    produced = safety_alert(core, people.analyst, _request(guarded, restricted))
    reason = "north patrol briefing"
    send_product(core, people.analyst, SendRequest(produced.product_id, "folder", str(tmp_path), reason))
    entries = disseminations_of(core, people.analyst, guarded).rows()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["kind"] == "product" and entry["recipient"] == f"folder: {tmp_path}"
    assert entry["reason"] == reason and entry["handling_conditions"] == CONDITIONS and entry["tlp"] == "TLP:AMBER"
    assert entry["items"] == [f"product #{produced.product_id} (safety_alert, version 1): {produced.title}"[:300]]
    # The restricted record never went out, so its log stays empty.
    assert disseminations_of(core, people.analyst, restricted).rows() == []
    # A failed sending releases nothing.
    with pytest.raises(Exception, match="not delivered"):
        send_product(
            core, people.analyst, SendRequest(produced.product_id, "folder", str(tmp_path / "f.pdf" / "x"), reason)
        )
    assert len(disseminations_of(core, people.analyst, guarded).rows()) == 1
    # A correction of the record asks the control official to advise the product's recipients.
    correct_record(
        core,
        people.analyst,
        CorrectionRequest(guarded, {"summary": "Supplies cocaine from a garage on Main St. (fixed)."}, "Typo fixed"),
    )
    messages = [n.message for n in notifications_for(core, people.analyst).notices]
    assert any(f"folder: {tmp_path}" in m and "advise each of them by hand" in m for m in messages), messages
