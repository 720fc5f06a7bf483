"""The entity page's timeline, places and linked records; people named in tips; review decisions on
the page; "do we already know this person?" on the intelligence record form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from entities_support import PHONES, seed_phone_case
from sqlalchemy import Engine, select
from web_support import login, make_client, seed_agency, seed_user

from openilp.db import session_scope
from openilp.db.entity_models import EntityMention
from openilp.services.entities import (
    ImportPersonsRequest,
    NameInTipRequest,
    ResolveThingsRequest,
    ShowEntityRequest,
    import_persons,
    name_in_tip,
    resolve_things,
    show_entity,
)
from openilp.services.intel.tips import TipRequest, submit_tip

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _store(engine: Engine, tmp_path: Path) -> dict[str, object]:
    users = {"ana": "analyst", "off": "officer", "sup": "supervisor"}
    rows = b"id,number,complaint,day\nc1,314 555 0142,24-000123,2024-01-05\nc2,(314) 555-0142,,2024-02-10\n"
    core = seed_phone_case(engine, tmp_path / "core", users, rows)
    tip = submit_tip(
        core, None, TipRequest("SLMPD", "tip", "Slim sells from the corner; his cell is 314-555-0142.", None)
    )
    return {"core": core, "tip": tip.tip_id}


def test_the_timeline_links_incidents_tips_and_files_and_tips_stay_with_tip_staff(
    engine: Engine, tmp_path: Path
) -> None:
    from openilp.services.accounts.records import user_info

    world = _store(engine, tmp_path)
    core = world["core"]
    with session_scope(engine) as session:
        analyst = user_info(session, 1)
        officer = user_info(session, 2)
    assert analyst is not None and officer is not None
    named = name_in_tip(
        core,  # type: ignore[arg-type]
        analyst,
        NameInTipRequest(str(world["tip"]), "person", "Slim Jones", "cell 314-555-0142"),
    )
    assert len(named.mention_ids) == 2  # the person, and the phone in the identifiers
    with pytest.raises(Exception, match="may not"):
        name_in_tip(core, officer, NameInTipRequest(str(world["tip"]), "person", "X Y"))  # type: ignore[arg-type]
    resolve_things(core, None, ResolveThingsRequest(agency="SLMPD"))  # type: ignore[arg-type]
    with session_scope(engine) as session:
        entity_id = session.scalar(select(EntityMention.entity_id).where(EntityMention.source_record_id == "c1"))
    assert entity_id is not None

    detail = show_entity(core, analyst, ShowEntityRequest(entity_id)).as_dict()  # type: ignore[arg-type]
    whats = [(t["date"], t["what"]) for t in detail["timeline"]]
    assert whats[0] == ("2024-01-05", "incident 24-000123: BURGLARY-RESIDENCE (suspect)")
    assert ("2024-02-10", "cdr c2 (cdr.csv:3)") in whats
    assert any(what.startswith("tip ") for _, what in whats)
    assert detail["linked"] == {"incidents": 1, "intel_records": 0, "tips": 1, "files": 1}
    assert [p["label"] for p in detail["places"]] == ["incident 24-000123: 1200 MARKET ST"]
    # An officer (no tip triage) sees the same phone without the tip: no word of it on the timeline.
    seen_by_officer = show_entity(core, officer, ShowEntityRequest(entity_id)).as_dict()  # type: ignore[arg-type]
    assert not any("tip" in t["what"] for t in seen_by_officer["timeline"])
    assert seen_by_officer["linked"]["tips"] == 0


def test_pages_decide_pairs_and_suggest_known_people(engine: Engine, tmp_path: Path) -> None:
    world = _store(engine, tmp_path)
    core = world["core"]
    local = b"id,number,complaint,day\nc3,555-0142,,2024-02-11\n"
    import_persons(core, None, ImportPersonsRequest(PHONES, "cdr2.csv", local, agency="SLMPD"))  # type: ignore[arg-type]
    resolve_things(core, None, ResolveThingsRequest(agency="SLMPD"))  # type: ignore[arg-type]

    client = make_client(engine, tmp_path / "web")
    login(client, "ana")
    page = client.get("/entities/review")
    assert page.status_code == 200 and "phone_local" in page.text and "Decide" in page.text
    pair_id = int(re.search(r'action="/entities/review/(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    too_short = client.post(
        f"/entities/review/{pair_id}", data={"csrf_token": token, "decision": "match", "reason": "x"}
    )
    assert too_short.status_code == 400 and "reason" in too_short.text
    decided = client.post(
        f"/entities/review/{pair_id}",
        data={"csrf_token": token, "decision": "match", "reason": "Same handset in both call records."},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    with session_scope(engine) as session:
        entities = set(
            session.scalars(select(EntityMention.entity_id).where(EntityMention.source_record_id.in_(("c1", "c3"))))
        )
    assert len(entities) == 1
    assert "No open pairs" in client.get("/entities/review").text

    # The tip page records whom a tip names; the entity page then shows the tip to tip staff.
    tip_page = client.get(f"/intel/tips/{world['tip']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', tip_page.text).group(1)  # type: ignore[union-attr]
    recorded = client.post(
        f"/intel/tips/{world['tip']}/named",
        data={"csrf_token": token, "kind": "person", "name": "Slim Jones", "identifiers": "cell 314-555-0142"},
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    resolve_things(core, None, ResolveThingsRequest(agency="SLMPD"))  # type: ignore[arg-type]
    (entity_id,) = entities
    shown = client.get(f"/entities/{entity_id}")
    assert shown.status_code == 200 and "24-000123" in shown.text and f"/intel/tips/{world['tip']}" in shown.text

    # Suggestions: nothing under 3 letters; the record form asks while a subject's name is typed.
    assert client.get("/api/v1/entities/suggest", params={"name": "sl"}).json() == {"hits": []}
    form = client.get("/intel/records/new")
    assert form.status_code == 200 and "entity_suggest.js" in form.text and 'id="entity-suggestions"' in form.text
    api = client.post(
        f"/api/v1/entities/tips/{world['tip']}",
        json={"kind": "vehicle", "name": "grey Honda", "identifiers": "plate ABC 123 MO"},
    )
    assert api.status_code == 200 and len(api.json()["mention_ids"]) == 1
    seed_agency(engine, "OTHER")
    seed_user(engine, "stranger", "analyst", "OTHER")
    other = make_client(engine, tmp_path / "other")
    login(other, "stranger")
    assert other.post(f"/api/v1/entities/tips/{world['tip']}", json={"name": "x"}).status_code == 404


def test_the_entity_page_puts_its_places_on_a_map(engine: Engine, tmp_path: Path) -> None:
    """Incidents keep their map points; an address placed in the agency CRS gets its longitude and
    latitude back for the map; the page draws them (data for the map script, no inline script)."""
    import json
    from html import unescape

    import pyproj

    from openilp.db.models import Agency
    from openilp.services.accounts.records import user_info

    world = _store(engine, tmp_path)
    core = world["core"]
    resolve_things(core, None, ResolveThingsRequest(agency="SLMPD"))  # type: ignore[arg-type]
    with session_scope(engine) as session:
        analyst = user_info(session, 1)
        crs = session.scalar(select(Agency.crs).where(Agency.code == "SLMPD"))
        x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(-90.2, 38.63)
        mention = session.scalars(select(EntityMention).where(EntityMention.source_record_id == "c2")).one()
        mention.x_m, mention.y_m = float(x), float(y)
        entity_id = mention.entity_id
    assert analyst is not None and entity_id is not None
    detail = show_entity(core, analyst, ShowEntityRequest(entity_id)).as_dict()  # type: ignore[arg-type]
    placed = [p for p in detail["places"] if p["x_m"] == float(x)]
    assert len(placed) == 1
    assert placed[0]["lon"] == pytest.approx(-90.2, abs=1e-6) and placed[0]["lat"] == pytest.approx(38.63, abs=1e-6)

    client = make_client(engine, tmp_path / "web")
    login(client, "ana")
    page = client.get(f"/entities/{entity_id}")
    assert page.status_code == 200
    drawn = re.search(r'id="entity-map"[^>]*data-points="([^"]*)"', page.text)
    assert drawn is not None
    points = json.loads(unescape(drawn.group(1)))
    expected = [(p["lat"], p["lon"]) for p in detail["places"] if p["lat"] is not None]
    assert [(p["lat"], p["lon"]) for p in points] == expected and len(expected) == 2
    assert "/static/js/entity_map.js" in page.text


def test_the_review_queue_shows_only_pairs_whose_mentions_the_reviewer_may_see(engine: Engine, tmp_path: Path) -> None:
    from openilp.errors import NotFound
    from openilp.services.accounts.records import user_info
    from openilp.services.entities import DecideRequest, ReviewQueueRequest, decide_pair, review_queue

    world = _store(engine, tmp_path)
    core = world["core"]
    local = b"id,number,complaint,day\nc3,555-0142,,2024-02-11\n"
    import_persons(core, None, ImportPersonsRequest(PHONES, "cdr2.csv", local, agency="SLMPD"))  # type: ignore[arg-type]
    resolve_things(core, None, ResolveThingsRequest(agency="SLMPD"))  # type: ignore[arg-type]
    with session_scope(engine) as session:
        analyst = user_info(session, 1)
    assert analyst is not None
    queue = review_queue(core, analyst, ReviewQueueRequest())  # type: ignore[arg-type]
    assert queue.open_pairs >= 1 and queue.withheld_pairs == 0
    pair = queue.pairs[0]
    # One side's source is withdrawn (blanked, as a purge leaves it): the pair is no one's to see.
    with session_scope(engine) as session:
        hidden = session.scalars(
            select(EntityMention).where(EntityMention.source_record_id == pair.right.source_record_id)
        ).one()
        hidden.searchable = False
    after = review_queue(core, analyst, ReviewQueueRequest())  # type: ignore[arg-type]
    assert pair.pair_id not in {p.pair_id for p in after.pairs} and after.withheld_pairs == 1
    with pytest.raises(NotFound):
        decide_pair(core, analyst, DecideRequest(pair.pair_id, "match", "Same handset."))  # type: ignore[arg-type]
    client = make_client(engine, tmp_path / "web")
    login(client, "ana")
    page = client.get("/entities/review")
    assert 'id="review-withheld"' in page.text and f"pair-{pair.pair_id}" not in page.text
