"""Helpers for the network tests: a store with intelligence records in two agencies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from intel_support import T0, Cast, cast, make_core, make_user, submission
from sqlalchemy import Engine

from openilp.core import OpenILP
from openilp.db import session_scope
from openilp.intel.rules import SubjectInput
from openilp.security.actors import UserInfo
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.dissemination import DisseminationRequest, disseminate
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record

JOHNNY, BOB, CARL, DAVE, PAM = (
    "person:johnny suspect",
    "person:bob broker",
    "person:carl courier",
    "person:dave distant",
    "person:pam pending",
)
VAN = "vehicle:grey van"


def person(name: str) -> SubjectInput:
    return SubjectInput("person", "criminal_subject", name, "")


def submit_record_as(core: OpenILP, author: UserInfo, subjects: list[SubjectInput]) -> int:
    """Submit a valid record naming ``subjects``; its id."""
    return submit_record(core, author, SubmitRecordRequest(submission(author.id, subjects=subjects))).id


def approve_record_as(core: OpenILP, reviewer: UserInfo, record_id: int) -> None:
    approve_record(core, reviewer, ReviewRequest(record_id, reason="Predicate checked against the file."))


def seed_network(engine: Engine, data_dir: Path) -> tuple[OpenILP, Cast, dict[str, int]]:
    """Four records: A and C approved in SLMPD (A released to OTHER), B pending, D approved in OTHER.

    A names Johnny Suspect, Bob Broker, the Grey Van (and Mary Innocent as non-criminal identifying
    information); B Bob and Pam Pending; C Bob, Carl Courier and the van; D (OTHER) Carl and Dave Distant.
    """
    core = make_core(engine, data_dir)
    people = cast(engine)
    van = SubjectInput("vehicle", "criminal_subject", "Grey  Van", "plate XYZ987")
    innocent = SubjectInput("person", "non_criminal_identifier", "Mary Innocent", "registered keeper")
    a = submit_record_as(core, people.analyst, [person("Johnny Suspect"), person("Bob Broker"), van, innocent])
    b = submit_record_as(core, people.analyst, [person("Bob Broker"), person("Pam Pending")])
    c = submit_record_as(core, people.analyst, [person("Bob Broker"), person("Carl Courier"), van])
    d = submit_record_as(core, people.other_analyst, [person("Carl Courier"), person("Dave Distant")])
    approve_record_as(core, people.reviewer, a)
    approve_record_as(core, people.reviewer, c)
    approve_record_as(core, people.other_reviewer, d)
    with session_scope(engine) as session:
        admin = make_user(session, "admin", "administrator")
    agreement = AgreementRequest("OTHER", reference="MOU 2024/7", version="1", valid_from=T0 - dt.timedelta(days=30))
    add_agreement(core, admin, agreement)
    disseminate(
        core,
        people.analyst,
        DisseminationRequest(
            a,
            recipient_agency="OTHER",
            recipient_username="other-ana",
            purpose="joint operation 24-77",
            need_to_know="OTHER runs the buy-bust at the same garage",
            items=("summary", "subjects"),
        ),
    )
    return core, people, {"A": a, "B": b, "C": c, "D": d}
