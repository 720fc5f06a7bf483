"""Link tables from the records that join people: incidents, intelligence records, shared things.

Each builder is a projection of a two-mode table (people × incidents, people × records, people ×
vehicles) onto pairs of people, vectorised with a self-join: two people named on the same incident
become one ``co_offending`` link; two people named in the same intelligence record one
``association`` link with the record as its source; two people tied to the same vehicle, phone or
address one ``shared_*`` link whose ``via`` names the thing they share. The pairs are the edges of
a one-mode network (Wasserman & Faust 1994, ch. 8).

>>> import pandas as pd
>>> arrests = pd.DataFrame({"person": ["p1", "p2", "p3", "p1"], "incident": ["C1", "C1", "C1", "C2"],
...                         "date": ["2024-01-02"] * 3 + ["2024-02-01"]})
>>> co_offending_links(arrests)[["source", "target", "record"]].values.tolist()
[['p1', 'p2', 'C1'], ['p1', 'p3', 'C1'], ['p2', 'p3', 'C1']]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MAX_GROUP_SIZE", "association_links", "co_offending_links", "shared_links", "two_mode_links"]

#: Largest number of people on one incident, record or shared thing that is turned into links
#: (a group of g people gives g(g-1)/2 links; a shared address of a hostel should not link 500 people).
MAX_GROUP_SIZE = 50


def two_mode_links(
    table: pd.DataFrame,
    *,
    person: str,
    group: str,
    link_type: str,
    date: str | None = "date",
    max_group_size: int = MAX_GROUP_SIZE,
    group_as: str = "record",
) -> pd.DataFrame:
    """Pairs of people in the same group, one row per pair and group.

    The link's date is the earlier of the two people's dates in the group (when given). Groups
    larger than ``max_group_size`` are left out, as a shelter's address or a mass arrest would
    otherwise link everyone in them.
    """
    columns = [person, group] + ([date] if date and date in table.columns else [])
    frame = table[columns].dropna(subset=[person, group]).drop_duplicates(subset=[person, group])
    frame = frame.rename(columns={person: "person", group: "group"})
    frame["person"] = frame["person"].astype(str)
    sizes = frame.groupby("group")["person"].transform("size")
    frame = frame.loc[(sizes >= 2) & (sizes <= max_group_size)]
    pairs = frame.merge(frame, on="group", suffixes=("_a", "_b"))
    pairs = pairs.loc[pairs["person_a"] < pairs["person_b"]]
    out = pd.DataFrame(
        {
            "source": pairs["person_a"].to_numpy(),
            "target": pairs["person_b"].to_numpy(),
            "link_type": link_type,
        }
    )
    if date and date in table.columns:
        first = pd.to_datetime(pairs[f"{date}_a"]).to_numpy()
        second = pd.to_datetime(pairs[f"{date}_b"]).to_numpy()
        out["date"] = np.where(pd.isna(first) | (second < first), second, first)
    out[group_as] = pairs["group"].astype(str).to_numpy()
    return out.sort_values(["source", "target", group_as], kind="stable").reset_index(drop=True)


def co_offending_links(arrests: pd.DataFrame, *, max_group_size: int = MAX_GROUP_SIZE) -> pd.DataFrame:
    """``co_offending`` links from ``person``, ``incident`` (and ``date``) rows: people on one incident."""
    return two_mode_links(
        arrests, person="person", group="incident", link_type="co_offending", max_group_size=max_group_size
    )


def association_links(subjects: pd.DataFrame, *, max_group_size: int = MAX_GROUP_SIZE) -> pd.DataFrame:
    """``association`` links from ``person``, ``record`` (and ``date``) rows: people in one record."""
    return two_mode_links(
        subjects, person="person", group="record", link_type="association", max_group_size=max_group_size
    )


def shared_links(
    holdings: pd.DataFrame, *, thing: str, link_type: str, max_group_size: int = MAX_GROUP_SIZE
) -> pd.DataFrame:
    """``shared_vehicle``/``shared_phone``/``shared_address`` links from ``person``, ``thing`` rows.

    The shared thing goes in ``via``; ``record`` is kept when the table has one (the first record
    naming the pair's tie to the thing).
    """
    links = two_mode_links(
        holdings, person="person", group=thing, link_type=link_type, max_group_size=max_group_size, group_as="via"
    )
    if "record" in holdings.columns:
        first_record = holdings.dropna(subset=["person", thing]).groupby([thing])["record"].first().astype(str)
        links["record"] = links["via"].map(first_record).to_numpy()
    return links
