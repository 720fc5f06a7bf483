"""Fit the shipped synthetic-incident templates from the real police data.

Reads the St. Louis monthly files (2015-2019) and the Chicago sample (2017-2019) from the shared
data folder (``OPENILP_SHARED_DATA``, default ``../shared/data``), normalises them with the
built-in sources, and writes ``openilp/analysis/synthetic/templates/{stlouis,chicago}.npz``.
``tests/test_synthetic_incidents.py`` re-fits them and checks the shipped files are what this
script makes.

    python scripts/fit_synthetic_templates.py
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from openilp.analysis.synthetic import IncidentTemplate, estimate_triggering, fit_template
from openilp.ingest.normalize import normalize
from openilp.ingest.reading import find_source_files, read_source_file
from openilp.ingest.spec import load_source_spec

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OPENILP_SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "openilp" / "analysis" / "synthetic" / "templates"
#: Where each template's real files are, and its built-in source.
TEMPLATE_SOURCES = {
    "stlouis": ("stlouis", ("stlouis", "monthly")),
    "chicago": ("chicago", ("chicago_sample", "chicago_crimes_sample_25k.csv.gz")),
}
#: A random sample thins out the pairs close in space and time (by the square of the sampling
#: rate), so Chicago's triggering comes from its complete residential burglaries instead.
TRIGGERING_SOURCES = {"chicago": ("chicago_burglary", ("chicago_burglary", "chicago_burglary_2014_2017.csv"))}


def located_incidents(source: str, path: Path) -> pd.DataFrame:
    """The located incidents of ``path`` (a file or folder), one row per record, as normalised."""
    spec = load_source_spec(source)
    frames = []
    for file in find_source_files([path], spec):
        batch = normalize(read_source_file(file, spec), spec)
        frames.append(batch.frame[batch.count_delta > 0])
    frame = pd.concat(frames, ignore_index=True).drop_duplicates("source_key", keep="last")
    located = frame[(frame["location_status"] == "located") & frame["category_code"].notna()]
    return located.reset_index(drop=True)


def fit_named(name: str) -> IncidentTemplate:
    source, parts = TEMPLATE_SOURCES[name]
    spec = load_source_spec(source)
    frame = located_incidents(source, SHARED.joinpath(*parts))
    local = (
        pd.to_datetime(frame["occurred_from"])
        .dt.tz_localize("UTC")
        .dt.tz_convert(spec.agency.timezone)
        .dt.tz_localize(None)
    )
    template = fit_template(
        name,
        frame["x_m"].to_numpy(),
        frame["y_m"].to_numpy(),
        local.to_numpy(dtype="datetime64[m]"),
        frame["category_code"].astype(str).to_numpy(),
        frame["attention"].astype(str).to_numpy(),
        timezone=spec.agency.timezone,
    )
    if name in TRIGGERING_SOURCES:
        other_source, other_parts = TRIGGERING_SOURCES[name]
        other = located_incidents(other_source, SHARED.joinpath(*other_parts))
        other = other.sort_values("occurred_from", kind="stable").tail(40_000)
        day = pd.to_datetime(other["occurred_from"]).to_numpy(dtype="datetime64[D]").astype(np.int64)
        branching, sigma, tau = estimate_triggering(
            other["x_m"].to_numpy(), other["y_m"].to_numpy(), (day - day.min()).astype(float), permutations=9
        )
        template = dataclasses.replace(template, branching_ratio=branching, sigma_m=sigma, tau_days=tau)
    return template


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_SOURCES:
        template = fit_named(name)
        template.save(OUT / f"{name}.npz")
        print(
            f"{name}: {template.fitted_events} events, {template.intensity.shape} cells, "
            f"branching {template.branching_ratio:.3f}, sigma {template.sigma_m:.0f} m, tau {template.tau_days:.1f} d, "
            f"{len(template.categories)} categories"
        )
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
