"""Statistical disclosure control for report output.

Rule (DESIGN.md; the usual rule for microdata output, e.g. CBS's for its remote-access
environment): no table cell, region or subgroup estimate rests on fewer than ``min_cell``
persons (default 10, set per spec in ``disclosure.min_cell``). Suppressed rows are replaced
by a marker and counted, so the report can say what was left out.

Written by hand: it walks our own diagnostics structure, which no library knows.
"""
from __future__ import annotations

from typing import Any

SUPPRESSED = "suppressed (fewer than {k} persons)"
_N_KEYS = ("n", "n_persons", "n_treated", "n_control", "count")


def _too_small(row: dict, k: int) -> bool:
    for key in _N_KEYS:
        v = row.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < k:
            return True
    return False


def suppress(obj: Any, k: int, path: str = "") -> tuple[Any, list[str]]:
    """Return a copy of ``obj`` with every record (dict) that carries a person count below
    ``k`` replaced by a marker, and the list of paths that were suppressed."""
    hidden: list[str] = []
    if isinstance(obj, dict):
        if path and _too_small(obj, k):
            return {"suppressed": SUPPRESSED.format(k=k)}, [path]
        out = {}
        for key, v in obj.items():
            out[key], h = suppress(v, k, f"{path}.{key}" if path else str(key))
            hidden += h
        return out, hidden
    if isinstance(obj, list):
        out_l = []
        for i, v in enumerate(obj):
            nv, h = suppress(v, k, f"{path}[{i}]")
            out_l.append(nv)
            hidden += h
        return out_l, hidden
    return obj, hidden


def check_estimate(est: dict, k: int) -> tuple[dict, list[str]]:
    """Apply disclosure control to one estimate's dict (from Estimate.to_dict()).

    The headline estimate itself is withheld when either group has fewer than k persons.
    """
    est = dict(est)
    hidden: list[str] = []
    diag, h = suppress(est.get("diagnostics", {}), k, "diagnostics")
    est["diagnostics"] = diag
    hidden += h
    if est.get("net") is not None and (0 < est.get("n_treated", k) < k
                                       or 0 < est.get("n_control", k) < k):
        for key in ("net", "ci_low", "ci_high", "se", "gross", "counterfactual", "deadweight"):
            est[key] = None
        est["reason"] = f"withheld: a group has fewer than {k} persons (disclosure control)"
        est["sentence"] = est["reason"]
        hidden.append("headline estimate")
    return est, hidden
