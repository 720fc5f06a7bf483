"""Reported versus discovered: how each incident came to police attention, and what forecasts learn from.

Incidents carry ``attention`` ("reported" by the public, "discovered" by police, "unknown"): the
source description's ``[attention]`` rule decides, else the category's default. Forecasts and the
patrol plans built on them train on reported crime; unweighted discovered incidents are refused.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from pathlib import Path

import pytest
import tasking_support as ts
from conftest import shared_file
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from store_support import import_source

from openilp.db import session_scope
from openilp.db.models import Incident
from openilp.errors import InvalidRequest
from openilp.ingest.categories import ATTENTION_VALUES, category_attention, load_category_definitions
from openilp.ingest.spec import SpecError, load_source_spec, parse_source_spec
from openilp.services.analysis.forecasting import ForecastRequest, run_forecast

DOCS = Path(__file__).resolve().parent.parent / "docs" / "civil-rights.md"


def test_every_category_has_a_default_with_a_reason() -> None:
    defaults = category_attention()
    assert set(defaults) == set(load_category_definitions())
    for code, (attention, reason) in defaults.items():
        assert attention in ATTENTION_VALUES, code
        assert len(reason) >= 15, code
    # Mostly officer-discovered categories (Lum & Isaac 2016): drugs, weapons, prostitution.
    for code in ("drugs", "weapons", "sex_offence_other", "dui", "stolen_property"):
        assert defaults[code][0] == "discovered", code
    for code in ("burglary", "robbery", "motor_vehicle_theft", "larceny", "homicide"):
        assert defaults[code][0] == "reported", code


def test_the_guide_lists_every_category_default_and_its_reason() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| (reported|discovered|unknown) \|", text, flags=re.M))
    assert rows == {code: attention for code, (attention, _) in category_attention().items()}
    for _, reason in category_attention().values():
        assert reason in text


def _spec(attention: str) -> dict[str, object]:
    return {
        "source": {"name": "t"},
        "agency": {"code": "T", "name": "T", "timezone": "UTC", "crs": "EPSG:32126"},
        "occurred": {"from": {"column": "d", "format": "%Y-%m-%d"}, "precision": "day"},
        "offence": {"code": "c", "codes": {"B": "burglary"}},
        **({"attention": eval(attention)} if attention else {}),  # noqa: S307 - literal test tables
    }


def test_the_attention_rule_is_checked_when_the_source_is_read() -> None:
    spec = parse_source_spec(_spec('{"column": "how", "discovered": ["OI"], "other": "reported"}'), Path("t.toml"))
    assert spec.attention.column == "how" and spec.attention.discovered == ("OI",)
    assert "how" in spec.required_columns()
    assert parse_source_spec(_spec(""), Path("t.toml")).attention.other == "category"
    with pytest.raises(SpecError, match="other"):
        parse_source_spec(_spec('{"other": "sometimes"}'), Path("t.toml"))
    with pytest.raises(SpecError, match="column"):
        parse_source_spec(_spec('{"discovered": ["OI"]}'), Path("t.toml"))
    with pytest.raises(SpecError, match="both"):
        parse_source_spec(_spec('{"column": "h", "discovered": ["X"], "reported": ["X"]}'), Path("t.toml"))
    with pytest.raises(SpecError, match="allowed"):
        parse_source_spec(_spec('{"colum": "h"}'), Path("t.toml"))


@pytest.mark.realdata
def test_portland_calls_are_imported_with_the_call_source_mapped(sqlite_engine: Engine) -> None:
    path = shared_file("portland_nij", "portland_cfs_2016_aug_sep.csv.gz")
    rule = load_source_spec("portland_nij").attention
    assert rule.column == "final_case_type" and rule.other == "reported"
    # Counted independently of the importer, with the csv module (the one empty row is rejected).
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        types = Counter(row["final_case_type"].strip() for row in csv.DictReader(handle))
    types.pop("", None)
    officer = sum(n for code, n in types.items() if code in {"TRASTP", "SUBSTP", "WARR", "AREACK", "PREMCK"})
    unknown = types["FOLLOW"] + types["W26"]
    assert officer == 3 + 2 + 146 + 1231 + 582

    import_source(sqlite_engine, "portland_nij", [path])
    with Session(sqlite_engine) as session:
        counts = dict(session.execute(select(Incident.attention, func.count()).group_by(Incident.attention)).all())
        vice = session.scalar(select(Incident.attention).where(Incident.offence_code == "VICE").limit(1))
    assert counts == {"discovered": officer, "unknown": unknown, "reported": sum(types.values()) - officer - unknown}
    # A caller reporting vice is a report, whatever the category's default (public order: unknown).
    assert vice == "reported"


def test_st_louis_and_chicago_declare_their_rules(sqlite_engine: Engine) -> None:
    stlouis = load_source_spec("stlouis").attention
    assert stlouis.column == "Crime" and stlouis.other == "category"
    assert load_source_spec("chicago").attention.column == "primary_type"
    assert load_source_spec("chicago_burglary").attention.other == "reported"
    import_source(sqlite_engine, "stlouis", [shared_file("stlouis", "monthly", "2019", "april2019.csv")])
    with Session(sqlite_engine) as session:
        by_code = dict(
            session.execute(
                select(Incident.offence_code, Incident.attention)
                .where(Incident.offence_code.in_(("152200", "250000", "182400")))
                .group_by(Incident.offence_code, Incident.attention)
            ).all()
        )
    # Shots in the city are called in (reported) though weapons are mostly discovered; begging is
    # found by officers; drug possession keeps its category's default.
    assert by_code.get("152200") == "reported" and by_code.get("250000") == "discovered"
    assert by_code.get("182400") == "discovered"
    # Chicago: interference with a public officer (FBI code 24, public order) happens in front of officers.
    with gzip.open(shared_file("chicago_sample", "chicago_crimes_sample_25k.csv.gz"), "rt", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sample = [r for r in rows if r["primary_type"] in ("INTERFERENCE WITH PUBLIC OFFICER", "BATTERY", "OTHER OFFENSE")]
    small = Path(sqlite_engine.url.database or "").parent / "chicago_small.csv"
    with small.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(sample[:600])
    import_source(sqlite_engine, "chicago", [small])
    with Session(sqlite_engine) as session:
        seen = dict(
            session.execute(
                select(Incident.offence_description, Incident.attention)
                .where(Incident.source == "chicago")
                .group_by(Incident.offence_description, Incident.attention)
            ).all()
        )
    assert seen == {"INTERFERENCE WITH PUBLIC OFFICER": "discovered", "BATTERY": "reported", "OTHER OFFENSE": "unknown"}


def test_without_a_rule_each_category_gets_its_default(sqlite_engine: Engine) -> None:
    ts.seed_store(sqlite_engine, ts.history()[:20], "b")
    ts.seed_store(sqlite_engine, ts.history(1)[:10], "d", category="drugs")
    with Session(sqlite_engine) as session:
        counts = dict(
            session.execute(
                select(Incident.category_code, Incident.attention).group_by(Incident.category_code, Incident.attention)
            ).all()
        )
    assert counts == {"burglary": "reported", "drugs": "discovered"}


def _forecast(engine: Engine, categories: tuple[str, ...], training: str = "reported") -> int:
    request = ForecastRequest(ts.AGENCY, categories, ts.AS_OF, "naive", 200.0, training=training)
    return run_forecast(ts.core_of(engine), None, request).forecaster.n_events_


def test_forecasts_train_on_reported_crime_and_refuse_unweighted_discovered(engine: Engine) -> None:
    ts.seed_store(engine, ts.history(), "b")
    ts.seed_store(engine, ts.history(2), "d", category="drugs")
    burglaries = len(ts.history())

    # A mixed group ("society" includes drugs) and every category as context: discovered incidents stay out.
    assert _forecast(engine, ("burglary",)) == burglaries
    assert _forecast(engine, ("burglary", "drugs")) == burglaries

    # A forecast of discovered incidents alone is refused with the reason.
    with pytest.raises(InvalidRequest, match="discovered by police") as refused:
        _forecast(engine, ("drugs",))
    assert "Ensign" in str(refused.value)
    # So is asking for unweighted discovered incidents outright, before anything is read.
    for training in ("all", "discovered", "unweighted"):
        with pytest.raises(InvalidRequest, match="unweighted discovered incidents"):
            ForecastRequest(ts.AGENCY, ("burglary",), ts.AS_OF, "naive", training=training).validate()

    # Weighted training needs a logged propensity on every discovered incident.
    with pytest.raises(InvalidRequest, match="no logged patrol propensity"):
        _forecast(engine, ("burglary", "drugs"), training="weighted")
    with session_scope(engine) as session:
        ids = session.scalars(select(Incident.id).where(Incident.category_code == "drugs").order_by(Incident.id)).all()
        half = len(ids) // 2
        session.execute(update(Incident).where(Incident.id.in_(ids[:half])).values(patrol_propensity=1.0))
        session.execute(update(Incident).where(Incident.id.in_(ids[half:])).values(patrol_propensity=0.25))
    weighted = _forecast(engine, ("burglary", "drugs"), training="weighted")
    # Kept with probability min(P)/P: all of the rare-patrol half, about a quarter of the other.
    kept = weighted - burglaries
    assert len(ids) - half <= kept < len(ids) - half + half * 0.25 + 3 * (half * 0.25 * 0.75) ** 0.5
