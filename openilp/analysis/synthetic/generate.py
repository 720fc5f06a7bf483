"""Seeded synthetic incident histories of many agencies, in chunks of bounded size.

Each agency copies a real city's template (:mod:`.template`) to its own place: agencies are laid
out on a grid 60 km apart around the template city, so a state of 40 agencies spans a few hundred
kilometres, all in one national CRS (EPSG:5070, NAD83 / Conus Albers, metres), where a state-wide
grid and distances between agencies mean something. Agency sizes are log-normal (a few large
cities, many small towns), as in any state's list of agencies.

Events are simulated as a Hawkes cluster process (Mohler et al. 2011): background events from the
template's intensity, weekly and seasonal rhythm and offence mix; then generation after generation
of offspring, each event begetting ``Poisson(branching_ratio)`` events of its category, displaced
by ``N(0, sigma_m²)`` per axis and delayed by ``Exp(tau_days)``. An agency's history is cut into
time slices of at most ``chunk_rows`` events, simulated one at a time, so memory stays bounded
whatever the total; each (agency, slice) has its own random stream, so the same seed gives the
same rows.

>>> chunks = list(generate_incidents([load_template("stlouis")], rows=2_000, agencies=2, seed=1))
>>> sum(len(chunk) for chunk in chunks), sorted(set(chunks[0]["agency"]))[:1]
(2000, ['SYN01'])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj

from openilp.analysis.synthetic.template import IncidentTemplate, load_template

__all__ = ["SyntheticAgency", "generate_incidents", "plan_agencies", "NATIONAL_CRS", "SOURCE_NAME"]

#: The one CRS of every synthetic agency's ``x_m``/``y_m``.
NATIONAL_CRS = "EPSG:5070"
#: The ``source`` of every synthetic incident.
SOURCE_NAME = "synthetic"
#: Distance between neighbouring synthetic agencies, metres.
AGENCY_SPACING_M = 60_000.0
#: Where each shipped template's city lies (lon, lat of the grid's lower-left corner).
_TEMPLATE_ORIGINS = {"stlouis": (-90.32, 38.53), "chicago": (-87.94, 41.64)}
_EPOCH = np.datetime64("1970-01-01T00:00:00", "us")


@dataclass(frozen=True)
class SyntheticAgency:
    """One synthetic agency: its code, template, incidents and where its grid lies (EPSG:5070)."""

    code: str
    name: str
    template: str
    timezone: str
    rows: int
    origin_x_m: float
    origin_y_m: float

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "template": self.template,
            "timezone": self.timezone,
            "crs": NATIONAL_CRS,
            "rows": self.rows,
            "origin_x_m": self.origin_x_m,
            "origin_y_m": self.origin_y_m,
        }


def plan_agencies(
    templates: Sequence[IncidentTemplate], *, rows: int, agencies: int, seed: int
) -> list[SyntheticAgency]:
    """Who the ``agencies`` are and how many of the ``rows`` each holds (log-normal sizes, σ = 1;
    exact total). Templates alternate; each template's agencies lie 60 km apart on a grid."""
    if rows < agencies or agencies < 1:
        raise ValueError(f"need at least one agency and one row per agency (rows={rows}, agencies={agencies})")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA6E]))
    weights = rng.lognormal(0.0, 1.0, agencies)
    shares = weights / weights.sum()
    sizes = 1 + np.floor(shares * (rows - agencies)).astype(np.int64)
    sizes[np.argsort(-(shares * (rows - agencies) % 1), kind="stable")[: rows - int(sizes.sum())]] += 1
    to_albers = pyproj.Transformer.from_crs("EPSG:4326", NATIONAL_CRS, always_xy=True)
    planned = []
    for index in range(agencies):
        template = templates[index % len(templates)]
        place = index // len(templates)
        lon, lat = _TEMPLATE_ORIGINS.get(template.name, (-89.0, 40.0))
        x0, y0 = to_albers.transform(lon, lat)
        planned.append(
            SyntheticAgency(
                code=f"SYN{index + 1:02d}",
                name=f"Synthetic agency {index + 1} ({template.name} template)",
                template=template.name,
                timezone=template.timezone,
                rows=int(sizes[index]),
                origin_x_m=float(x0 + (place % 5) * AGENCY_SPACING_M),
                origin_y_m=float(y0 - (place // 5) * AGENCY_SPACING_M),
            )
        )
    return planned


def _background(
    template: IncidentTemplate, n: int, start: np.datetime64, end: np.datetime64, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` background events: local minutes since the epoch, x and y (template metres), category."""
    ny, nx = template.intensity.shape
    cell = np.searchsorted(np.cumsum(template.intensity.ravel()), rng.random(n) * template.intensity.sum())
    cell = np.minimum(cell, nx * ny - 1)
    x = (cell % nx + rng.random(n)) * template.cell_size_m
    y = (cell // nx + rng.random(n)) * template.cell_size_m
    # days weighted by the month's share (rejection), hours by the weekday's row of the weekly profile
    first_day = start.astype("datetime64[D]").astype(np.int64)
    n_days = max(int((end - start).astype("timedelta64[D]").astype(np.int64)), 1)
    days = np.empty(0, dtype=np.int64)
    accept = template.monthly_profile / template.monthly_profile.max()
    while len(days) < n:
        candidates = first_day + rng.integers(0, n_days, 2 * (n - len(days)) + 16)
        month = candidates.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
        days = np.concatenate([days, candidates[rng.random(len(candidates)) < accept[month]]])
    days = days[:n]
    weekday = (days - 4) % 7  # 1970-01-01 was a Thursday; Monday = 0
    by_day = template.weekly_profile.reshape(7, 24)
    cumulative = np.cumsum(by_day, axis=1) / by_day.sum(axis=1, keepdims=True)
    hour = np.empty(n, dtype=np.int64)
    draw = rng.random(n)
    for day in range(7):
        on_day = weekday == day
        hour[on_day] = np.searchsorted(cumulative[day], draw[on_day], side="right")
    minutes = days * 1440 + np.minimum(hour, 23) * 60 + rng.integers(0, 60, n)
    category = np.searchsorted(np.cumsum(template.category_shares), rng.random(n) * template.category_shares.sum())
    return minutes, x, y, np.minimum(category, len(template.categories) - 1)


def _cluster_process(
    template: IncidentTemplate, target: int, start: np.datetime64, end: np.datetime64, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exactly ``target`` events of the Hawkes cluster process within [start, end)."""
    alpha = template.branching_ratio
    end_minute = (end - np.datetime64("1970-01-01T00:00", "m")).astype(np.int64)
    parts: list[tuple[np.ndarray, ...]] = []
    total = 0
    while total < target:
        need = target - total
        generation = _background(template, max(int(np.ceil(need * (1 - alpha) * 1.02)), 1), start, end, rng)
        while len(generation[0]):
            parts.append(generation)
            total += len(generation[0])
            minutes, x, y, cat = generation
            children = rng.poisson(alpha, len(minutes))
            parent = np.repeat(np.arange(len(minutes)), children)
            delay = np.ceil(rng.exponential(template.tau_days * 1440.0, len(parent))).astype(np.int64)
            child_minutes = minutes[parent] + delay
            inside = child_minutes < end_minute
            parent, child_minutes = parent[inside], child_minutes[inside]
            generation = (
                child_minutes,
                x[parent] + rng.normal(0.0, template.sigma_m, len(parent)),
                y[parent] + rng.normal(0.0, template.sigma_m, len(parent)),
                cat[parent],
            )
    minutes, x, y, cat = (np.concatenate([p[i] for p in parts]) for i in range(4))
    keep = np.sort(rng.choice(len(minutes), size=target, replace=False)) if len(minutes) > target else slice(None)
    return minutes[keep], x[keep], y[keep], cat[keep]


def _frame(
    agency: SyntheticAgency,
    template: IncidentTemplate,
    slice_index: int,
    first_line: int,
    events: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    to_wgs84: pyproj.Transformer,
) -> pd.DataFrame:
    minutes, x_local, y_local, cat = events
    order = np.argsort(minutes, kind="stable")
    minutes, x_local, y_local, cat = minutes[order], x_local[order], y_local[order], cat[order]
    n = len(minutes)
    local = pd.DatetimeIndex(minutes.astype("datetime64[m]").astype("datetime64[us]"))
    utc = local.tz_localize(agency.timezone, ambiguous=np.zeros(n, dtype=bool), nonexistent="shift_forward")
    occurred = utc.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]")
    x = np.round(agency.origin_x_m + x_local, 1)
    y = np.round(agency.origin_y_m + y_local, 1)
    lon, lat = to_wgs84.transform(x, y)
    codes = np.asarray(template.categories, dtype=object)[cat]
    attention = np.asarray(template.category_attention, dtype=object)[cat]
    line = np.arange(first_line, first_line + n, dtype=np.int64)
    record = pd.Series(line).map("{:09d}".format).to_numpy(dtype=object)
    key = agency.code + "-" + record
    raw = (
        key
        + ","
        + codes
        + ","
        + pd.Series(occurred).dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object)
        + ","
        + x.astype(str).astype(object)
        + ","
        + y.astype(str).astype(object)
    )
    frame = pd.DataFrame(
        {
            "agency": agency.code,
            "source": SOURCE_NAME,
            "source_key": key,
            "source_record_id": key,
            "offence_code": codes,
            "offence_description": None,
            "category_code": codes,
            "occurred_from": occurred,
            "occurred_to": occurred,
            "time_precision": "minute",
            "reported_at": occurred,
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "x_m": x,
            "y_m": y,
            "location_status": "located",
            "block_address": None,
            "district": None,
            "beat": None,
            "neighbourhood": None,
            "flag_unfounded": False,
            "flag_administrative": False,
            "source_updated_at": None,
            "attention": attention,
            "patrol_propensity": np.nan,
            "net_count": np.ones(n, dtype=np.int32),
            "source_line": line,
            "content_hash": pd.util.hash_pandas_object(pd.Series(raw), index=False).to_numpy().view(np.int64),
            "raw": raw,
        }
    )
    for column in ("offence_description", "block_address", "district", "beat", "neighbourhood"):
        frame[column] = frame[column].astype(object)
    frame["source_updated_at"] = pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"))
    return frame


def generate_incidents(
    templates: Sequence[IncidentTemplate] | None = None,
    *,
    rows: int,
    agencies: int = 40,
    seed: int = 0,
    start: dt.date = dt.date(2015, 1, 1),
    years: int = 10,
    chunk_rows: int = 1_000_000,
) -> Iterator[pd.DataFrame]:
    """Yield the incidents of ``agencies`` synthetic agencies, ``rows`` in all, as frames of at most
    ``chunk_rows`` rows whose columns are the ``incidents`` table's plus ``agency`` (its code).

    Each frame holds one time slice of one agency, sorted by time. Peak memory is a few times one
    chunk (about 1 kB per row while a chunk is built). Same arguments, same rows.
    """
    if chunk_rows < 1 or years < 1:
        raise ValueError("chunk_rows and years must be positive")
    templates = list(templates) if templates else [load_template(name) for name in ("stlouis", "chicago")]
    by_name = {t.name: t for t in templates}
    begin = np.datetime64(start, "m")
    finish = np.datetime64(dt.date(start.year + years, start.month, start.day), "m")
    to_wgs84 = pyproj.Transformer.from_crs(NATIONAL_CRS, "EPSG:4326", always_xy=True)
    for index, agency in enumerate(plan_agencies(templates, rows=rows, agencies=agencies, seed=seed)):
        template = by_name[agency.template]
        slices = -(-agency.rows // chunk_rows)
        bounds = begin + ((finish - begin) * np.arange(slices + 1) // slices)
        first_line = 1
        for slice_index in range(slices):
            target = agency.rows // slices + (1 if slice_index < agency.rows % slices else 0)
            rng = np.random.default_rng(np.random.SeedSequence([seed, index, slice_index]))
            events = _cluster_process(template, target, bounds[slice_index], bounds[slice_index + 1], rng)
            yield _frame(agency, template, slice_index, first_line, events, to_wgs84)
            first_line += target
