"""Tips and suspicious-activity reports: anonymity, dialogue, triage, predicate gate, rewards, EXIF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from intel_support import Cast, cast, make_core, make_user, submission
from PIL import Image
from sqlalchemy import Engine, func, select

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import IntelRecord, Tip, TipAttachment, TipReward
from openilp.intel.errors import IntelForbidden, IntelNotFound
from openilp.intel.images import strip_image
from openilp.intel.rules import SubmissionError
from openilp.intel.tipcodes import is_tip_id
from openilp.services.intel.reading import SearchRequest, search_records
from openilp.services.intel.rewards import (
    PayoutRequest,
    RewardRequest,
    approve_reward,
    collect_payout_code,
    record_payout,
)
from openilp.services.intel.tip_triage import (
    ConvertRequest,
    ReplyRequest,
    convert_to_submission,
    list_tips,
    staff_reply,
    staff_view,
)
from openilp.services.intel.tips import (
    TIP_NOT_FOUND,
    TipKey,
    TipMessageRequest,
    TipRequest,
    submit_tip,
    tipster_add_message,
    tipster_view,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


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


def test_two_way_anonymous_dialogue(engine: Engine, core: OpenILP, people: Cast) -> None:
    new = submit_tip(
        core,
        None,
        TipRequest(
            agency="SLMPD",
            kind="tip",
            narrative="Drugs sold from the blue garage at night.",
            attachments=[_jpeg_with_exif()],
        ),
    )
    assert is_tip_id(new.tip_id)
    with session_scope(engine) as session:
        tip = session.scalars(select(Tip)).one()
        assert new.secret not in tip.secret_hash and tip.secret_hash.startswith("hmac-sha256$")
        assert b"Jane Tipster" not in session.scalars(select(TipAttachment.data)).one()
        assert [t["tip_id"] for t in list_tips(core, people.analyst).as_dict()["tips"]] == [new.tip_id]
        staff_reply(core, people.analyst, ReplyRequest(new.tip_id, "Thank you. Which nights of the week?"))
    view = tipster_view(core, None, TipKey(new.tip_id, new.secret)).as_dict()
    assert [m["body"] for m in view["messages"]] == ["Thank you. Which nights of the week?"]
    assert "by" not in view["messages"][0]  # the tipster does not learn the analyst's name
    tipster_add_message(
        core, None, TipMessageRequest(new.tip_id.lower(), new.secret, "Fridays and Saturdays after 11 pm.")
    )
    assert [m["author"] for m in staff_view(core, people.analyst, new.tip_id).as_dict()["messages"]] == [
        "agency",
        "tipster",
    ]
    for tip_id, secret in [(new.tip_id, "wrong"), ("T-0000-0000-0000-0000", new.secret), ("garbage", "")]:
        with pytest.raises(IntelNotFound, match=TIP_NOT_FOUND):
            tipster_view(core, None, TipKey(tip_id, secret)).as_dict()
    with pytest.raises(IntelNotFound):
        staff_view(core, people.other_analyst, new.tip_id).as_dict()
    with pytest.raises(IntelForbidden):
        staff_view(core, people.auditor, new.tip_id).as_dict()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"narrative": ""}, "at least"),
        ({"narrative": "x" * 10_001}, "too long"),
        ({"kind": "rumour"}, "kind"),
        ({"kind": "sar"}, "behaviour"),
        ({"kind": "sar", "behaviour_category": "looks foreign"}, "behaviour"),
        ({"behaviour_category": "photography"}, "suspicious-activity reports only"),
        ({"agency": "NOPE"}, "unknown agency"),
        ({"attachments": [b"MZ\x90\x00 an executable"]}, "only images"),
        ({"narrative": 12345}, "must be text"),
    ],
)
def test_bad_tips_store_nothing(
    engine: Engine, core: OpenILP, people: Cast, fields: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"agency": "SLMPD", "kind": "tip", "narrative": "A long enough tip text."}
    arguments.update(fields)
    with pytest.raises(SubmissionError, match=message):
        submit_tip(core, None, TipRequest(**arguments))  # type: ignore[arg-type]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Tip)) == 0


def test_sar_stays_apart_until_vetted_and_converts_only_through_the_gate(
    engine: Engine, core: OpenILP, people: Cast
) -> None:
    new = submit_tip(
        core,
        None,
        TipRequest(
            agency="SLMPD",
            kind="sar",
            behaviour_category="observation_surveillance",
            narrative="Johnny Suspect photographed the substation fence for an hour.",
        ),
    )
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelRecord)) == 0
        assert search_records(core, people.analyst, SearchRequest("Johnny", purpose="case 1")).hits == ()
        with pytest.raises(SubmissionError, match="no criminal predicate"):
            convert_to_submission(
                core, people.analyst, ConvertRequest(new.tip_id, submission(people.analyst.id, factual_basis=""))
            )
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(IntelRecord)) == 0
        record_id = convert_to_submission(
            core, people.analyst, ConvertRequest(new.tip_id, submission(people.analyst.id, collection_method="tip"))
        ).id
    with session_scope(engine) as session:
        record = session.get(IntelRecord, record_id)
        assert record is not None and record.status == "pending" and record.source_tip_id is not None
        assert staff_view(core, people.analyst, new.tip_id).as_dict()["status"] == "converted"
        with pytest.raises(SubmissionError, match="already converted"):
            convert_to_submission(core, people.analyst, ConvertRequest(new.tip_id, submission(people.analyst.id)))


def test_reward_workflow_never_learns_the_tipster(engine: Engine, core: OpenILP, people: Cast) -> None:
    with session_scope(engine) as session:
        supervisor = make_user(session, "sup", "supervisor")
        admin = make_user(session, "adm", "administrator")
    new = submit_tip(
        core, None, TipRequest(agency="SLMPD", kind="tip", narrative="The stolen van is in lot 4 behind the mall.")
    )
    with pytest.raises(IntelForbidden):
        approve_reward(core, people.analyst, RewardRequest(new.tip_id, amount=50_000, reason="recovered van"))
    with pytest.raises(SubmissionError, match="amount"):
        approve_reward(core, supervisor, RewardRequest(new.tip_id, amount=-5, reason="recovered van"))
    approve_reward(core, supervisor, RewardRequest(new.tip_id, amount=50_000, reason="Van recovered, arrest made."))
    assert tipster_view(core, None, TipKey(new.tip_id, new.secret)).as_dict()["reward"] == {
        "status": "approved",
        "amount_cents": 50_000,
    }
    with pytest.raises(IntelNotFound):
        collect_payout_code(core, None, TipKey(new.tip_id, "wrong secret"))
    code = collect_payout_code(core, None, TipKey(new.tip_id, new.secret)).code
    with session_scope(engine) as session:
        reward = session.scalars(select(TipReward)).one()
        assert reward.payout_code_hash and code not in reward.payout_code_hash
        with pytest.raises(IntelForbidden, match="does not match"):
            record_payout(core, admin, PayoutRequest(new.tip_id, "AAAA-BBBB-CCCC"))
        record_payout(core, admin, PayoutRequest(new.tip_id, code.lower()))
    with session_scope(engine) as session:
        assert session.scalars(select(TipReward.status)).one() == "paid"
        assert tipster_view(core, None, TipKey(new.tip_id, new.secret)).as_dict()["reward"]["status"] == "paid"
