"""Gang / enterprise designations with the CalGang safeguards: two documented criteria with source and
date, a review date, purge five years after the latest criterion, and network association never
designating anyone (the rule, the service, and the network charts)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from intel_support import T0, Cast, at, make_user
from network_support import BOB, approve_record_as, person, seed_network, submit_record_as
from sqlalchemy import Engine, event, func, select
from web_support import csrf_from, login, make_client

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.db.models import AuditEntry, Designation, DesignationCriterion, Notification
from openilp.errors import InvalidRequest, NotFound, NotPermitted
from openilp.intel.designations import CRITERIA, NOT_CRITERIA, CriterionInput, check_designation
from openilp.intel.rules import SubjectInput
from openilp.security.actors import UserInfo
from openilp.services.entities import ImportPersonsRequest, import_persons
from openilp.services.networks import (
    DecideDesignationRequest,
    DesignationMade,
    DesignationRequest,
    NetworkRequest,
    PurgeDesignationsRequest,
    ReviewDesignationRequest,
    decide_designation,
    designate_member,
    list_designations,
    network_chart,
    purge_expired_designations,
    review_designation,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

DAY = T0.date()
REVIEW = DAY + dt.timedelta(days=180)
ADMITS = CriterionInput("self_admission", "Field interview card 24-118 (Officer Diaz)", DAY - dt.timedelta(days=20))
TATTOO = CriterionInput("tattoos", "Booking photograph 24-0931", DAY - dt.timedelta(days=400))


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[OpenILP, Cast, dict[str, int]]:
    return seed_network(engine, tmp_path)


def _second(engine: Engine) -> UserInfo:
    """A supervisor of the same agency: the second person who decides a proposal."""
    from openilp.db.models import User
    from openilp.services.accounts.records import user_info

    with session_scope(engine) as session:
        existing = session.scalar(select(User.id).where(User.username == "second-sup"))
        found = user_info(session, existing) if existing is not None else None
        return found if found is not None else make_user(session, "second-sup", "supervisor")


def _approved(engine: Engine, core: OpenILP, proposer: UserInfo, request: DesignationRequest) -> DesignationMade:
    made = designate_member(core, proposer, request)
    decide_designation(
        core, _second(engine), DecideDesignationRequest(made.designation_id, "approve", "Criteria checked.")
    )
    return made


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- the rule ------------------------------------------------------------------------------------


def test_two_documented_criteria_with_source_and_date() -> None:
    assert check_designation([ADMITS, TATTOO], designated_on=DAY, review_due_on=REVIEW) == []
    one = check_designation([ADMITS], designated_on=DAY, review_due_on=REVIEW)
    assert any("at least 2 different documented criteria" in p for p in one)
    same_twice = check_designation([ADMITS, ADMITS], designated_on=DAY, review_due_on=REVIEW)
    assert any("(this has 1)" in p for p in same_twice)
    no_source = CriterionInput("tattoos", "  ", TATTOO.observed_on)
    assert any(
        "name its source" in p for p in check_designation([ADMITS, no_source], designated_on=DAY, review_due_on=REVIEW)
    )
    undated = CriterionInput("tattoos", "Booking photograph 24-0931", None)
    assert any(
        "give the date" in p for p in check_designation([ADMITS, undated], designated_on=DAY, review_due_on=REVIEW)
    )
    stale = CriterionInput("tattoos", "Booking photograph 2017", DAY - dt.timedelta(days=6 * 365))
    assert any(
        "more than 5 years ago" in p
        for p in check_designation([ADMITS, stale], designated_on=DAY, review_due_on=REVIEW)
    )
    future = CriterionInput("tattoos", "Booking photograph", DAY + dt.timedelta(days=1))
    assert any(
        "in the future" in p for p in check_designation([ADMITS, future], designated_on=DAY, review_due_on=REVIEW)
    )
    assert any("review date" in p for p in check_designation([ADMITS, TATTOO], designated_on=DAY, review_due_on=None))
    late = DAY + dt.timedelta(days=400)
    assert any(
        "within 365 days" in p for p in check_designation([ADMITS, TATTOO], designated_on=DAY, review_due_on=late)
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(NOT_CRITERIA)), min_size=0, max_size=12),
    st.sampled_from([None, *sorted(CRITERIA)]),
)
def test_association_never_counts_however_much_of_it(association: list[str], one_real: str | None) -> None:
    """Any amount of association (network links, being seen with members, family, area) plus at most
    one real criterion never makes a designation."""
    criteria = [CriterionInput(code, "Link chart of 2024-03-01, record intel:7", DAY) for code in association]
    if one_real is not None:
        criteria.append(CriterionInput(one_real, "Field interview card 24-118", DAY))
    problems = check_designation(criteria, designated_on=DAY, review_due_on=REVIEW)
    assert problems
    assert any("at least 2 different documented criteria" in p for p in problems)


# --- the service -----------------------------------------------------------------------------------


def test_designation_lifecycle_review_and_purge(engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, _ = world
    request = DesignationRequest("Bob  Broker", "North Side Crew", (ADMITS, TATTOO), REVIEW)
    with pytest.raises(NotPermitted):
        designate_member(core, people.analyst, request)  # supervisors and reviewers designate
    made = designate_member(core, people.reviewer, request)
    assert made.status == "proposed" and made.expires_on == dt.date(2029, 2, 10)  # five years after the latest
    # A proposal is no designation: officers see nothing, deciders see it waiting.
    assert list_designations(core, people.officer).as_dict()["designations"] == []
    assert [p["person"] for p in list_designations(core, people.reviewer).as_dict()["proposals"]] == ["Bob Broker"]
    approve = DecideDesignationRequest(made.designation_id, "approve", "Both criteria checked against the files.")
    with pytest.raises(NotPermitted, match="second person"):
        decide_designation(core, people.reviewer, approve)  # the proposer may not approve
    with pytest.raises(NotPermitted):
        decide_designation(core, people.analyst, approve)
    second = _second(engine)
    decided = decide_designation(core, second, approve)
    assert decided.status == "active" and "Bob Broker" in decided.person_notice
    assert "contest" in decided.person_notice and "Field interview" not in decided.person_notice  # kinds, not sources
    with pytest.raises(NotFound):
        decide_designation(core, second, approve)  # decided already
    with session_scope(engine) as session:
        note = session.scalars(select(Notification).where(Notification.kind == "designation_decided")).one()
        assert note.user_id == people.reviewer.id and "approved by second-sup" in note.message
    listed = list_designations(core, people.officer).as_dict()["designations"]
    assert [d["person"] for d in listed] == ["Bob Broker"]
    assert {c["code"] for c in listed[0]["criteria"]} == {"self_admission", "tattoos"}
    assert list_designations(core, people.other_analyst).as_dict()["designations"] == []  # other agency
    with pytest.raises(NotPermitted):
        list_designations(core, people.partner)

    kept = review_designation(
        core,
        people.reviewer,
        ReviewDesignationRequest(made.designation_id, "keep", "Criteria re-checked at review.", REVIEW),
    )
    assert kept.status == "active"
    with pytest.raises(InvalidRequest, match="next_review_on"):
        review_designation(
            core, people.reviewer, ReviewDesignationRequest(made.designation_id, "keep", "no date given here")
        )

    # the daily job purges nothing before the end of retention, then purges
    assert purge_expired_designations(core, None, PurgeDesignationsRequest()).purged == ()
    later = dt.datetime(2029, 2, 11, tzinfo=dt.UTC)
    purged = at(core, later, lambda: purge_expired_designations(core, None, PurgeDesignationsRequest()))
    assert purged.purged == (made.designation_id,)
    with session_scope(engine) as session:
        row = session.get(Designation, made.designation_id)
        assert row is not None and row.status == "purged" and row.person_name == "" and row.purged_at is not None
    assert _count(engine, DesignationCriterion) == 0
    assert list_designations(core, people.officer).as_dict()["designations"] == []
    with pytest.raises(NotFound):
        review_designation(
            core, people.reviewer, ReviewDesignationRequest(made.designation_id, "end", "ended by review")
        )


def test_ending_a_designation_at_review_purges_it(engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, _ = world
    made = _approved(
        engine, core, people.reviewer, DesignationRequest("Carl Courier", "Crew", (ADMITS, TATTOO), REVIEW)
    )
    ended = review_designation(
        core, people.reviewer, ReviewDesignationRequest(made.designation_id, "end", "Informant withdrew the report.")
    )
    assert ended.status == "purged"
    assert _count(engine, DesignationCriterion) == 0


def test_a_rejected_proposal_keeps_nothing(engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]) -> None:
    core, people, _ = world
    made = designate_member(core, people.reviewer, DesignationRequest("Dan Doubt", "Crew", (ADMITS, TATTOO), REVIEW))
    with pytest.raises(InvalidRequest, match="reason"):
        decide_designation(core, _second(engine), DecideDesignationRequest(made.designation_id, "reject", "no"))
    rejected = decide_designation(
        core, _second(engine), DecideDesignationRequest(made.designation_id, "reject", "The tattoo is a common one.")
    )
    assert rejected.status == "rejected" and rejected.person_notice == ""
    with session_scope(engine) as session:
        row = session.get(Designation, made.designation_id)
        assert row is not None and row.person_name == "" and row.status == "rejected"
    assert _count(engine, DesignationCriterion) == 0
    assert list(list_designations(core, people.reviewer).as_dict()["proposals"]) == []


def test_network_association_alone_never_designates(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]
) -> None:
    """Bob is linked to everyone in the network; no chart, export or association-only request
    designates him, and a refused request is audited with its reasons."""
    core, people, _ = world
    chart = network_chart(core, people.reviewer, NetworkRequest(key_players=1))
    assert BOB in {n["id"] for n in chart.nodes} and chart.key_players_negative
    network_chart(core, people.reviewer, NetworkRequest(format="graphml"))
    assert _count(engine, Designation) == 0
    assert not any("designat" in key for node in chart.nodes for key in node)
    association_only = (
        CriterionInput("network_association", "Link chart: key player, 3 links", DAY),
        CriterionInput("seen_with_members", "Surveillance log 24-77", DAY),
        CriterionInput("association", "Named with members in intel:1", DAY),
    )
    with pytest.raises(InvalidRequest, match="never a criterion"):
        designate_member(core, people.reviewer, DesignationRequest("Bob Broker", "Crew", association_only, REVIEW))
    with pytest.raises(InvalidRequest, match="at least 2 different documented criteria"):
        designate_member(
            core, people.reviewer, DesignationRequest("Bob Broker", "Crew", (*association_only, ADMITS), REVIEW)
        )
    assert _count(engine, Designation) == 0
    with session_scope(engine) as session:
        refused = session.scalars(select(AuditEntry.action).where(AuditEntry.action == "designation_refused")).all()
    assert len(refused) == 2


def test_designation_pages(engine: Engine, tmp_path: Path) -> None:
    seed_network(engine, tmp_path)
    client = make_client(engine, tmp_path, clock=lambda: T0)
    login(client, "rev")
    page = client.get("/networks/designations")
    assert page.status_code == 200 and "Propose a designation" in page.text
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "person": "Bob Broker",
        "organisation": "North Side Crew",
        "review_due_on": REVIEW.isoformat(),
        "criterion_code": ["network_association", "seen_with_members", "", ""],
        "criterion_source": ["Link chart", "Surveillance log 24-77", "", ""],
        "criterion_date": [DAY.isoformat(), DAY.isoformat(), "", ""],
    }
    refused = client.post("/networks/designations", data=form)
    assert refused.status_code == 400
    assert "never a criterion" in refused.text and "No active designations" in refused.text
    form["criterion_code"] = ["self_admission", "tattoos", "", ""]
    form["criterion_source"] = [ADMITS.source, TATTOO.source, "", ""]
    assert ADMITS.observed_on is not None and TATTOO.observed_on is not None
    form["criterion_date"] = [ADMITS.observed_on.isoformat(), TATTOO.observed_on.isoformat(), "", ""]
    made = client.post("/networks/designations", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    (proposal,) = client.get("/api/v1/networks/designations").json()["proposals"]
    assert "your proposal" in client.get("/networks/designations").text
    own = client.post(
        f"/networks/designations/{proposal['id']}/decide",
        data={"csrf_token": token, "decision": "approve", "reason": "Approving my own proposal."},
    )
    assert own.status_code == 403 and "second person" in own.text
    _second(engine)
    second = make_client(engine, tmp_path / "second", clock=lambda: T0)
    login(second, "second-sup")
    approved = second.post(
        f"/api/v1/networks/designations/{proposal['id']}/decide",
        json={"decision": "approve", "reason": "Both criteria checked against the files."},
    )
    assert approved.status_code == 200 and "contest" in approved.json()["person_notice"]
    listed = client.get("/api/v1/networks/designations").json()["designations"]
    assert [d["person"] for d in listed] == ["Bob Broker"]
    review = client.post(
        f"/networks/designations/{listed[0]['id']}/review",
        data={"csrf_token": token, "outcome": "end", "reason": "Source withdrawn after review."},
        follow_redirects=False,
    )
    assert review.status_code == 303
    assert client.get("/api/v1/networks/designations").json()["designations"] == []


PROTECTED_WORDS = re.compile(r"\b(race|ethnicity|ethnic_origin|national_origin|nationality|religion)\b", re.IGNORECASE)


def test_protected_attributes_never_enter_a_designation(
    engine: Engine, world: tuple[OpenILP, Cast, dict[str, int]]
) -> None:
    """Bob is designated once before anything protected is known about him and once after his
    records and his person file carry race, ethnicity, national origin and religion: the decisions,
    the notices and the refusals are the same, no statement reads a protected field, and a
    protected attribute offered as a criterion is refused."""
    core, people, _ = world
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def decide(organisation: str) -> tuple[Any, ...]:
        event.listen(engine, "before_cursor_execute", record)
        try:
            made = designate_member(
                core, people.reviewer, DesignationRequest("Bob Broker", organisation, (ADMITS, TATTOO), REVIEW)
            )
            decided = decide_designation(
                core, _second(engine), DecideDesignationRequest(made.designation_id, "approve", "Criteria checked.")
            )
            with pytest.raises(InvalidRequest) as refused:
                designate_member(
                    core, people.reviewer, DesignationRequest("Bob Broker", organisation, (ADMITS,), REVIEW)
                )
        finally:
            event.remove(engine, "before_cursor_execute", record)
        outcome = {k: v for k, v in decided.as_dict().items() if k != "designation_id"}
        made_view = {k: v for k, v in made.as_dict().items() if k != "designation_id"}
        return (
            made_view,
            json.dumps(outcome, sort_keys=True, default=str).replace(organisation, "ORG"),
            str(refused.value),
        )

    before = decide("Northside Crew")
    # Now Bob's records and person file carry every protected attribute.
    description = "race: Black; ethnicity: Hispanic; national origin: Somalia; religion: Muslim"
    bob = SubjectInput("person", "criminal_subject", "Bob Broker", description)
    approve_record_as(core, people.reviewer, submit_record_as(core, people.analyst, [bob, person("Carl Courier")]))
    mapping = '[source]\nname = "bookings"\n[columns]\nrecord_id = "id"\nfirst_name = "first"\nsurname = "last"\n'
    rows = b"id,first,last,race,ethnicity,national_origin,religion\nk1,Bob,Broker,Black,Hispanic,Somali,Muslim\n"
    assert import_persons(core, None, ImportPersonsRequest(mapping, "bookings.csv", rows, "SLMPD")).rows_accepted == 1
    after = decide("Southside Crew")
    assert before == after
    assert statements and not [s for s in statements if PROTECTED_WORDS.search(s)]
    # The rule itself refuses a protected attribute as a criterion, whatever else is documented.
    for code in ("race", "ethnicity", "national_origin", "religion"):
        offered = (ADMITS, CriterionInput(code, "Booking sheet 24-0931", DAY))
        problems = check_designation(offered, designated_on=DAY, review_due_on=REVIEW)
        assert f"{code} is never a criterion: a protected attribute" in problems[0]
        with pytest.raises(InvalidRequest, match="protected attribute"):
            designate_member(core, people.reviewer, DesignationRequest("Bob Broker", "Crew", offered, REVIEW))
