"""Cost per net outcome: what one additional person with the outcome cost.

Ministries ask what an extra person in work cost (seed notes 001 EP9 cost-benefit, 004 SROI,
003 budgets in tables A5/A6). With a spec's ``costs`` block (a total or a cost per
participant, its price year and citation, optionally spread over years and discounted), each
estimate gets

    cost per net outcome = cost / (net x n),

with ``net`` on the outcome's scale (a share for percentage points: net / 100), ``n`` the
participants the cost covers (``costs.participants``, else the estimate's treated), and
``cost`` the total (or per participant x n), discounted to its first year when
``discount_rate`` is given: total / k x sum_{t<k} (1 + r)^-t over ``spread_years`` = k.

Interval: the net effect's interval endpoints mapped through c / (x n). Because the map is
monotone on either side of zero, this is exact for any interval that is a set of quantiles
(a credible interval: the same as transforming every posterior draw) and the natural
transformation of a confidence interval (more faithful than the delta method, whose
symmetric interval ignores the map's curvature). When the interval includes zero the measure
may have added no one, and the cost per net outcome is **unbounded**: said in words, never a
number. When the whole interval is on the wrong side (``desirable: decrease`` for an
unemployment rate flips the side), there is no cost per net outcome to give.
"""
from __future__ import annotations

from typing import Any

from causal.messages import LANGS, catalogue, t
from causal.spec import Costs

#: sentences (en/nl), from the message catalogue (causal/messages/catalogue.yaml, key costs).
MESSAGES = {lang: catalogue()[lang]["costs"] for lang in LANGS}


def discounted_total(costs: Costs, participants: int) -> float:
    """The cost in euro at the first year's value (see the module doc)."""
    total = costs.total if costs.total is not None else costs.per_participant * participants
    k = costs.spread_years
    if costs.discount_rate is None or k == 1:
        return float(total)
    r = costs.discount_rate
    return float(total / k * sum((1 + r) ** -t for t in range(k)))


def _money(x: float, lang: str = "en") -> str:
    """Three significant digits with thousands separators as ``lang`` writes them: 12,300
    (nl 12.300)."""
    from causal.messages import num
    from causal.report.gate import sig

    return num(sig(float(x), 3), 0, lang)


def cost_per_outcome(net: float | None, ci_low: float | None, ci_high: float | None,
                     n_treated: int, unit: str, costs: Costs, lang: str = "en"
                     ) -> dict[str, Any] | None:
    """The cost per net outcome of one estimate, with its interval and sentence (or None when
    the estimate has no number)."""
    if net is None:
        return None
    n = costs.participants or int(n_treated)
    if n <= 0:
        return None
    scale = 0.01 if unit == "pp" else 1.0
    sign = -1.0 if costs.desirable == "decrease" else 1.0
    cost = discounted_total(costs, n)
    out: dict[str, Any] = {"cost_eur": cost, "n_participants": n, "year": costs.year,
                           "citation": costs.citation, "per": costs.desirable,
                           "unbounded": False, "value": None, "low": None, "high": None}
    if costs.note:
        out["note"] = costs.note
    lo, hi = ci_low, ci_high
    if lo is None or hi is None:
        lo = hi = net
    a, b = sorted((sign * lo * scale, sign * hi * scale))
    point = sign * net * scale
    out["extra_outcomes"] = point * n
    if a <= 0 <= b:
        out["unbounded"] = True
    elif b >= 0 and point > 0:
        out["value"] = cost / (point * n)
        out["low"] = cost / (b * n)
        out["high"] = cost / (a * n)
    out["sentence"] = sentence(out, lang)
    return out


def annotate_costs(spec, estimates: list) -> list:
    """Add ``diagnostics['cost_per_outcome']`` to every estimate with a number (in place)."""
    # naive comparisons are left out (their "net" is not an effect), and so are
    # dose-responses (an effect per unit of dose, not per participant)
    if getattr(spec, "costs", None) is None:
        return estimates
    for e in estimates:
        if e.net is None or e.estimator == "naive" or e.estimand in ("naive", "dose_response"):
            continue
        c = cost_per_outcome(e.net, e.ci_low, e.ci_high, e.n_treated, e.unit, spec.costs)
        if c is not None:
            e.diagnostics["cost_per_outcome"] = c
    return estimates


def sentence(c: dict[str, Any], lang: str = "en") -> str:
    """The cost sentence of a (gated) ``cost_per_outcome`` record in ``lang``."""
    msg = MESSAGES.get(lang, MESSAGES["en"])
    what = msg.get(c.get("per") or "increase", msg["increase"])
    if c.get("unbounded"):
        return msg["unbounded"].format(what=what)
    if c.get("value") is None:
        return msg["harmful"].format(what=what)
    return msg["value"].format(what=what, value=_money(c["value"], lang),
                               low=_money(c["low"], lang), high=_money(c["high"], lang),
                               year=c.get("year"))


def portfolio_text(c: dict[str, Any] | None, lang: str = "en") -> str:
    """The portfolio's cell in ``lang``: EUR 12,300 (8,000 to 25,000), 'unbounded', 'none'
    (nl: EUR 12.300 (8.000 tot 25.000), 'onbegrensd', 'geen') or ''."""
    if not c:
        return ""
    if c.get("unbounded"):
        return t("cost_cell.unbounded", lang)
    if c.get("value") is None:
        return t("cost_cell.none", lang)
    return t("cost_cell.value", lang, value=_money(c["value"], lang),
             low=_money(c["low"], lang), high=_money(c["high"], lang))
