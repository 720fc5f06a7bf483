"""Reading crimes and offenders in the layout of Porter & Reich's ``crimelinkage`` package.

``CRIMES.csv`` has ``crimeID, X, Y, DATE_FROM, TIME_FROM, DATE_TO, TIME_TO`` and any number of
categorical modus-operandi or property columns (``MO1``, ``MO2``, …); times are ``HHMM`` text
("0439"; "2400" is the end of the day). A window whose end time is before its start time on the same
date runs over midnight: its end is on the next day. ``OFFENDERS.csv`` has ``offenderID, crimeID``: two crimes
are linked when they share an offender. Every problem is reported with its file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["CrimelinkageData", "CrimelinkageFormatError", "read_crimelinkage"]

CRIME_COLUMNS = ("crimeID", "X", "Y", "DATE_FROM", "TIME_FROM", "DATE_TO", "TIME_TO")
OFFENDER_COLUMNS = ("offenderID", "crimeID")


class CrimelinkageFormatError(ValueError):
    """A file does not follow the layout; the message names the file, line and column and the fix."""


@dataclass(frozen=True)
class CrimelinkageData:
    """Crimes as a frame (``crime_id, x, y, occurred_from, occurred_to`` + MO columns) and offender links."""

    crimes: pd.DataFrame
    mo_fields: tuple[str, ...]
    offender_links: tuple[tuple[str, str], ...]


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise CrimelinkageFormatError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CrimelinkageFormatError(f"{path}: not a readable CSV file ({exc})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CrimelinkageFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must name {', '.join(required)}"
        )
    return frame


def _when(path: Path, frame: pd.DataFrame, date_col: str, time_col: str) -> pd.Series:
    out = []
    for row, (day, hhmm) in enumerate(zip(frame[date_col], frame[time_col], strict=True)):
        line = row + 2
        text = hhmm.strip().zfill(4)
        try:
            date = pd.Timestamp(day.strip())
            hours, minutes = int(text[:2]), int(text[2:])
        except ValueError as exc:
            raise CrimelinkageFormatError(
                f"{path}: line {line}, column {date_col}/{time_col}: cannot read {day!r} {hhmm!r} "
                "(write the date as YYYY-MM-DD and the time as HHMM, e.g. 1993-01-06 and 0439)"
            ) from exc
        if len(text) != 4 or not (0 <= hours <= 24 and 0 <= minutes <= 59) or (hours == 24 and minutes):
            raise CrimelinkageFormatError(
                f"{path}: line {line}, column {time_col}: {hhmm!r} is not a time of day (use HHMM from 0000 to 2400)"
            )
        out.append(date + pd.Timedelta(hours=hours, minutes=minutes))
    return pd.Series(out, index=frame.index, dtype="datetime64[ns]")


def read_crimelinkage(crimes_path: str | Path, offenders_path: str | Path) -> CrimelinkageData:
    """Read and check both files; crimes outside the offender table are the unsolved ones."""
    crimes_path = Path(crimes_path)
    offenders_path = Path(offenders_path)
    raw = _read(crimes_path, CRIME_COLUMNS)
    if raw.empty:
        raise CrimelinkageFormatError(f"{crimes_path}: no crimes (the file has only a header)")
    duplicated = raw["crimeID"].duplicated()
    if duplicated.any():
        line = int(duplicated.to_numpy().nonzero()[0][0]) + 2
        raise CrimelinkageFormatError(
            f"{crimes_path}: line {line}, column crimeID: {raw['crimeID'][duplicated].iloc[0]!r} appears twice; "
            "every crime needs its own ID"
        )
    coordinates = {}
    for column in ("X", "Y"):
        values = pd.to_numeric(raw[column], errors="coerce")
        if values.isna().any():
            line = int(values.isna().to_numpy().nonzero()[0][0]) + 2
            raise CrimelinkageFormatError(
                f"{crimes_path}: line {line}, column {column}: {raw[column].iloc[line - 2]!r} is not a number "
                "(planar coordinates are required for every crime)"
            )
        coordinates[column] = values.astype(float)
    start = _when(crimes_path, raw, "DATE_FROM", "TIME_FROM")
    end = _when(crimes_path, raw, "DATE_TO", "TIME_TO")
    # an end before the start on the same date is a window over midnight ("2200" to "0600")
    overnight = (end < start) & (end.dt.normalize() >= start.dt.normalize() - pd.Timedelta(days=1))
    overnight &= raw["DATE_FROM"].str.strip() == raw["DATE_TO"].str.strip()
    end = end.where(~overnight, end + pd.Timedelta(days=1))
    backwards = end < start
    if backwards.any():
        line = int(backwards.to_numpy().nonzero()[0][0]) + 2
        raise CrimelinkageFormatError(
            f"{crimes_path}: line {line}: the window ends before it starts (DATE_TO/TIME_TO before DATE_FROM/TIME_FROM)"
        )
    mo_fields = tuple(c for c in raw.columns if c not in CRIME_COLUMNS)
    crimes = pd.DataFrame(
        {
            "crime_id": raw["crimeID"].str.strip(),
            "x": coordinates["X"],
            "y": coordinates["Y"],
            "occurred_from": start,
            "occurred_to": end,
        }
    )
    for field in mo_fields:
        values = raw[field].str.strip()
        crimes[field] = values.where(~values.isin(["", "NA"]), None)
    offenders = _read(offenders_path, OFFENDER_COLUMNS)
    known = set(crimes["crime_id"])
    links = tuple(
        (o.strip(), c.strip()) for o, c in zip(offenders["offenderID"], offenders["crimeID"], strict=True) if o.strip()
    )
    if not any(c in known for _, c in links):
        raise CrimelinkageFormatError(
            f"{offenders_path}: no crimeID matches a crime of {crimes_path.name}; linkage needs solved crimes"
        )
    return CrimelinkageData(crimes=crimes, mo_fields=mo_fields, offender_links=links)
