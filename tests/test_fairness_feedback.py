"""The runaway-feedback test (Ensign et al. 2018) of OpenILP's own forecaster and deployment code.

Blocking: with equal true rates in every area and the deployment defaults (the default forecaster,
``toprank``, the default shift), after 1,000 weekly forecast → plan → observe cycles each area's patrol share
stays within ±0.1 of its fair share. The same experiment with a model trained on unweighted
discovered incidents runs away, so the check can fail.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from openilp.fairness import feedback as feedback_module
from openilp.fairness import inverse_propensity_sample, simulate_feedback
from openilp.services.analysis.tasking import DeployRequest

TOLERANCE = 0.1


def test_defaults_do_not_run_away_but_a_discovered_crime_model_does() -> None:
    defaults = DeployRequest()
    shift = {
        "officer_minutes": defaults.officer_minutes,
        "shift_hours": defaults.shift_hours,
        "visit_minutes": defaults.visit_minutes,
        "travel_minutes": defaults.travel_minutes,
        "revisit_every_minutes": defaults.revisit_every_minutes,
        "cell_size_m": defaults.cell_size_m,
    }
    fair = simulate_feedback(method=defaults.method, training="reported", cycles=1000, seed=0, **shift)
    assert fair.fair_share == (0.25, 0.25, 0.25, 0.25)
    assert fair.within(TOLERANCE), fair.as_dict()
    assert fair.discovered > 0 and fair.discovered_trained == 0

    # The same world, a model that learns from where police already were: it runs away.
    naive = simulate_feedback(method="kde", training="all", cycles=1000, seed=0, **shift)
    assert naive.discovered_trained == naive.discovered > 0
    assert not naive.within(TOLERANCE), naive.as_dict()
    assert naive.max_deviation > 2 * TOLERANCE


def test_unequal_true_rates_give_unequal_fair_shares() -> None:
    result = simulate_feedback(true_rates=[6.0, 18.0], method="naive", cycles=5, warmup_weeks=10)
    assert result.fair_share == (0.25, 0.75)
    assert np.allclose(result.shares_by_cycle.sum(axis=1), 1.0)


def test_inverse_propensity_sampling_keeps_incidents_in_proportion_to_one_over_p() -> None:
    rng = np.random.default_rng(3)
    p = np.repeat([1.0, 0.5, 0.25], 20_000)
    keep = inverse_propensity_sample(p, rng)
    rates = [keep[p == value].mean() for value in (1.0, 0.5, 0.25)]
    assert rates == pytest.approx([0.25, 0.5, 1.0], abs=0.02)
    with pytest.raises(ValueError, match="propensit"):
        inverse_propensity_sample([0.5, 0.0], rng)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="two areas"):
        simulate_feedback(true_rates=[1.0])
    with pytest.raises(ValueError, match="training"):
        simulate_feedback(training="everything")  # type: ignore[arg-type]


def test_no_protected_attribute_enters_the_simulation() -> None:
    """The simulation has no residents: neither its source nor its result names a protected attribute,
    and the forecaster only ever receives where and when."""
    protected = ("race", "ethnic", "national", "religio", "black", "white", "hispanic", "latino")
    tree = ast.parse(Path(feedback_module.__file__).read_text(encoding="utf-8"))
    names = {node.id.lower() for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr.lower() for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {
        str(node.value).lower()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 40
    }
    assert not [n for n in names for word in protected if word in n]
    result = simulate_feedback(method="naive", cycles=2, warmup_weeks=4)
    fields = {f.name for f in dataclasses.fields(result)} | set(result.as_dict())
    assert not [f for f in fields for word in protected if word in f]
    imported = {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names
    }
    assert "read_demographics" not in imported and "disparity_check" not in imported
