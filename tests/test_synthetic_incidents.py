"""Synthetic incident histories: exact counts, same seed same rows, bounded chunks, the near-repeat
excess the templates carry (measured with the Knox test), and the shipped templates as fitted."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from openilp.analysis.nearrepeat import KnoxTest, event_days
from openilp.analysis.synthetic import (
    NATIONAL_CRS,
    fit_template,
    generate_incidents,
    load_template,
    plan_agencies,
)
from openilp.cli import app
from openilp.errors import InvalidRequest
from openilp.services.imports.synthetic import (
    PARQUET_COLUMNS,
    SyntheticRequest,
    write_synthetic_incidents,
)

ROOT = Path(__file__).resolve().parents[1]


def _all(**kwargs: object) -> pd.DataFrame:
    return pd.concat(list(generate_incidents(**kwargs)), ignore_index=True)  # type: ignore[arg-type]


def test_counts_are_exact_per_agency_and_chunks_are_bounded() -> None:
    templates = [load_template("stlouis"), load_template("chicago")]
    chunks = list(generate_incidents(templates, rows=30_001, agencies=7, seed=3, chunk_rows=2_000, years=2))
    assert max(len(chunk) for chunk in chunks) <= 2_000
    frame = pd.concat(chunks, ignore_index=True)
    assert len(frame) == 30_001
    planned = {a.code: a.rows for a in plan_agencies(templates, rows=30_001, agencies=7, seed=3)}
    assert frame.groupby("agency").size().to_dict() == planned
    assert sum(planned.values()) == 30_001
    # keys unique per agency, times inside the history, categories from the template
    assert not frame.duplicated(["agency", "source_key"]).any()
    assert frame["occurred_from"].min() >= pd.Timestamp("2015-01-01")
    assert frame["occurred_from"].max() < pd.Timestamp("2017-01-02")
    assert set(frame["category_code"]) <= set(templates[0].categories) | set(templates[1].categories)
    assert (frame["location_status"] == "located").all()


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    first = _all(rows=5_000, agencies=3, seed=11, years=1)
    again = _all(rows=5_000, agencies=3, seed=11, years=1)
    other = _all(rows=5_000, agencies=3, seed=12, years=1)
    pd.testing.assert_frame_equal(first, again)
    assert not first["x_m"].equals(other["x_m"])


def test_agencies_lie_apart_in_one_national_crs() -> None:
    frame = _all(rows=8_000, agencies=4, seed=1, years=1)
    centres = frame.groupby("agency")[["x_m", "y_m"]].median()
    gaps = [np.hypot(*(centres.iloc[i] - centres.iloc[j])) for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 30_000  # 60 km grids, cities about 20-35 km across
    assert NATIONAL_CRS == "EPSG:5070"
    assert frame["lon"].between(-92, -80).all() and frame["lat"].between(36, 43).all()


def _knox_first_cell(frame: pd.DataFrame) -> tuple[float, float]:
    local = frame["occurred_from"].dt.tz_localize("UTC").dt.tz_convert("America/Chicago").dt.tz_localize(None)
    days = event_days(local.to_numpy())
    knox = KnoxTest(space_bands_m=[100, 400], time_bands_days=[7, 28], same_location_m=None, permutations=99, seed=0)
    knox.fit(frame["x_m"].to_numpy(), frame["y_m"].to_numpy(), days)
    return float(knox.knox_ratio_[0, 0]), float(knox.p_value_[0, 0])


def test_near_repeat_excess_is_measurable_and_absent_without_triggering() -> None:
    template = load_template("chicago")
    assert 0.05 < template.branching_ratio < 0.5
    frame = _all(templates=[template], rows=20_000, agencies=1, seed=5, years=1)
    ratio, p_value = _knox_first_cell(frame)
    assert ratio > 1.3 and p_value <= 0.01
    # the same background without triggering: no excess beyond chance
    untriggered = dataclasses.replace(template, branching_ratio=0.0)
    control = _all(templates=[untriggered], rows=20_000, agencies=1, seed=5, years=1)
    control_ratio, _ = _knox_first_cell(control)
    assert 0.85 < control_ratio < 1.15


def test_triggering_is_recovered_from_a_simulation() -> None:
    """Fitting a template to events simulated from known triggering gives it back (roughly)."""
    template = dataclasses.replace(load_template("chicago"), branching_ratio=0.3, sigma_m=150.0, tau_days=10.0)
    frame = _all(templates=[template], rows=40_000, agencies=1, seed=2, years=2)
    local = frame["occurred_from"].dt.tz_localize("UTC").dt.tz_convert("America/Chicago").dt.tz_localize(None)
    fitted = fit_template(
        "again",
        frame["x_m"].to_numpy(),
        frame["y_m"].to_numpy(),
        local.to_numpy(dtype="datetime64[m]"),
        frame["category_code"].to_numpy(),
        frame["attention"].to_numpy(),
        seed=0,
    )
    assert fitted.branching_ratio == pytest.approx(0.3, abs=0.1)
    assert fitted.sigma_m == pytest.approx(150.0, rel=0.35)
    assert fitted.tau_days == pytest.approx(10.0, rel=0.5)


def test_background_follows_the_template_intensity() -> None:
    template = dataclasses.replace(load_template("stlouis"), branching_ratio=0.0)
    agency = plan_agencies([template], rows=50_000, agencies=1, seed=4)[0]
    frame = _all(templates=[template], rows=50_000, agencies=1, seed=4, years=1)
    ny, nx = template.intensity.shape
    col = ((frame["x_m"] - agency.origin_x_m) // template.cell_size_m).astype(int).clip(0, nx - 1)
    row = ((frame["y_m"] - agency.origin_y_m) // template.cell_size_m).astype(int).clip(0, ny - 1)
    counts = np.bincount(row * nx + col, minlength=nx * ny)
    assert np.corrcoef(counts, template.intensity.ravel())[0, 1] > 0.9


def test_parquet_folder_has_the_schema_and_agencies(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    report = write_synthetic_incidents(SyntheticRequest(output=out, rows=12_000, agencies=3, seed=1, chunk_rows=3_000))
    assert report.rows == 12_000
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == report.files >= 4
    assert pq.read_schema(parts[0]).names == [name for name, _ in PARQUET_COLUMNS]
    assert sum(pq.read_metadata(p).num_rows for p in parts) == 12_000
    meta = json.loads((out / "agencies.json").read_text())
    assert [a["code"] for a in meta["agencies"]] == ["SYN01", "SYN02", "SYN03"]
    assert {a["crs"] for a in meta["agencies"]} == {"EPSG:5070"}
    with pytest.raises(InvalidRequest, match="already holds Parquet"):
        SyntheticRequest(output=out, rows=100, agencies=1).validate()
    with pytest.raises(InvalidRequest, match="agencies"):
        SyntheticRequest(output=tmp_path / "other", rows=100, agencies=0).validate()


def test_command_writes_the_same_bytes_for_the_same_seed(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("a", "b"):
        args = ["synth", "incidents", "--rows", "3000", "--agencies", "2", "--seed", "7", "-o", str(tmp_path / name)]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["rows"] == 3000
    for part in sorted((tmp_path / "a").glob("*.parquet")):
        assert pq.read_table(part).equals(pq.read_table(tmp_path / "b" / part.name))


@pytest.mark.realdata
@pytest.mark.slow
def test_shipped_templates_are_what_the_script_fits() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import fit_synthetic_templates as script
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    for name in ("stlouis", "chicago"):
        fitted, shipped = script.fit_named(name), load_template(name)
        assert fitted.categories == shipped.categories
        np.testing.assert_allclose(fitted.intensity, shipped.intensity, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(fitted.weekly_profile, shipped.weekly_profile, rtol=1e-12)
        assert (fitted.branching_ratio, fitted.sigma_m, fitted.tau_days) == pytest.approx(
            (shipped.branching_ratio, shipped.sigma_m, shipped.tau_days), rel=1e-9
        )
