"""The E-test (Krishnamoorthy & Thomson 2004) computed in O(√n): equal to statsmodels wherever
statsmodels runs, at real city-wide counts too, with p-values in [0, 1] and a bounded truncation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats import rates as sm_rates

from openilp.analysis.assessment.rates import etest, etest_exact
from openilp.analysis.trends import etest_pvalue

COUNTS = (0, 1, 2, 3, 5, 9, 17, 30, 64, 150, 400)
EXPOSURES = (0.37, 0.8, 1.0, 2.5, 4.0, 8.0)


def _statsmodels(count1: int, count2: int, exposure1: float, exposure2: float, compare: str) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        result = sm_rates.test_poisson_2indep(count1, exposure1, count2, exposure2, method="etest", compare=compare)
    return float(min(result.pvalue, 1.0))


@pytest.mark.parametrize("compare", ["ratio", "diff"])
def test_equals_statsmodels_on_a_grid(compare: str) -> None:
    worst = 0.0
    for count1 in COUNTS:
        for count2 in COUNTS:
            if count1 == count2 == 0:
                continue
            for exposure in EXPOSURES:
                expected = _statsmodels(count1, count2, 1.0, exposure, compare)
                result = etest_exact(count1, count2, 1.0, exposure, compare=compare)  # type: ignore[arg-type]
                worst = max(worst, abs(result.p_value - expected))
                assert result.p_value == pytest.approx(expected, abs=1e-9), (count1, count2, exposure)
                assert result.truncation_error < 1e-15
    assert worst < 1e-11  # in fact about 2e-13: summation order only


def test_both_exposures_and_the_assessment_caller() -> None:
    # report.py calls etest(post, pre, post_length, pre_length): both exposures differ from 1.
    for count1, count2, exposure1, exposure2 in [(12, 30, 3.0, 9.0), (40, 22, 26.0, 52.0), (7, 0, 0.5, 2.0)]:
        for compare in ("ratio", "diff"):
            expected = _statsmodels(count1, count2, exposure1, exposure2, compare)
            got = etest(count1, count2, exposure1, exposure2, compare=compare)  # type: ignore[arg-type]
            assert got == pytest.approx(expected, abs=1e-9)


def test_citywide_counts_equal_statsmodels_on_the_region_that_matters() -> None:
    # 9,122 against 9,665 crimes (a whole city's year): statsmodels' default square grid would need
    # ~2.6 GB; on the counts within ±8 standard deviations of the means it runs, and agrees.
    count1, count2 = 9_122, 9_665
    mean = (count1 + count2) / 2
    grid = np.arange(int(mean - 8 * mean**0.5), int(mean + 8 * mean**0.5))
    _, expected = sm_rates.etest_poisson_2indep(count1, 1.0, count2, 1.0, y_grid=grid)
    result = etest_exact(count1, count2)
    assert result.p_value == pytest.approx(float(expected), rel=1e-8)
    assert 1e-5 < result.p_value < 1e-3  # a real difference: z about -4
    assert result.truncation_error < 1e-20


def test_trend_wrapper_uses_the_same_test() -> None:
    assert etest_pvalue(9_122, 9_665) == etest_exact(9_122, 9_665).p_value
    assert etest_pvalue(0, 0) == 1.0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="compare"):
        etest_exact(3, 4, compare="odds")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both counts are zero"):
        etest_exact(0, 0)
    with pytest.raises(ValueError, match="whole non-negative"):
        etest_exact(-1, 4)
    with pytest.raises(ValueError, match="exposures"):
        etest_exact(3, 4, 1.0, 0.0)


@given(
    st.integers(0, 30_000),
    st.integers(0, 30_000),
    st.floats(0.05, 60.0),
    st.floats(0.05, 60.0),
    st.sampled_from(["ratio", "diff"]),
)
@settings(max_examples=150, deadline=None)
def test_p_value_in_unit_interval_and_symmetric(
    count1: int, count2: int, exposure1: float, exposure2: float, compare: str
) -> None:
    if count1 == count2 == 0:
        return
    result = etest_exact(count1, count2, exposure1, exposure2, compare=compare)  # type: ignore[arg-type]
    assert 0.0 <= result.p_value <= 1.0
    assert result.truncation_error < 1e-15
    swapped = etest_exact(count2, count1, exposure2, exposure1, compare=compare)  # type: ignore[arg-type]
    assert swapped.p_value == pytest.approx(result.p_value, abs=1e-9)


@given(st.integers(0, 200), st.integers(0, 200), st.floats(0.2, 10.0))
@settings(max_examples=60, deadline=None)
def test_small_counts_equal_statsmodels(count1: int, count2: int, exposure: float) -> None:
    if count1 == count2 == 0:
        return
    expected = _statsmodels(count1, count2, 1.0, exposure, "ratio")
    assert etest_exact(count1, count2, 1.0, exposure).p_value == pytest.approx(expected, abs=1e-9)


def test_trend_service_loads_no_heavy_modules() -> None:
    # The trend alerts' memory budget (< 500 MB for a whole city) leaves no room for numba (the Knox
    # kernel) or statsmodels' model classes: importing the service must not load them.
    import subprocess
    import sys

    code = (
        "import sys, openilp.services.analysis.trends, openilp.analysis.trends; "
        "print(sorted(m for m in ('numba', 'statsmodels.api', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
