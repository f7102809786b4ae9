"""Deadweight check: the self-reported pivotal share beside the estimated one.

Evaluation reports ask participants (or employers) whether the measure made the difference:
"would you have done this without the advice?" (seed notes 000 Table 2.17: 37.4% say no),
"did UWV contribute to finding work?" (31%), "did the LKV contribute reasonably or much?"
(~20%). That self-reported pivotal share is a counterfactual too, one each respondent guesses
for himself (000 EP12, 003 P10, 004 item 11). An estimate gives the same quantity from data:
of the treated's successes (the gross ``g``), the share the measure caused is ``net / g``
(one minus the deadweight share ``counterfactual / g``). With displacement (verdringing) a
share ``d`` of the participants' gain is taken from other jobseekers (a subsidised hire
instead of another hire), so the gain for all is ``net (1 - d)`` and the pivotal share for all
``net (1 - d) / g``: the gross-to-net converter of 000 EP12, net = gross (1 - deadweight) -
displacement, with displacement as a share of the net gain.

Assumed: the self-report and the estimate describe the same people and outcome (the spec's
outcome among the treated); displacement is a parameter, never estimated here (no report
quantifies it, 003 §4.3). The check compares; it does not correct either figure.

Each comparison carries a ``verdict_key`` (above, below, within, no_interval) that reports
render in their language from the message catalogue (``deadweight_check.verdict``), and the
English ``verdict`` for summary.json readers.
"""
from __future__ import annotations

from typing import Any

from causal.messages import t

#: displacement shares shown when the spec names none (none, a quarter, half of the gain)
DEFAULT_DISPLACEMENT = (0.0, 0.25, 0.5)


def pivotal_check(reported: list[dict[str, Any]], estimates: list[dict[str, Any]],
                  displacement: tuple[float, ...] | list[float] = DEFAULT_DISPLACEMENT,
                  ) -> dict[str, Any] | None:
    """Compare the first self-reported pivotal share (a ``reported`` figure with role
    ``attribution``, in percent) with ``net / gross`` of every estimate that has both, at
    each displacement share. None when the spec has no attribution figure."""
    attr = next((r for r in reported if r.get("role") == "attribution"
                 and r.get("unit") == "percent"), None)
    if attr is None:
        return None
    self_share = float(attr["value"]) / 100.0
    rows = []
    for e in estimates:
        net, gross = e.get("net"), e.get("gross")
        if e.get("estimator") == "naive" or net is None or not gross or e.get("unit") != "pp":
            continue
        lo, hi = e.get("ci_low"), e.get("ci_high")
        for d in displacement:
            share = net * (1 - d) / gross
            band = (None if lo is None or hi is None
                    else (lo * (1 - d) / gross, hi * (1 - d) / gross))
            if band is None:
                key = "no_interval"
            elif self_share > band[1]:
                key = "above"
            elif self_share < band[0]:
                key = "below"
            else:
                key = "within"
            rows.append({"estimator": e.get("name") or e.get("estimator"),
                         "displacement": d, "estimated_pivotal": round(share, 3),
                         "interval": None if band is None else [round(band[0], 3),
                                                                round(band[1], 3)],
                         "verdict": t(f"deadweight_check.verdict.{key}", "en"),
                         "verdict_key": key})
    return {"self_reported": round(self_share, 3), "label": attr["label"],
            "citation": attr["citation"], "comparisons": rows}
