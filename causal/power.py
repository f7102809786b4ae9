"""Power and minimum detectable effect for two-arm designs with a binary outcome.

Normal approximation for two independent proportions with a pooled variance under the null
(Fleiss, Levin and Paik 2003, eq. 4.14). Non-compliance dilutes the ITT: with a share ``c``
of the assigned actually treated, the ITT is ``c`` times the effect on the treated, so the
required n grows by 1/c^2 (a standard result; e.g. Duflo, Glennerster and Kremer 2007).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass
class PowerResult:
    p_control: float
    p_treatment: float
    n_per_arm: float
    power: float
    alpha: float
    sided: int

    def __str__(self) -> str:
        return (f"control {self.p_control:.2%}, treatment {self.p_treatment:.2%}, "
                f"{'one' if self.sided == 1 else 'two'}-sided alpha {self.alpha}: "
                f"{int(np.ceil(self.n_per_arm))} per arm for power {self.power:.2f}")


def _z(alpha: float, sided: int) -> float:
    return float(stats.norm.ppf(1 - alpha / sided))


def n_per_arm(p0: float, p1: float, *, alpha: float = 0.05, power: float = 0.8,
              sided: int = 2) -> float:
    """Persons per arm to detect p1 - p0 with the given power."""
    if not (0 < p0 < 1 and 0 < p1 < 1) or p0 == p1:
        raise ValueError("expected two different proportions strictly between 0 and 1")
    pbar = (p0 + p1) / 2
    za, zb = _z(alpha, sided), float(stats.norm.ppf(power))
    num = za * np.sqrt(2 * pbar * (1 - pbar)) + zb * np.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
    return float(num**2 / (p1 - p0) ** 2)


def power_at(p0: float, p1: float, n: float, *, alpha: float = 0.05, sided: int = 2) -> float:
    """Power of the two-proportion test with ``n`` per arm."""
    pbar = (p0 + p1) / 2
    za = _z(alpha, sided)
    sd1 = np.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
    num = abs(p1 - p0) * np.sqrt(n) - za * np.sqrt(2 * pbar * (1 - pbar))
    return float(stats.norm.cdf(num / sd1))


def mde(p0: float, n: float, *, alpha: float = 0.05, power: float = 0.8, sided: int = 2) -> float:
    """Smallest increase over p0 detectable with ``n`` per arm (bisection on power_at)."""
    lo, hi = 1e-6, 1 - p0 - 1e-6
    for _ in range(100):
        mid = (lo + hi) / 2
        if power_at(p0, p0 + mid, n, alpha=alpha, sided=sided) < power:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def with_compliance(p0: float, effect_on_treated: float, compliance: float) -> float:
    """The treatment-arm rate an ITT comparison sees when only ``compliance`` are treated."""
    return p0 + compliance * effect_on_treated


def design_effect(cluster_size: int, icc: float) -> float:
    """Variance inflation when whole clusters of ``cluster_size`` persons are randomised:
    1 + (m - 1) ICC (Kish 1965; Donner and Klar 2000, ch. 5). Assumed: equal cluster sizes."""
    if cluster_size < 1 or not (0 <= icc < 1):
        raise ValueError("expected a cluster size >= 1 and an ICC in [0, 1)")
    return 1.0 + (cluster_size - 1) * icc


def settling_size(p0: float, p1: float, *, alpha: float = 0.05, power: float = 0.8,
                  sided: int = 2, compliance: float = 1.0, cluster_size: int = 1,
                  icc: float = 0.0) -> dict[str, float]:
    """Size of the trial that would settle a question: persons per arm for the ITT contrast
    ``p0`` against ``p0 + compliance * (p1 - p0)``, inflated by the design effect and rounded
    up to a multiple of 5; with clusters, also the clusters per arm. The same arithmetic as ``causal power``."""
    p1_itt = with_compliance(p0, p1 - p0, compliance)
    n = n_per_arm(p0, p1_itt, alpha=alpha, power=power, sided=sided)
    deff = design_effect(cluster_size, icc)
    # rounded up to a multiple of 5: power stays at least the target, and the figure reads
    # like the rounded person counts of the output gate (causal/report/gate.py)
    persons = int(5 * np.ceil(n * deff / 5))
    out = {"p0": p0, "p1": p1, "p1_itt": p1_itt, "effect_pp": 100 * (p1 - p0),
           "persons_per_arm": persons, "persons_total": 2 * persons, "design_effect": deff,
           "alpha": alpha, "power": power, "sided": sided, "compliance": compliance}
    if cluster_size > 1:
        out["clusters_per_arm"] = int(np.ceil(persons / cluster_size))
    return out


def settling_sentence(size: dict[str, float], lang: str = "en") -> str:
    """One sentence for a report page: the size of the settling trial and its assumptions,
    in ``lang`` (wording from the message catalogue, numbers as the language writes them)."""
    from causal.messages import num, t

    def pct(x: float, nd: int = 1) -> str:
        return f"{num(100 * x, nd, lang)}%"

    effect = num(size["effect_pp"], 1, lang)
    s = t("settle.size", lang, persons=num(size["persons_per_arm"], 0, lang),
          total=num(size["persons_total"], 0, lang), p0=pct(size["p0"]), p1=pct(size["p1"]),
          effect=effect if effect.startswith("-") else f"+{effect}",
          power=pct(size["power"], 0),
          sided=t("settle.one_sided" if size["sided"] == 1 else "settle.two_sided", lang),
          alpha=num(size["alpha"], 3, lang).rstrip("0").rstrip(".,"))
    if size["compliance"] < 1:
        s += t("settle.take_up", lang, compliance=pct(size["compliance"], 0),
               p1_itt=pct(size["p1_itt"]))
    if "clusters_per_arm" in size:
        s += t("settle.clusters", lang, clusters=num(size["clusters_per_arm"], 0, lang),
               deff=num(size["design_effect"], 2, lang))
    return s
