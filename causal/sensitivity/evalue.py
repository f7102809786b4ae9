"""E-value (VanderWeele and Ding 2017) of an estimate and of its interval.

The minimum strength of association, on the risk-ratio scale, that an unmeasured confounder
would need with both the treatment and the outcome (beyond the measured confounders) to
explain the estimate away. For an outcome in percentage points the risk ratio is the treated
mean over its counterfactual, ``gross / (gross - net)``; for a continuous outcome the
approximate conversion of the standardised difference ``d`` is ``RR ~ exp(0.91 d)``
(VanderWeele and Ding 2017, after Chinn 2000). The E-value of the interval uses the limit
closer to no effect. Assumed: the risk ratio of the treated versus their counterfactual
describes the effect (for an ATE this uses the treated mean as the reference, an
approximation).
"""
from __future__ import annotations

import math
from typing import Any

from causal.result import Estimate


def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio (VanderWeele and Ding 2017, eq. 2): RR + sqrt(RR (RR - 1)),
    after taking the inverse of a protective ratio. 1 means no confounding is needed."""
    if not math.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = 1.0 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1.0))


def _rr_risk(gross: float, effect: float) -> float:
    """Treated mean over counterfactual (gross - effect), both on the same (pp) scale."""
    cf = gross - effect
    if cf <= 0 or gross <= 0:
        return float("nan")
    return gross / cf


def e_value(est: Estimate, sd_outcome: float | None = None) -> dict[str, Any] | None:
    """E-value of an estimate and of its interval limit closer to no effect.

    Returns ``{"e_value", "e_value_ci", "e_value_reading", "e_value_scale"}`` or None when
    there is no number. ``sd_outcome`` is needed for outcomes not in percentage points.
    """
    if est.net is None or not math.isfinite(est.net):
        return None
    lo, hi = est.ci_low, est.ci_high
    if est.unit == "pp":
        if est.gross is None or not math.isfinite(est.gross):
            return None
        scale = "risk ratio of the treated versus their counterfactual (gross / (gross - net))"

        def rr(x: float) -> float:
            return _rr_risk(est.gross, x)
    else:
        if not sd_outcome or not math.isfinite(sd_outcome) or sd_outcome <= 0:
            return None
        scale = ("approximate risk ratio exp(0.91 d) of the standardised difference d = net / "
                 f"SD of the outcome ({sd_outcome:.3g}; VanderWeele and Ding 2017)")

        def rr(x: float) -> float:
            return math.exp(0.91 * x / sd_outcome)
    point = rr(est.net)
    if not math.isfinite(point):
        return {"e_value": None, "e_value_ci": None, "e_value_scale": scale,
                "e_value_reading": "No E-value: the estimate implies a counterfactual of zero "
                                   "or less, so its risk ratio is not defined."}
    ev = e_value_rr(point)
    # the interval limit closer to no effect; 1 when the interval includes no effect
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        ev_ci = None
    elif lo <= 0 <= hi:
        ev_ci = 1.0
    else:
        near = lo if est.net > 0 else hi
        r = rr(near)
        ev_ci = e_value_rr(r) if math.isfinite(r) else None
    what = "raise" if est.net < 0 else "lower"
    reading = (f"To explain the estimate away, an unmeasured confounder would have to be "
               f"associated with both taking part and the outcome by a risk ratio of at least "
               f"{ev:.2f} each, over and above the measured confounders")
    if ev_ci is None:
        reading += "."
    elif ev_ci <= 1.0:
        reading += ("; the interval already includes no effect, so no confounding at all is "
                    "needed to make the data compatible with zero.")
    else:
        reading += (f"; one of {ev_ci:.2f} could {what} the interval to include no effect.")
    if ev < 1.5:
        reading += " That is a weak confounder: the estimate is fragile."
    return {"e_value": ev, "e_value_ci": ev_ci, "e_value_reading": reading,
            "e_value_scale": scale}
