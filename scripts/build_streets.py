"""Trace St. Louis street centrelines from SLMPD's geocoded block addresses: the demo's offline street layer.

The map draws no tiles from the internet, so the demo city needs its streets bundled. SLMPD's crime
files give every located record a house number (``ILEADSAddress``), a street (``ILEADSStreet``) and
a geocoded point (``XCoord``/``YCoord``, NAD83 Missouri East, US feet). Along one street, house
numbers rise in hundreds per block, so the median point of each hundred-block (both sides of the
street) lies near the centreline; consecutive blocks of a street joined in order trace it. A run
breaks where blocks are missing (more than four hundreds apart) or farther apart than 400 m, and
blocks outside the city's neighbourhoods are dropped. Streets without any located record in the
files are missing: the layer is a reading aid for hot cells ("the 4400-4600 blocks of Alaska Ave"),
not a survey.

    .venv/bin/python scripts/build_streets.py SLMPD_FOLDER [--out openilp/demo_data/stlouis/stl_streets_wgs84.geojson]

``SLMPD_FOLDER`` holds ``monthly/<year>/<month><year>.csv[.gz]`` (the bundled 2018-2019 sample, or
the full 2015-2019 files of the same source for more streets). Licence: the crime files are ODC-By
1.0 (attribution in ``openilp/demo_data/stlouis/SOURCE.md``); the output keeps that attribution.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely import contains_xy
from shapely.geometry import shape
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "openilp" / "demo_data" / "stlouis" / "stl_streets_wgs84.geojson"
BOUNDARY = ROOT / "openilp" / "demo_data" / "stlouis" / "stl_neighborhoods_wgs84.geojson"
FEET = 0.3048006096012192  # US survey foot in metres
MAX_GAP_M = 400.0
MAX_BLOCK_STEP = 4
ATTRIBUTION = (
    "Streets traced from SLMPD crime records' block addresses (public records, via slu-soc5650/crime-data-sp22, "
    "ODC-By 1.0)"
)


def read_addresses(folder: Path) -> pd.DataFrame:
    """House number, street and state-plane point (feet) of every located record in the files."""
    frames = []
    for path in sorted(folder.glob("monthly/*/*.csv*")):
        try:
            frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        except UnicodeDecodeError:
            frame = pd.read_csv(path, dtype=str, encoding="cp1252")
        frame.columns = [c.strip() for c in frame.columns]
        if "ILEADSStreet" not in frame.columns:  # the May 2017 file names its columns differently
            frame = frame.rename(columns={"ILeadsAddress": "ILEADSAddress", "ILeadsStreet": "ILEADSStreet"})
        if not {"ILEADSAddress", "ILEADSStreet", "XCoord", "YCoord"} <= set(frame.columns):
            continue
        frames.append(frame[["ILEADSAddress", "ILEADSStreet", "XCoord", "YCoord"]])
    records = pd.concat(frames, ignore_index=True).dropna()
    out = pd.DataFrame(
        {
            "number": pd.to_numeric(records["ILEADSAddress"], errors="coerce"),
            "street": records["ILEADSStreet"].str.strip().str.upper().str.replace(r"\s+", " ", regex=True),
            "x_ft": pd.to_numeric(records["XCoord"], errors="coerce"),
            "y_ft": pd.to_numeric(records["YCoord"], errors="coerce"),
        }
    ).dropna()
    out = out[(out["x_ft"] > 0) & (out["y_ft"] > 0) & (out["number"] > 0) & (out["street"] != "")]
    return out.drop_duplicates()


def block_points(addresses: pd.DataFrame, boundary_path: Path) -> pd.DataFrame:
    """The median point of every hundred-block of every street, in WGS84, inside the city."""
    addresses = addresses.assign(block=(addresses["number"] // 100).astype(int))
    blocks = (
        addresses.groupby(["street", "block"])
        .agg(x_ft=("x_ft", "median"), y_ft=("y_ft", "median"))
        .reset_index()
        .sort_values(["street", "block"])
    )
    to_wgs84 = Transformer.from_crs("ESRI:102696", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(blocks["x_ft"].to_numpy(), blocks["y_ft"].to_numpy())
    blocks["lon"], blocks["lat"] = lon, lat
    blocks["x_m"], blocks["y_m"] = blocks["x_ft"] * FEET, blocks["y_ft"] * FEET
    city = unary_union([shape(f["geometry"]) for f in json.loads(boundary_path.read_text())["features"]])
    return blocks[contains_xy(city, blocks["lon"].to_numpy(), blocks["lat"].to_numpy())]


def street_runs(blocks: pd.DataFrame) -> list[dict]:
    """GeoJSON LineStrings: consecutive blocks of each street, broken at gaps."""
    features = []
    for street, group in blocks.groupby("street", sort=True):
        x, y = group["x_m"].to_numpy(), group["y_m"].to_numpy()
        numbers = group["block"].to_numpy()
        steps_ok = (np.diff(numbers) <= MAX_BLOCK_STEP) & (np.hypot(np.diff(x), np.diff(y)) <= MAX_GAP_M)
        start = 0
        for end in [*np.flatnonzero(~steps_ok) + 1, len(group)]:
            if end - start >= 2:
                run = group.iloc[start:end]
                line = [[round(a, 5), round(b, 5)] for a, b in zip(run["lon"], run["lat"], strict=True)]
                features.append(
                    {
                        "type": "Feature",
                        "properties": {
                            "name": str(street),
                            "from_block": int(run["block"].iloc[0]) * 100,
                            "to_block": int(run["block"].iloc[-1]) * 100,
                        },
                        "geometry": {
                            "type": "LineString",
                            "coordinates": line,
                        },
                    }
                )
            start = end
    return features


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder holding monthly/<year>/<month><year>.csv[.gz]")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    features = street_runs(block_points(read_addresses(args.folder), BOUNDARY))
    collection = {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features}
    args.out.write_text(json.dumps(collection, separators=(",", ":"), ensure_ascii=False) + "\n")
    vertices = sum(len(f["geometry"]["coordinates"]) for f in features)
    print(f"{len(features):,} street runs, {vertices:,} vertices -> {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
