"""The helpers the services share return typed results, and their JSON is the one the shells sent before.

Each helper that used to return ``dict[str, Any]`` now returns a frozen dataclass with ``as_dict()``
or, where the value is a document (a record's JSON, GeoJSON), a precise ``TypedDict``. These tests
check the typed value against its type (pydantic, strict) and the JSON against the documented keys
in their documented order, so the API and ``--json`` output stay byte for byte what they were.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from intel_support import T0, Cast, cast, make_core, make_user, submission
from sqlalchemy import Engine

from openilp.core import OpenILP
from openilp.core.boundaries import DEFAULT_LAYERS
from openilp.db import session_scope
from openilp.db.entity_models import EntityMention
from openilp.entities import PersonMatcher
from openilp.services.engine import MatcherBackend, matcher_options
from openilp.services.entities.clusters import FieldWeight, PairExplanation
from openilp.services.entities.common import MentionSummary, mention_summary
from openilp.services.entities.resolve import explanation_of
from openilp.services.intel.agreements import AgreementRequest, add_agreement
from openilp.services.intel.common import ITEM_FIELDS, released_view
from openilp.services.intel.dissemination import DisseminationRequest, disseminate
from openilp.services.intel.documents import RecordDocument, SubjectDocument
from openilp.services.intel.reading import ViewRecordRequest, view_record
from openilp.services.intel.records import ReviewRequest, SubmitRecordRequest, approve_record, submit_record
from openilp.services.problems.areas import AreaFeatureCollection, units_area

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _conforms(value: Any, hint: Any, where: str = "value") -> None:
    """``value`` is strictly of type ``hint``: a TypedDict (exactly its keys, in declared order),
    a list, a union with None, a Literal, or a plain type (no int for a str, no bool for an int)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return
    if typing.is_typeddict(hint):
        assert isinstance(value, dict), where
        hints = typing.get_type_hints(hint)
        missing = set(hint.__required_keys__) - set(value)
        assert not missing, f"{where}: {sorted(missing)} missing"
        assert set(value) <= set(hints), f"{where}: {sorted(set(value) - set(hints))} not in {hint.__name__}"
        assert [key for key in hints if key in value] == list(value), f"{where}: keys out of the documented order"
        for key, item in value.items():
            _conforms(item, hints[key], f"{where}.{key}")
    elif origin in (types.UnionType, typing.Union):
        assert value is None or any(_matches(value, a) for a in args if a is not type(None)), where
        if value is not None:
            _conforms(value, next(a for a in args if a is not type(None) and _matches(value, a)), where)
    elif origin is list:
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _conforms(item, args[0], f"{where}[{index}]")
    elif origin is typing.Literal:
        assert value in args, where
    else:
        assert type(value) is hint, f"{where}: {type(value).__name__} is not {hint.__name__}"


def _matches(value: Any, hint: Any) -> bool:
    try:
        _conforms(value, hint)
    except AssertionError:
        return False
    return True


# --- record_dict and released_view: the record's JSON document ---------------------------------------------


@pytest.fixture
def people(engine: Engine) -> Cast:
    return cast(engine)


@pytest.fixture
def core(engine: Engine, tmp_path: Path) -> OpenILP:
    return make_core(engine, tmp_path)


