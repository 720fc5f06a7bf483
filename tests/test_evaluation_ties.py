"""Ties at the coverage cut-off: fractional credit (NIJ 2017), the same whatever the cell order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openilp.analysis.evaluation import cell_credit, flagged_cells, hit_counts, hit_rate, pai, pei, score_forecast

# 20 cells, naive-style whole-number scores with a large tie at 1: at 25 % (5 cells) the two cells
# scoring 3 and 2 are flagged, and 3 of the 6 cells scoring 1 share the remaining area.
SCORES = np.array([3.0, 2.0, 1, 1, 1, 1, 1, 1] + [0.0] * 12)
COUNTS = np.array([2, 1, 3, 0, 0, 1, 0, 0] + [0] * 11 + [1])


def test_hand_computed_value() -> None:
    # n = 2 + 1 + (3 / 6) x (3 + 0 + 0 + 1 + 0 + 0) = 5; N = 8; a / A = 5 / 20.
    assert flagged_cells(20, 0.25) == 5
    assert hit_counts(SCORES, COUNTS, [0.25])[0] == pytest.approx(5.0)
    assert hit_rate(SCORES, COUNTS, 0.25) == pytest.approx(5 / 8)
    assert pai(SCORES, COUNTS, 0.25) == pytest.approx(2.5)
    # The best 5 cells could hold 3 + 2 + 1 + 1 + 1 = 8 events.
    assert pei(SCORES, COUNTS, 0.25) == pytest.approx(5 / 8)
    credit = cell_credit(SCORES, 0.25)
    assert credit.tolist() == [1.0, 1.0] + [0.5] * 6 + [0.0] * 12
    assert credit.sum() == pytest.approx(5) and float(credit @ COUNTS) == pytest.approx(5.0)


def test_shuffling_the_cells_changes_nothing() -> None:
    reference = score_forecast(SCORES, COUNTS, coverages=(0.05, 0.1, 0.25, 0.5))
    rng = np.random.default_rng(3)
    for _ in range(20):
        order = rng.permutation(len(SCORES))
        shuffled = score_forecast(SCORES[order], COUNTS[order], coverages=(0.05, 0.1, 0.25, 0.5))
        assert shuffled == pytest.approx(reference)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=2, max_size=60),
    st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.5]),
    st.randoms(use_true_random=False),
)
@settings(max_examples=80, deadline=None)
def test_order_independence_and_credit_agree(cells: list[tuple[int, int]], coverage: float, random: object) -> None:
    scores = np.array([float(s) for s, _ in cells])  # few distinct values: many ties
    counts = np.array([c for _, c in cells])
    order = np.arange(len(cells))
    random.shuffle(order)  # type: ignore[attr-defined]
    caught = hit_counts(scores, counts, [coverage])[0]
    assert hit_counts(scores[order], counts[order], [coverage])[0] == pytest.approx(caught)
    credit = cell_credit(scores, coverage)
    assert float(credit @ counts) == pytest.approx(caught)
    assert credit.sum() == pytest.approx(flagged_cells(len(cells), coverage))
    assert np.all((credit >= 0) & (credit <= 1))


def test_a_plain_sort_would_depend_on_the_order() -> None:
    # What an outside scorer that ranks ties by file order gets: two orders, two answers. The rule
    # gives one answer between them.
    k = flagged_cells(len(SCORES), 0.25)
    by_file_order = COUNTS[np.argsort(-SCORES, kind="stable")][:k].sum()
    reversed_order = COUNTS[::-1][np.argsort(-SCORES[::-1], kind="stable")][:k].sum()
    assert (by_file_order, reversed_order) == (6, 4)  # PAI 3.0 or 2.0, by the order of the file
    assert (
        min(by_file_order, reversed_order)
        <= hit_counts(SCORES, COUNTS, [0.25])[0]
        <= max(by_file_order, reversed_order)
    )
