"""Weighted displacement quotient (WDQ) and total net effect (Bowers & Johnson 2003).

Bowers, K. J. & Johnson, S. D. (2003), *Journal of Quantitative Criminology* 19(3):275–301, as
given in POP Center Tool Guide No. 10 (Guerette 2009, Appendix B/C). With R = response
(treated) area, D = buffer (displacement) area, C = control area, b = before, a = after::

    success measure   SM  = Ra/Ca − Rb/Cb        (negative: the response area improved)
    buffer measure    BDM = Da/Ca − Db/Cb        (positive: displacement; negative: diffusion)
    WDQ               = BDM / SM
    total net effect  TNE = [Rb·(Ca/Cb) − Ra] + [Db·(Ca/Cb) − Da]   (crimes prevented, net)

Reading (Guerette 2009, Appendix C), only when SM < 0: WDQ > 1 diffusion larger than the direct
effect; 0 < WDQ ≤ 1 diffusion of benefits; −1 < WDQ < 0 some displacement, net benefit;
WDQ ≤ −1 displacement erased the benefit. The WDQ has no standard error: use the WDD
(:mod:`openilp.analysis.assessment.wdd`) for inference.

>>> r = wdq(treated=(207, 110), control=(308, 318), displacement=(178, 157))
>>> round(r.wdq, 3), round(r.total_net_effect, 1), r.gross_effect
(0.258, 130.5, 97.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from openilp.analysis.assessment.wdd import check_pre_post

__all__ = ["WDQResult", "wdq"]


@dataclass(frozen=True)
class WDQResult:
    """The WDQ and its parts; ``wdq`` is None when the response area did not change relative to control."""

    gross_effect: float
    net_effect: float
    success_measure: float
    buffer_displacement_measure: float
    wdq: float | None
    total_net_effect: float
    interpretation: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _interpret(success_measure: float, quotient: float | None) -> str:
    if quotient is None:
        return "no change in the response area relative to the control: the WDQ is undefined"
    if success_measure > 0:
        return "the response area got worse relative to the control: the WDQ should not be interpreted"
    if quotient > 1:
        return "diffusion of benefits larger than the direct effect"
    if quotient > 0:
        return "diffusion of benefits to the buffer area"
    if quotient == 0:
        return "no displacement and no diffusion"
    if quotient > -1:
        return "some displacement to the buffer area, but a net benefit"
    return "displacement to the buffer area as large as or larger than the direct effect"


def wdq(*, treated: Sequence[float], control: Sequence[float], displacement: Sequence[float]) -> WDQResult:
    """Weighted displacement quotient and total net effect (Bowers & Johnson 2003).

    Parameters
    ----------
    treated, control, displacement : (before, after) counts
        Crimes in the response area, the control area and the buffer area.

    Raises
    ------
    ValueError
        When the control area has no crimes in either window (the ratios are undefined) or the
        response area had none before.
    """
    rb, ra = check_pre_post("treated", treated)
    cb, ca = check_pre_post("control", control)
    db, da = check_pre_post("displacement", displacement)
    if cb == 0 or ca == 0:
        raise ValueError("the control area needs crimes both before and after: the WDQ divides by them")
    if rb == 0:
        raise ValueError("the treated area had no crimes before the response: there is no baseline to assess against")
    success = ra / ca - rb / cb
    buffer = da / ca - db / cb
    quotient = buffer / success if success != 0 else None
    ratio = ca / cb
    return WDQResult(
        gross_effect=rb - ra,
        net_effect=rb / cb - ra / ca,
        success_measure=success,
        buffer_displacement_measure=buffer,
        wdq=quotient,
        total_net_effect=(rb * ratio - ra) + (db * ratio - da),
        interpretation=_interpret(success, quotient),
    )