def test_record_document_is_typed_and_keeps_its_order(engine: Engine, core: OpenILP, people: Cast) -> None:
    record = submit_record(core, people.analyst, SubmitRecordRequest(submission(people.analyst.id)))
    approve_record(core, people.reviewer, ReviewRequest(record.id, reason="Predicate checked against file."))
    with session_scope(engine) as session:
        admin = make_user(session, "admin", "administrator")
    add_agreement(
        core,
        admin,
        AgreementRequest("OTHER", reference="MOU 2024/7", version="1.0", valid_from=T0 - dt.timedelta(days=30)),
    )
    disseminate(
        core,
        people.analyst,
        DisseminationRequest(
            record.id,
            recipient_agency="OTHER",
            recipient_username="other-ana",
            purpose="joint operation 24-77",
            need_to_know="OTHER runs the buy-bust at the same garage",
            items=("subjects",),
        ),
    )
    purpose = ViewRecordRequest(record.id, purpose="joint operation 24-77")

    own = view_record(core, people.analyst, purpose)
    _conforms(own.document, RecordDocument)
    assert list(own.document) == list(RecordDocument.__annotations__)  # the owner's view has every key
    for subject in own.subjects:
        _conforms(subject, SubjectDocument)
    assert json.dumps(own.as_dict()) == json.dumps(own.document)

    released = view_record(core, people.other_analyst, purpose)
    _conforms(released.document, RecordDocument)
    always = set(RecordDocument.__required_keys__)
    assert set(released.document) == always | set(ITEM_FIELDS["subjects"])
    assert list(released.document) == [key for key in own.document if key in released.document]
    assert released.document["subjects"] == own.document["subjects"]


def test_released_view_drops_only_withheld_items_and_leaves_the_document_alone() -> None:
    document: RecordDocument = {
        "id": 7,
        "status": "approved",
        "file_type": "permanent",
        "agency": {"id": 1, "name": "Metro"},
        "control_official": "Ana (ana)",
        "submitted_at": "2024-03-01T12:00:00+00:00",
        "approved_at": None,
        "retention_expires_at": None,
        "purged_at": None,
        "sensitivity": "open",
        "grading": {"scheme": "admiralty", "source": "B", "information": "2", "label": "B2"},
        "handling_code": "P",
        "tlp": "TLP:AMBER",
        "handling_conditions": "",
        "title": "t",
        "summary": "s",
        "offence_category": None,
        "subjects": [],
    }
    before = json.dumps(document)
    view = released_view(document, {"labels"})
    assert json.dumps(document) == before
    _conforms(view, RecordDocument)
    assert [k for k in view if k not in document] == []
    assert {"sensitivity", "grading", "handling_code"} <= set(view)
    assert not {"title", "summary", "offence_category", "subjects"} & set(view)


# --- mention_summary -----------------------------------------------------------------------------------------


def test_mention_summary_is_a_frozen_result_with_the_same_json() -> None:
    mention = EntityMention(
        id=41,
        kind="vehicle",
        source="alpr",
        source_record_id="r1",
        file_name="reads.csv",
        line_number=3,
        display_name="Blue Ford Focus",
        date_of_birth=dt.date(1990, 2, 3),
        street_number="12",
        street="Main St",
        locality="St. Louis",
        plate="ABC123",
        plate_state="MO",
        colour="blue",
        make="Ford",
        model="Focus",
        seen_on=dt.date(2024, 3, 1),
        x_m=10.5,
        y_m=None,
    )
    summary = mention_summary(mention)
    assert isinstance(summary, MentionSummary) and dataclasses.is_dataclass(summary)
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.display_name = "x"  # type: ignore[misc]
    data = summary.as_dict()
    assert list(data) == [f.name for f in dataclasses.fields(MentionSummary)]
    assert data["address"] == "12 Main St St. Louis" and data["vehicle"] == "blue Ford Focus"
    assert data["date_of_birth"] == "1990-02-03" and data["seen_on"] == "2024-03-01"
    assert data["mention_id"] == 41 and data["x_m"] == 10.5 and data["y_m"] is None
    # What the services sent before: the ORM attributes under the same names (dates as ISO text).
    for name in ("kind", "source", "source_record_id", "file_name", "line_number", "plate", "plate_state"):
        assert data[name] == getattr(mention, name)
    json.dumps(data)  # JSON-ready as it is


# --- explanation_of and the things' explanation ------------------------------------------------------------


