"""TLP 2.0 markings and MISP's narrowing rule: every marking pair, handling codes and audiences."""

from __future__ import annotations

import itertools

import pytest

from openilp.errors import InvalidRequest
from openilp.intel.markings import (
    TLP_LEVELS,
    Marking,
    MarkingWidened,
    check_narrowing,
    default_tlp,
    narrower_or_equal,
    onward_allowed,
    parse_tlp,
)

#: Each level with its rank, written out (not derived from TLP_LEVELS): widest 0, strictest 4.
RANK = {"TLP:CLEAR": 0, "TLP:GREEN": 1, "TLP:AMBER": 2, "TLP:AMBER+STRICT": 3, "TLP:RED": 4}
PAIRS = list(itertools.product(RANK, RANK))


def test_the_five_levels_widest_first() -> None:
    assert tuple(sorted(RANK, key=RANK.__getitem__)) == TLP_LEVELS


@pytest.mark.parametrize(("received", "proposed"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_each_marking_pair_narrows_or_is_refused(received: str, proposed: str) -> None:
    widens = RANK[proposed] < RANK[received]
    assert narrower_or_equal(proposed, received) is not widens
    if widens:
        with pytest.raises(MarkingWidened) as refused:
            check_narrowing(Marking(received), Marking(proposed), item="record #7")
        message = str(refused.value)
        assert f"{proposed} is wider than the {received}" in message and "record #7" in message
        assert all(level in message for level in RANK if RANK[level] >= RANK[received])
    else:
        check_narrowing(Marking(received), Marking(proposed))


@pytest.mark.parametrize(
    ("received", "proposed", "refused"), [("P", "P", False), ("P", "C", False), ("C", "C", False), ("C", "P", True)]
)
def test_handling_code_conditions_are_never_dropped(received: str, proposed: str, refused: bool) -> None:
    hop = (Marking("TLP:AMBER", received), Marking("TLP:AMBER", proposed))
    if refused:
        with pytest.raises(MarkingWidened, match="drop the conditions"):
            check_narrowing(*hop)
    else:
        check_narrowing(*hop)


def test_audience_may_only_lose_agencies() -> None:
    received = Marking("TLP:GREEN", "P", frozenset({"SLMPD", "COUNTY", "STATE"}))
    check_narrowing(received, Marking("TLP:GREEN", "P", frozenset({"COUNTY"})))
    check_narrowing(Marking("TLP:GREEN"), Marking("TLP:GREEN", "P", frozenset({"ANY"})))
    with pytest.raises(MarkingWidened) as wider:
        check_narrowing(received, Marking("TLP:GREEN", "P", frozenset({"COUNTY", "OTHER", "FED"})))
    assert "FED, OTHER are outside the audience" in str(wider.value)


def test_onward_disclosure_by_level() -> None:
    assert onward_allowed("TLP:RED", ["OTHER"], "SLMPD") == (
        "refused: it was received as TLP:RED (named recipients only): no further disclosure"
    )
    assert "OTHER is outside SLMPD" in (onward_allowed("TLP:AMBER+STRICT", ["OTHER"], "SLMPD") or "")
    assert onward_allowed("TLP:AMBER+STRICT", ["SLMPD"], "SLMPD") is None
    assert all(onward_allowed(level, ["OTHER"], "SLMPD") is None for level in ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER"))


def test_parse_and_defaults() -> None:
    assert [parse_tlp(v) for v in ("clear", "Green", "TLP:AMBER", "amber+strict", "red", "white")] == [
        "TLP:CLEAR",
        "TLP:GREEN",
        "TLP:AMBER",
        "TLP:AMBER+STRICT",
        "TLP:RED",
        "TLP:CLEAR",
    ]
    with pytest.raises(InvalidRequest, match="not a TLP 2.0 level"):
        parse_tlp("amber-ish")
    assert default_tlp("restricted") == "TLP:RED"
    assert default_tlp("open") == default_tlp("agency_name_only") == "TLP:AMBER"


def test_one_list_of_levels_products_read_the_intelligence_one() -> None:
    from openilp.intel import markings
    from openilp.products import marking as product_marking

    assert product_marking.TLP_LEVELS is markings.TLP_LEVELS
    assert product_marking.TLP_MEANINGS is markings.TLP_MEANINGS
    assert set(markings.TLP_COLOURS) == set(TLP_LEVELS)
