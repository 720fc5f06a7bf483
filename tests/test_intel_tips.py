"""Tips and suspicious-activity reports: anonymity, dialogue, triage, predicate gate, rewards, EXIF."""

from __future__ import annotations

import io

import pytest
from intel_support import Cast, cast, make_user, submission
from PIL import Image
from sqlalchemy import Engine, func, select

from openilp.db import session_scope
from openilp.db.models import IntelRecord, Tip, TipAttachment, TipReward
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.images import strip_image
from openilp.intel.rules import SubmissionError
from openilp.intel.tipcodes import is_tip_id
from openilp.services.intel.records import search_records
from openilp.services.intel.tips import (
    TIP_NOT_FOUND,
    approve_reward,
    close_tip,
    collect_payout_code,
    convert_to_submission,
    list_tips,
    record_payout,
    staff_reply,
    staff_view,
    submit_tip,
    tipster_add_message,
    tipster_view,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (8, 8), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "TipsterCam"  # Make
    exif[0x013B] = "Jane Tipster"  # Artist
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_exif_is_stripped_and_non_images_refused() -> None:
    raw = _jpeg_with_exif()
    assert b"Jane Tipster" in raw
    clean = strip_image(raw)
    assert b"Jane Tipster" not in clean.data and b"TipsterCam" not in clean.data
    assert not Image.open(io.BytesIO(clean.data)).getexif()
    with pytest.raises(ValueError, match="only images"):
        strip_image(b"%PDF-1.4 not an image")
    with pytest.raises(ValueError, match="at most"):
        strip_image(b"\xff" * (5 * 1024 * 1024 + 1))


def test_two_way_anonymous_dialogue(engine: Engine, people: Cast) -> None:
    with session_scope(engine) as session:
        new = submit_tip(
            session,
            agency_code="SLMPD",
            kind="tip",
            narrative="Drugs sold from the blue garage at night.",
            attachments=[_jpeg_with_exif()],
        )
    assert is_tip_id(new.tip_id)
    with session_scope(engine) as session:
        tip = session.scalars(select(Tip)).one()
        assert new.secret not in tip.secret_hash and tip.secret_hash.startswith("$argon2id$")
        assert b"Jane Tipster" not in session.scalars(select(TipAttachment.data)).one()
        assert [t["tip_id"] for t in list_tips(session, people.analyst)] == [new.tip_id]
        staff_reply(session, people.analyst, new.tip_id, "Thank you. Which nights of the week?")
    with session_scope(engine) as session:
        view = tipster_view(session, new.tip_id, new.secret)
        assert [m["body"] for m in view["messages"]] == ["Thank you. Which nights of the week?"]
        assert "by" not in view["messages"][0]  # the tipster does not learn the analyst's name
        tipster_add_message(session, new.tip_id.lower(), new.secret, "Fridays and Saturdays after 11 pm.")
    with session_scope(engine) as session:
        assert [m["author"] for m in staff_view(session, people.analyst, new.tip_id)["messages"]] == [
            "agency",
            "tipster",
        ]
        for tip_id, secret in [(new.tip_id, "wrong"), ("T-0000-0000-0000-0000", new.secret), ("garbage", "")]:
            with pytest.raises(IntelNotFound, match=TIP_NOT_FOUND):
                tipster_view(session, tip_id, secret)
        with pytest.raises(IntelNotFound):
            staff_view(session, people.other_analyst, new.tip_id)
        with pytest.raises(IntelForbidden):
            staff_view(session, people.auditor, new.tip_id)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"narrative": ""}, "at least"),
        ({"narrative": "x" * 10_001}, "too long"),
        ({"kind": "rumour"}, "kind"),
        ({"kind": "sar"}, "behaviour"),
        ({"kind": "sar", "behaviour_category": "looks foreign"}, "behaviour"),
        ({"behaviour_category": "photography"}, "suspicious-activity reports only"),
        ({"agency_code": "NOPE"}, "unknown agency"),
        ({"attachments": [b"MZ\x90\x00 an executable"]}, "only images"),
        ({"narrative": 12345}, "must be text"),
    ],
)
def test_bad_tips_store_nothing(engine: Engine, people: Cast, fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"agency_code": "SLMPD", "kind": "tip", "narrative": "A long enough tip text."}
    arguments.update(fields)
    with session_scope(engine) as session, pytest.raises(SubmissionError, match=message):
        submit_tip(session, **arguments)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Tip)) == 0


def test_sar_stays_apart_until_vetted_and_converts_only_through_the_gate(engine: Engine, people: Cast) -> None:
    with session_scope(engine) as session:
        new = submit_tip(
            session,
            agency_code="SLMPD",
            kind="sar",
            behaviour_category="observation_surveillance",
            narrative="Johnny Suspect photographed the substation fence for an hour.",
        )
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelRecord)) == 0
        assert search_records(session, people.analyst, "Johnny", purpose="case 1").hits == []
        with pytest.raises(SubmissionError, match="no criminal predicate"):
            convert_to_submission(session, people.analyst, new.tip_id, submission(people.analyst.id, factual_basis=""))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelRecord)) == 0
        record_id = convert_to_submission(
            session, people.analyst, new.tip_id, submission(people.analyst.id, collection_method="tip")
        )
    with session_scope(engine) as session:
        record = session.get(IntelRecord, record_id)
        assert record is not None and record.status == "pending" and record.source_tip_id is not None
        assert staff_view(session, people.analyst, new.tip_id)["status"] == "converted"
        with pytest.raises(SubmissionError, match="already converted"):
            close_tip(session, people.analyst, new.tip_id, "dup") if False else convert_to_submission(
                session, people.analyst, new.tip_id, submission(people.analyst.id)
            )


def test_reward_workflow_never_learns_the_tipster(engine: Engine, people: Cast) -> None:
    with session_scope(engine) as session:
        supervisor = make_user(session, "sup", "supervisor")
        admin = make_user(session, "adm", "administrator")
        new = submit_tip(
            session, agency_code="SLMPD", kind="tip", narrative="The stolen van is in lot 4 behind the mall."
        )
    with session_scope(engine) as session:
        with pytest.raises(IntelForbidden):
            approve_reward(session, people.analyst, new.tip_id, amount_cents=50_000, reason="recovered van")
        with pytest.raises(SubmissionError, match="amount"):
            approve_reward(session, supervisor, new.tip_id, amount_cents=-5, reason="recovered van")
        approve_reward(session, supervisor, new.tip_id, amount_cents=50_000, reason="Van recovered, arrest made.")
    with session_scope(engine) as session:
        assert tipster_view(session, new.tip_id, new.secret)["reward"] == {"status": "approved", "amount_cents": 50_000}
        with pytest.raises(IntelNotFound):
            collect_payout_code(session, new.tip_id, "wrong secret")
        code = collect_payout_code(session, new.tip_id, new.secret)
    with session_scope(engine) as session:
        reward = session.scalars(select(TipReward)).one()
        assert reward.payout_code_hash and code not in reward.payout_code_hash
        with pytest.raises(IntelForbidden, match="does not match"):
            record_payout(session, admin, new.tip_id, "AAAA-BBBB-CCCC")
        record_payout(session, admin, new.tip_id, code.lower())
    with session_scope(engine) as session:
        assert session.scalars(select(TipReward.status)).one() == "paid"
        assert tipster_view(session, new.tip_id, new.secret)["reward"]["status"] == "paid"