def test_explanation_of_keeps_its_stored_json() -> None:
    pair = {"gamma_surname": 3, "mw_surname": 7.123456, "gamma_dob_text": 0, "mw_dob_text": -4.5, "match_weight": 2.6}
    explanation = explanation_of(pair, ["surname", "dob_text", "postcode"], prior_weight=-9.876543)
    assert isinstance(explanation, PairExplanation)
    stored = explanation.as_json()
    assert list(json.loads(stored)) == ["prior_weight", "fields", "match_weight"]
    assert json.loads(stored) == {
        "prior_weight": round(-9.876543, 4),
        "fields": {
            "surname": {"level": 3, "weight": round(7.123456, 4)},
            "dob_text": {"level": 0, "weight": -4.5},
        },
        "match_weight": 2.6,
    }
    assert PairExplanation.from_json(stored) == explanation
    assert PairExplanation.from_json(stored).as_json() == stored


def test_a_rule_explanation_names_its_rule_first() -> None:
    explanation = PairExplanation(
        0.0, {"plate_ocr": FieldWeight(1, 6.6439)}, 6.6439, "plate_ocr", "a reader's confusion"
    )
    assert list(explanation.as_dict()) == ["rule", "reason", "prior_weight", "fields", "match_weight"]
    assert PairExplanation.from_json(explanation.as_json()) == explanation


# --- matcher_options -----------------------------------------------------------------------------------------


def test_matcher_backend_on_the_local_engine_is_the_matchers_default(core: OpenILP) -> None:
    backend = matcher_options(core)
    assert backend == MatcherBackend("duckdb", None)
    configured = PersonMatcher(backend=backend.backend, spark_session=backend.spark_session)
    assert configured == PersonMatcher()
    with pytest.raises(dataclasses.FrozenInstanceError):
        backend.backend = "spark"  # type: ignore[misc]


# --- units_area and area_from_units --------------------------------------------------------------------------


def test_units_area_is_a_geojson_feature_collection() -> None:
    layer = DEFAULT_LAYERS["SLMPD"].path
    area = units_area(layer, ["Dutchtown", "Carondelet", "Dutchtown"])
    _conforms(area, AreaFeatureCollection)
    assert [f["properties"]["name"] for f in area["features"]] == ["Dutchtown", "Carondelet"]
    source = {
        f["properties"].get("NHD_NAME"): f["geometry"]
        for f in json.loads(layer.read_text(encoding="utf-8"))["features"]
    }
    assert area["features"][0]["geometry"] == source["Dutchtown"]
    assert list(area) == ["type", "features"] and list(area["features"][0]) == ["type", "properties", "geometry"]


# --- the forecasting method: one check for every request that names one --------------------------------------


def test_every_request_names_an_unknown_method_the_same_way() -> None:
    from openilp.errors import InvalidRequest
    from openilp.services.analysis.forecasting import BacktestRequest, ForecastRequest, backtest_forecasters
    from openilp.services.analysis.gates import JustifyRequest
    from openilp.services.analysis.tasking import DeployRequest

    checks = {
        "forecast": lambda: ForecastRequest(method="oracle").validate(),
        "deployment": lambda: DeployRequest(method="oracle").validate(),
        "justification": lambda: JustifyRequest(method="oracle", justification="a long enough reason").validate(),
        "backtest": lambda: BacktestRequest(
            date_from=dt.date(2018, 1, 1), date_to=dt.date(2018, 3, 1), methods=("oracle",)
        ).validate(),
        "backtest forecasters": lambda: backtest_forecasters(["oracle"]),
    }
    messages = {}
    for name, check in checks.items():
        with pytest.raises(InvalidRequest) as refused:
            check()
        messages[name] = str(refused.value)
    assert len(set(messages.values())) == 1, messages
    assert next(iter(messages.values())).startswith("unknown forecasting method 'oracle'; choose from naive, kde")


# --- the day a page proposes: a service call on the core, the reader's agency only ----------------------------


def test_latest_day_is_the_readers_agency_only(core: OpenILP, people: Cast) -> None:
    from openilp.errors import NotPermitted
    from openilp.services.analysis.common import latest_day, latest_incident_date

    assert latest_day(core, people.analyst) == latest_incident_date(core.engine, people.analyst.agency_code)
    with pytest.raises(NotPermitted, match="own agency"):
        latest_day(core, people.analyst, "OTHER")
    with pytest.raises(NotPermitted, match="tasking:plan"):
        latest_day(core, people.partner, permission="tasking:plan")
