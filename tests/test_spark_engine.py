"""Same numbers on both engines: every Spark-capable analysis against the local path on real data.

Three months of St. Louis incidents (October to December 2019) in one store, analysed by two core
objects that differ only in ``engine``: ``local`` and ``spark`` on ``local[2]``. Counts must be
identical; statistics within 1e-9 (in practice they are identical too, being computed by the same
code on the same counts). One SparkSession serves the module.

Needs PySpark (the ``dev`` and ``spark`` extras) and Java 17 (``.ci/run`` installs
``openjdk-17-jre-headless``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file
from sqlalchemy import Engine
from store_support import core_for, import_source

from openilp.analysis.areas import PolygonAreas
from openilp.core import OpenILP
from openilp.db import make_engine, migrate
from openilp.ingest.spec import load_source_spec
from openilp.services.analysis.events import EventQuery, load_events
from openilp.services.analysis.forecasting import BacktestRequest, run_backtest
from openilp.services.analysis.hotspots import HotspotRequest, run_hotspots
from openilp.services.analysis.nearrepeat import KnoxRequest, run_knox

pyspark = pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (openjdk-17-jre-headless)"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

MONTHS = ("october2019.csv", "november2019.csv", "december2019.csv")
DECEMBER = {"date_from": dt.date(2019, 12, 1), "date_to": dt.date(2019, 12, 31)}


def assert_close(local: Any, spark: Any) -> None:
    np.testing.assert_allclose(np.asarray(spark, dtype=float), np.asarray(local, dtype=float), rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    folder = tmp_path_factory.mktemp("spark-engine")
    engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
    migrate(engine)
    paths = [shared_file("stlouis", "monthly", "2019", month) for month in MONTHS]
    import_source(engine, load_source_spec("stlouis"), paths)
    yield engine, folder
    engine.dispose()


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    from openilp.spark.session import spark_session

    spark = spark_session("local[2]")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def cores(store: tuple[Engine, Path], session: Any) -> tuple[OpenILP, OpenILP]:
    engine, folder = store
    local = core_for(engine, folder / "local")
    spark = core_for(engine, folder / "spark", engine="spark", spark_master="local[2]")
    return local, spark


def test_hot_spot_counts_and_gi_star_are_the_same_on_spark(cores: tuple[OpenILP, OpenILP]) -> None:
    """Every incident of December 2019 on 150 m cells; the neighbourhood chosen from the counts."""
    local, spark = (run_hotspots(core, None, HotspotRequest(**DECEMBER)) for core in cores)
    assert local.counts.sum() > 2500 and local.grid.n_units > 5000
    np.testing.assert_array_equal(spark.counts, local.counts)
    assert spark.neighbourhood_m == local.neighbourhood_m
    for name in ("gi_z", "gi_p", "gi_q", "kde_per_km2"):
        assert_close(getattr(local, name), getattr(spark, name))
    np.testing.assert_array_equal(spark.gi_class, local.gi_class)
    assert local.n_hot > 0


def test_polygon_and_grouped_counts_are_the_same_on_spark(cores: tuple[OpenILP, OpenILP], session: Any) -> None:
    """Counts per St. Louis neighbourhood (polygons) and per category × neighbourhood."""
    from openilp.spark.units import spark_unit_counts, spark_unit_counts_by

    local, _ = cores
    events, agency = load_events(local.engine, EventQuery("SLMPD"))
    path = shared_file("stlouis", "stl_neighborhoods_wgs84.geojson")
    areas = PolygonAreas.from_geojson(path, id_property="NHD_NUM", target_crs=agency.crs)
    x, y = events["x_m"].to_numpy(dtype=float), events["y_m"].to_numpy(dtype=float)
    expected = areas.count(x, y)
    assert expected.sum() > 10_000 and (expected > 0).sum() > 50
    np.testing.assert_array_equal(spark_unit_counts(session, events, areas), expected)

    grouped = spark_unit_counts_by(session, events, areas, by=["category"])
    unit = areas.assign(x, y)
    reference = (
        events.assign(unit=unit)[unit >= 0]
        .groupby(["category", "unit"])
        .size()
        .rename("count")
        .reset_index()
        .sort_values(["category", "unit"], ignore_index=True)
    )
    pd.testing.assert_frame_equal(grouped, reference, check_dtype=False)


def test_knox_counts_and_p_values_are_the_same_on_spark(cores: tuple[OpenILP, OpenILP]) -> None:
    """Burglary October-December 2019, 99 permutations: each task draws the same seeded permutations."""
    request = KnoxRequest(date_from=dt.date(2019, 10, 1), date_to=dt.date(2019, 12, 31), permutations=99, seed=7)
    local, spark = (run_knox(core, None, request) for core in cores)
    assert local.n_pairs > 1000
    assert (spark.n_events, spark.n_pairs) == (local.n_events, local.n_pairs)
    np.testing.assert_array_equal(spark.table["observed"], local.table["observed"])
    for column in ("expected", "knox_ratio", "z_score", "p_value"):
        assert_close(local.table[column], spark.table[column])
    assert spark.summary == local.summary


def test_backtest_scores_are_the_same_on_spark(cores: tuple[OpenILP, OpenILP]) -> None:
    """Weekly burglary forecasts over December 2019, one Spark task per origin."""
    request = BacktestRequest(
        methods=("naive", "kde", "prospective"),
        history_days=61,
        date_from=dt.date(2019, 12, 1),
        date_to=dt.date(2019, 12, 28),
    )
    local, spark = (run_backtest(core, None, request).backtest for core in cores)
    assert local.scores["origin"].nunique() == 4
    left, right = (r.scores.drop(columns="fit_s") for r in (local, spark))
    pd.testing.assert_frame_equal(right[left.columns], left, check_exact=False, rtol=0, atol=1e-9)
    assert set(spark.curves) == set(local.curves)
    for method, curve in local.curves.items():
        assert_close(curve, spark.curves[method])


def test_entity_resolution_takes_its_backend_from_the_engine_setting(
    cores: tuple[OpenILP, OpenILP], session: Any
) -> None:
    """The resolve service builds its PersonMatcher with these options (FEBRL 3 parity: test_entities_spark)."""
    from openilp.services.engine import MatcherBackend, matcher_options

    local, spark = cores
    assert matcher_options(local) == MatcherBackend("duckdb", None)
    options = matcher_options(spark)
    assert options.backend == "spark"
    assert options.spark_session.sparkContext.applicationId == session.sparkContext.applicationId
    jars = options.spark_session.sparkContext.getConf().get("spark.jars", "")
    assert "similarity" in jars.lower()  # Splink's similarity functions, from the Splink wheel
