"""Loading incidents for analysis: category expansion, local-calendar bounds, protected attributes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import shared_file
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from store_support import import_source

from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.events import EVENT_COLUMNS, EventQuery, expand_categories, load_events

HEADER = (
    "Complaint,CodedMonth,DateOccur,FlagCrime,FlagUnfounded,FlagAdministrative,Count,FlagCleanup,Crime,District,"
    "Description,ILEADSAddress,ILEADSStreet,Neighborhood,LocationName,LocationComment,CADAddress,CADStreet,XCoord,"
    "YCoord\n"
)


def _row(complaint: str, when: str, crime: int, x: float = 900000.0, y: float = 1020000.0) -> str:
    return f"{complaint},2019-01,{when},Y, , ,1, ,{crime},3,TEST,100,MAIN ST,22, , ,100,MAIN,{x},{y}\n"


@pytest.fixture
def small_store(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "january2019.csv"
    path.write_text(
        HEADER
        + _row("19-1", "01/31/2019 23:30", 51000)  # burglary, last half hour of January (local)
        + _row("19-2", "02/01/2019 00:10", 51000)  # burglary, first minutes of February
        + _row("19-3", "01/15/2019 12:00", 61000)  # larceny
        + _row("19-4", "01/16/2019 12:00", 31000)  # robbery
        + _row("19-5", "01/17/2019 12:00", 21000, 0, 0)  # rape, no location
    )
    import_source(engine, load_source_spec("stlouis"), [path])
    return engine


def test_event_columns_hold_no_protected_attribute() -> None:
    protected = ("race", "ethnic", "religio", "national", "origin", "gender", "sex_of", "age")
    assert not [c for c in EVENT_COLUMNS if any(word in c.lower() for word in protected)]


def test_local_calendar_bounds_and_categories(small_store: Engine) -> None:
    january = EventQuery("SLMPD", ("burglary",), dt.date(2019, 1, 1), dt.date(2019, 1, 31))
    frame, agency = load_events(small_store, january)
    assert agency.code == "SLMPD"
    assert list(frame.columns) == list(EVENT_COLUMNS)
    assert len(frame) == 1  # 23:30 on 31 January local time is 05:30 UTC on 1 February, still January
    assert frame["occurred_from"].iloc[0] == pd_timestamp("2019-02-01 05:30")
    property_ = load_events(small_store, EventQuery("SLMPD", ("property",)))[0]
    assert sorted(property_["category"]) == ["burglary", "burglary", "larceny"]
    everything = load_events(small_store, EventQuery("SLMPD", (), located_only=False))[0]
    assert len(everything) == 5
    located = load_events(small_store, EventQuery("SLMPD", ()))[0]
    assert len(located) == 4
    assert located["x_m"].notna().all()


def pd_timestamp(text_: str):  # noqa: ANN201 - tiny helper
    import pandas as pd

    return pd.Timestamp(text_)


def test_category_expansion_includes_refinements(engine: Engine) -> None:
    with Session(engine) as session:
        assert "burglary_residential" in expand_categories(session, ["burglary"])
        assert {"theft_from_vehicle", "bicycle_theft", "shoplifting", "larceny"} <= set(
            expand_categories(session, ["larceny"])
        )
        violent = expand_categories(session, ["violent"])
        assert "robbery" in violent and "burglary" not in violent
        with pytest.raises(ValueError, match="unknown category or crime group 'burglery'"):
            expand_categories(session, ["burglery"])


def test_bad_queries_fail_clearly(small_store: Engine) -> None:
    with pytest.raises(ValueError, match="unknown agency 'XX'"):
        load_events(small_store, EventQuery("XX"))
    with pytest.raises(ValueError, match="after date_to"):
        load_events(small_store, EventQuery("SLMPD", (), dt.date(2019, 2, 1), dt.date(2019, 1, 1)))


@pytest.mark.realdata
def test_real_month_loads(engine: Engine) -> None:
    import_source(engine, load_source_spec("stlouis"), [shared_file("stlouis", "monthly", "2019", "march2019.csv")])
    frame, _ = load_events(engine, EventQuery("SLMPD", ("burglary",)))
    assert len(frame) > 150
    assert frame["occurred_from"].is_monotonic_increasing
    with engine.connect() as connection:
        located = connection.execute(
            text("SELECT COUNT(*) FROM incidents WHERE category_code = 'burglary' AND location_status = 'located'")
        ).scalar()
    assert len(frame) == located
