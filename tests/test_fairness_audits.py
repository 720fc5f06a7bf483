"""Proxy leakage (AUC), The Markup's concentration table and the harm weights, checked as numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from openilp.fairness import HARM_DAYS, concentration_table, harm_of, majority_areas, proxy_auc
from openilp.ingest.categories import category_attention, load_category_definitions


def test_proxy_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(7)
    scores = np.round(rng.random(200), 1)  # many ties
    target = rng.random(200) < scores * 0.8
    audit = proxy_auc(dict(enumerate(scores)), dict(enumerate(target)))
    assert audit.auc == pytest.approx(roc_auc_score(target, scores), abs=1e-12)
    assert audit.leakage == max(audit.auc, 1 - audit.auc)
    assert (audit.n_areas, audit.n_majority) == (200, int(target.sum()))


def test_scores_pointing_away_from_a_group_leak_as_much() -> None:
    towards = proxy_auc({1: 0.9, 2: 0.7, 3: 0.2, 4: 0.1}, {1: True, 2: True, 3: False, 4: False}, min_per_side=2)
    away = proxy_auc({1: 0.1, 2: 0.2, 3: 0.7, 4: 0.9}, {1: True, 2: True, 3: False, 4: False}, min_per_side=2)
    assert (towards.auc, away.auc) == (1.0, 0.0)
    assert towards.leakage == away.leakage == 1.0 and towards.flagged and away.flagged
    assert not proxy_auc({1: 0.5, 2: 0.5}, {1: True, 2: False}).flagged  # 0.5: no information
    two = proxy_auc({1: 0.9, 2: 0.1}, {1: True, 2: False})  # two areas: 1.0, but too few to mean anything
    assert two.leakage == 1.0 and not two.enough_areas and not two.flagged
    assert np.isnan(proxy_auc({1: 0.5}, {1: True}).auc)  # one side empty: undefined, not flagged


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=2, max_size=40))
def test_leakage_lies_between_a_half_and_one(pairs: list[tuple[float, bool]]) -> None:
    audit = proxy_auc({i: s for i, (s, _) in enumerate(pairs)}, {i: m for i, (_, m) in enumerate(pairs)})
    if np.isfinite(audit.auc):
        assert 0.5 <= audit.leakage <= 1.0 and 0.0 <= audit.auc <= 1.0


def test_majority_areas_skip_empty_areas() -> None:
    frame = pd.DataFrame({"white": [10.0, 80.0, 0.0], "black": [90.0, 20.0, 0.0]}, index=["a", "b", "c"])
    assert majority_areas(frame, "black") == {"a": True, "b": False}
    with pytest.raises(ValueError, match="no group"):
        majority_areas(frame, "other")


def test_concentration_table_by_hand() -> None:
    # 20 areas: area 0 most targeted (1 = 5 % of 20), 10 never targeted, the rest targeted 1-9 times.
    index = list(range(20))
    residents = pd.DataFrame({"g1": [100.0] * 20, "g2": [100.0] * 20}, index=index)
    residents.loc[0] = [20.0, 180.0]
    for area in range(10, 20):
        residents.loc[area] = [150.0, 50.0]
    counts = {0: 50, **{i: i for i in range(1, 10)}}
    table = concentration_table(counts, residents)
    assert table.most_targeted == [0] and table.never_targeted == list(range(10, 20))
    g2 = next(r for r in table.rows if r.group == "g2")
    # Median areas: count between the 45th and 55th percentiles of [0 x10, 1..9, 50] = 0 .. 1.
    assert table.median_areas == [1, *range(10, 20)]
    median_share = (100 + 10 * 50) / (200 + 10 * 200)
    assert g2.most_targeted_share == pytest.approx(0.9)
    assert g2.median_share == pytest.approx(median_share)
    assert g2.never_targeted_share == pytest.approx(0.25)
    assert g2.most_to_median == pytest.approx(0.9 / median_share) and g2.flagged
    assert table.as_dict()["flagged"] is True


def test_harm_weights_cover_every_category_and_ignore_discovered_ones() -> None:
    assert set(HARM_DAYS) == set(load_category_definitions())
    for code, (attention, _) in category_attention().items():
        if attention != "reported":
            assert HARM_DAYS[code] == 0.0, code
        elif code != "service_call":  # a call for service reports no crime
            assert HARM_DAYS[code] > 0, code
    assert harm_of(["homicide", None, "nonsense"]).tolist() == [5475.0, 0.0, 0.0]
    assert harm_of(["burglary"], {"burglary": 3.0}).tolist() == [3.0]


def test_the_live_check_finds_feedback_and_only_feedback() -> None:
    from openilp.fairness import live_feedback_check

    rng = np.random.default_rng(11)
    areas, cycles = 40, 30
    share = rng.dirichlet(np.ones(areas), size=cycles).T
    reported = rng.poisson(4, (areas, cycles)).astype(float)
    noise = rng.normal(0, 1, (areas, cycles))
    quiet = np.cumsum(0.3 * reported + noise, axis=1)
    assert not live_feedback_check(quiet, share, reported).alert
    # Risk rises with last cycle's patrol share: a feedback loop.
    loop = np.zeros((areas, cycles))
    for t in range(1, cycles):
        loop[:, t] = loop[:, t - 1] + 0.3 * reported[:, t - 1] + 40.0 * share[:, t - 1] + noise[:, t]
    found = live_feedback_check(loop, share, reported)
    assert found.alert and found.beta == pytest.approx(40.0, rel=0.25) and found.gamma == pytest.approx(0.3, abs=0.1)
    with pytest.raises(ValueError, match="same shape"):
        live_feedback_check(quiet[:, :1], share[:, :1], reported[:, :1])
