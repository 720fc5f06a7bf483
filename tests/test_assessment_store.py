"""Assessment from the store (service and CLI) on a small St. Louis-format file with known counts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyproj
import pytest
from sqlalchemy import Engine
from store_support import core_for, import_source
from test_cli import cli_env, invoke  # noqa: F401  (fixture re-used)
from test_events import HEADER

from openilp.analysis.assessment.series import AssessmentWindows
from openilp.core import OpenILP
from openilp.errors import InvalidRequest
from openilp.ingest.spec import load_source_spec
from openilp.services.problems.assessment import AssessmentRequest, assess_from_store

# Two places about 5 km apart, in the source's coordinates (Missouri East state plane, US feet).
TARGET_XY = (900000.0, 1020000.0)
CONTROL_XY = (916000.0, 1020000.0)
TO_LONLAT = pyproj.Transformer.from_crs("ESRI:102696", "EPSG:4326", always_xy=True)


def _square(x: float, y: float, half_ft: float = 600.0) -> dict:
    corners = [
        (x - half_ft, y - half_ft),
        (x + half_ft, y - half_ft),
        (x + half_ft, y + half_ft),
        (x - half_ft, y + half_ft),
    ]
    ring = [list(TO_LONLAT.transform(cx, cy)) for cx, cy in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _rows(prefix: str, xy: tuple[float, float], dates: list[str]) -> str:
    return "".join(
        f"{prefix}-{i},2019-01,{day} 12:00,Y, , ,1, ,51000,3,TEST,100,MAIN ST,22, , ,100,MAIN,{xy[0] + i},{xy[1]}\n"
        for i, day in enumerate(dates)
    )


def _days(start: dt.date, count: int, step: int) -> list[str]:
    return [(start + dt.timedelta(days=step * k)).strftime("%m/%d/%Y") for k in range(count)]


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    pre, post = dt.date(2019, 1, 1), dt.date(2019, 4, 1)
    text = (
        HEADER
        + _rows("T0", TARGET_XY, _days(pre, 30, 3))  # 30 before
        + _rows("T1", TARGET_XY, _days(post, 12, 7))  # 12 after
        + _rows("C0", CONTROL_XY, _days(pre, 28, 3))
        + _rows("C1", CONTROL_XY, _days(post, 27, 3))
    )
    path = tmp_path / "january2019.csv"
    path.write_text(text)
    (tmp_path / "target.geojson").write_text(json.dumps(_square(*TARGET_XY)))
    (tmp_path / "control.geojson").write_text(json.dumps({"type": "Feature", "geometry": _square(*CONTROL_XY)}))
    (tmp_path / "overlap.geojson").write_text(json.dumps(_square(TARGET_XY[0] + 300, TARGET_XY[1])))
    return path


WINDOWS = AssessmentWindows(dt.date(2019, 1, 1), dt.date(2019, 4, 1), dt.date(2019, 6, 29))


def _core(engine: Engine, folder: Path) -> OpenILP:
    return core_for(engine, folder)


def _geojson(path: Path) -> dict:
    """The command line reads area files; the service takes the GeoJSON."""
    return json.loads(path.read_text())


def test_service_counts_and_methods(engine: Engine, store_file: Path) -> None:
    import_source(engine, load_source_spec("stlouis"), [store_file])
    folder = store_file.parent
    request = AssessmentRequest(
        agency_code="SLMPD",
        windows=WINDOWS,
        target=_geojson(folder / "target.geojson"),
        control=_geojson(folder / "control.geojson"),
        categories=("burglary",),
        goal_reduction=0.3,
        harm_weights={"burglary": 5.0},
    )
    result = assess_from_store(_core(engine, folder), None, request)
    counts = result.report["counts"]
    assert (counts["target"]["pre"], counts["target"]["post"]) == (30, 12)
    assert (counts["control"]["pre"], counts["control"]["post"]) == (28, 27)
    assert (counts["buffer"]["pre"], counts["buffer"]["post"]) == (0, 0)
    assert result.report["windows"]["pre_days"] == 90 and result.report["windows"]["post_days"] == 90
    assert result.report["wdd"]["estimate"] == pytest.approx((12 - 30) - (27 - 28))
    assert {"wdq", "rate_ratio", "etest", "dispersion", "did", "wdd_quasi", "power", "harm"} <= set(result.report)
    assert len(result.weekly) == 12 + 12 and int(result.weekly["target"].sum()) <= 42
    features = result.areas_geojson()["features"]
    assert [f["properties"]["area"] for f in features] == ["target", "buffer", "control", "control_buffer"]


def test_service_bad_input(engine: Engine, store_file: Path) -> None:
    import_source(engine, load_source_spec("stlouis"), [store_file])
    folder = store_file.parent
    core = _core(engine, folder)
    base = {"agency_code": "SLMPD", "windows": WINDOWS, "target": _geojson(folder / "target.geojson")}
    with pytest.raises(ValueError, match="overlaps the target"):
        assess_from_store(core, None, AssessmentRequest(**base, control=_geojson(folder / "overlap.geojson")))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="candidate polygons"):
        assess_from_store(core, None, AssessmentRequest(**base))  # type: ignore[arg-type]
    empty = AssessmentWindows(dt.date(2018, 1, 1), dt.date(2018, 3, 1), dt.date(2018, 5, 1))
    with pytest.raises(ValueError, match="baseline is empty"):
        assess_from_store(
            core,
            None,
            AssessmentRequest(
                agency_code="SLMPD",
                windows=empty,
                target=_geojson(folder / "target.geojson"),
                control=_geojson(folder / "control.geojson"),
            ),
        )
    # A file name is not an area: the service never opens it (the command line reads files).
    with pytest.raises(InvalidRequest, match="not a file name"):
        assess_from_store(core, None, AssessmentRequest(**{**base, "target": str(folder / "target.geojson")}))  # type: ignore[arg-type]


def test_cli_counts_json_reproduces_paper(cli_env: dict[str, str]) -> None:  # noqa: F811
    code, output = invoke(
        "assess", "counts", "--treated", "207,110", "--control", "308,318", "--buffer", "178,157",
        "--control-buffer", "150,140", "--json",
    )  # fmt: skip
    assert code == 0, output
    report = json.loads(output)
    assert report["wdd"]["estimate"] == -118
    assert [round(v, 1) for v in report["wdd"]["confidence_interval"]] == [-195.6, -40.4]
    assert round(report["wdq"]["wdq"], 3) == 0.258


def test_cli_counts_from_json_and_errors(cli_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    source = tmp_path / "counts.json"
    source.write_text(json.dumps({"target": [20, 10], "control": [20, 20]}))
    code, output = invoke("assess", "counts", "--from-json", str(source), "--alpha", "0.1", "--json")
    assert code == 0, output
    assert [round(v, 2) for v in json.loads(output)["wdd"]["confidence_interval"]] == [-23.76, 3.76]
    code, output = invoke("assess", "counts", "--treated", "0,5", "--control", "5,5")
    assert code == 1 and "baseline" in output
    code, output = invoke("assess", "counts", "--treated", "7")
    assert code == 1 and "pre,post" in output


def test_cli_power(cli_env: dict[str, str]) -> None:  # noqa: F811
    code, output = invoke("assess", "power", "--treated-pre", "50", "--control-pre", "50", "--json")
    assert code == 0, output
    check = json.loads(output)
    assert round(check["wdd_mde_crimes"], 1) == 39.6 and not check["detectable"]
    code, output = invoke("assess", "power", "--treated-pre", "50", "--control-pre", "50")
    assert code == 0 and "cannot detect the goal" in output


def test_cli_store(cli_env: dict[str, str], store_file: Path) -> None:  # noqa: F811
    code, output = invoke("import", "stlouis", str(store_file))
    assert code == 0, output
    folder = store_file.parent
    args = ["assess", "store", "--agency", "SLMPD", "--target", str(folder / "target.geojson")]
    args += ["--control", str(folder / "control.geojson"), "--pre-start", "2019-01-01"]
    args += ["--response-start", "2019-04-01", "--response-end", "2019-06-29", "--category", "burglary"]
    args += ["--chart", str(folder / "chart.svg"), "--areas-out", str(folder / "areas.geojson"), "--json"]
    code, output = invoke(*args)
    assert code == 0, output
    assert json.loads(output)["counts"]["target"] == {"pre": 30.0, "post": 12.0}
    assert b"<svg" in (folder / "chart.svg").read_bytes()
    assert len(json.loads((folder / "areas.geojson").read_text())["features"]) == 4
    code, output = invoke(*args[:-1], "--response-start", "2019-13-01")
    assert code == 1 and "must be a date written YYYY-MM-DD" in output


@pytest.mark.realdata
@pytest.mark.slow
def test_sara_case_numbers_match_the_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/sara.md quotes these numbers; the script recomputes them from the bundled sample."""
    import importlib.util

    from openilp.db import make_engine, migrate
    from openilp.services.imports.demo import load_demo

    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    store = make_engine(f"sqlite:///{tmp_path / 'openilp.sqlite3'}")
    migrate(store)
    load_demo(core_for(store, tmp_path), None)
    store.dispose()
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("sara_case", root / "scripts" / "sara_case.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--json", str(tmp_path / "out.json"), "--images", str(tmp_path / "images")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    guide = (root / "docs" / "sara.md").read_text()
    report, pooled = out["report"], out["pooled"]
    assert out["scan"]["target"]["name"] == "Dutchtown" and out["control_name"] == "Baden"
    assert report["counts"]["target"] == {"pre": 208.0, "post": 129.0}
    quoted = [
        f"{report['wdd']['estimate']:+.1f}",
        f"{report['power']['wdd_mde_crimes']:.1f} burglaries",
        f"IRR {report['did']['irr']:.2f}",
        f"{pooled['wdd']['estimate']:+.1f}, SE {pooled['wdd']['standard_error']:.1f}",
        f"IRR {pooled['did']['irr']:.2f}",
    ]
    for text in quoted:
        assert text in guide, f"docs/sara.md should quote {text!r}"
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [
        "sara-areas.png",
        "sara-weekly-pooled.png",
        "sara-weekly.png",
    ]
