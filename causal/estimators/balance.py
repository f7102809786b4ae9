"""Balance and overlap diagnostics shared by the matching and weighting estimators.

- :func:`balance_table`: standardised mean differences (SMD) and variance ratios of every
  covariate column before and after matching or weighting (Austin 2009; Stuart 2010). The
  SMD's denominator is the pooled standard deviation BEFORE adjustment, so before and after
  are on one scale; |SMD| < 0.1 is the usual threshold for good balance.
- :func:`effective_sample_size`: Kish's (1965) effective sample size of a weighted group.
- :func:`overlap_summary`: propensity-score overlap, with a warning when a sizable share of
  the treated have no comparable controls (Crump, Hotz, Imbens and Mitnik 2009 rule of thumb
  on [0.1, 0.9] reported beside it).
- :func:`love_plot`, :func:`overlap_plot`: figures built on ``matplotlib.figure.Figure``
  (no pyplot state: safe in threads and worker processes).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: |SMD| above this after adjustment is reported as residual imbalance.
SMD_THRESHOLD = 0.1
#: share of treated without comparable controls above which we warn.
OVERLAP_WARN_SHARE = 0.05


def balance_table(X: pd.DataFrame | np.ndarray, d: np.ndarray,
                  w_after: np.ndarray | None = None, w_before: np.ndarray | None = None, *,
                  names: list[str] | None = None, loc: np.ndarray | None = None,
                  scale: np.ndarray | None = None) -> pd.DataFrame:
    """SMD and variance ratio (treated over control) of every column of ``X``.

    ``w_after`` are unit weights after matching or weighting (0 for units not used; for
    ATT matching: 1 for matched treated, the number of times used for controls). Columns:
    ``covariate, mean_treated, mean_control, smd_before, smd_after, vr_before, vr_after``.
    SMDs and variance ratios do not change when a column is shifted or scaled, so ``X`` may
    be the standardised design (``loc``/``scale`` map its means back to the data's units);
    moments are computed in blocks of rows (no copy of the whole matrix).
    """
    if isinstance(X, pd.DataFrame):
        names = list(X.columns)
        x = X.to_numpy(dtype=float)
    else:
        x = X
    dm = (np.asarray(d) == 1).astype(float)
    wb = None if w_before is None else np.asarray(w_before, float)
    after = False
    if w_after is not None:
        wa = np.asarray(w_after, float)
        after = bool((wa * dm).sum() > 0 and (wa * (1 - dm)).sum() > 0)
    # the weights as columns of one array, filled in place (no column copies beside it)
    W = np.empty((len(dm), 4 if after else 2))
    np.subtract(1.0, dm, out=W[:, 1])
    if wb is None:
        W[:, 0] = dm
    else:
        np.multiply(wb, dm, out=W[:, 0])
        W[:, 1] *= wb
    if after:
        np.multiply(wa, dm, out=W[:, 2])
        np.subtract(1.0, dm, out=W[:, 3])
        W[:, 3] *= wa
    sw = W.sum(0)
    p = x.shape[1]
    c = x[: min(len(x), 1000)].mean(0)  # centring keeps the one-pass moments exact
    m1 = np.zeros((W.shape[1], p))
    m2 = np.zeros((W.shape[1], p))
    step = 100_000
    for i in range(0, len(x), step):  # row blocks: no copy of the whole matrix
        xc = x[i:i + step] - c
        Wi = W[i:i + step].T
        m1 += Wi @ xc
        np.multiply(xc, xc, out=xc)
        m2 += Wi @ xc
    m1 /= sw[:, None]
    m2 /= sw[:, None]
    mean = m1 + c
    var = np.maximum(m2 - m1 ** 2, 0.0)
    if scale is not None:
        mean = mean * scale + (0.0 if loc is None else loc)
        var = var * scale ** 2
    sd = np.sqrt((var[0] + var[1]) / 2.0)
    sd = np.where(sd > 0, sd, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"covariate": list(names), "mean_treated": mean[0], "mean_control": mean[1],
               "smd_before": (mean[0] - mean[1]) / sd, "vr_before": var[0] / var[1]}
        if after:
            out["smd_after"] = (mean[2] - mean[3]) / sd
            out["vr_after"] = var[2] / var[3]
            out["mean_treated_after"] = mean[2]
            out["mean_control_after"] = mean[3]
        # persons with and without each 0/1 category per group (population variance of a
        # 0/1 column is m(1 - m)): the output gate hides categories under min_cell
        dummy = np.all([np.abs(var[j] - mean[j] * (1 - mean[j])) < 1e-6 for j in (0, 1)], 0)
        dummy &= (mean[0] >= 0) & (mean[0] <= 1) & (mean[1] >= 0) & (mean[1] <= 1)
        if w_before is None:
            for j, arm in ((0, "treated"), (1, "control")):
                with_ = np.where(dummy, np.round(mean[j] * sw[j]), np.nan)
                out[f"n_{arm}_with"] = with_
                out[f"n_{arm}_without"] = np.where(dummy, sw[j] - with_, np.nan)
    tab = pd.DataFrame(out)
    for col in ("smd_before", "smd_after", "vr_before", "vr_after"):
        if col in tab:
            tab[col] = tab[col].replace([np.inf, -np.inf], np.nan)
    return tab


def balance_summary(tab: pd.DataFrame) -> dict[str, Any]:
    """Headline numbers of a balance table (max |SMD| before/after, count above 0.1)."""
    out: dict[str, Any] = {"max_abs_smd_before": float(np.nanmax(np.abs(tab["smd_before"])))
                           if len(tab) else 0.0}
    if "smd_after" in tab and len(tab):
        a = np.abs(tab["smd_after"].to_numpy(float))
        out["max_abs_smd_after"] = float(np.nanmax(a))
        out["n_smd_above_0.1_after"] = int(np.nansum(a > SMD_THRESHOLD))
        out["n_smd_above_0.1_before"] = int(np.nansum(np.abs(tab["smd_before"]) > SMD_THRESHOLD))
    return out


def balance_records(tab: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as rounded JSON-ready rows (for Estimate.diagnostics)."""
    keep = [c for c in ("covariate", "smd_before", "smd_after", "vr_before", "vr_after")
            if c in tab]
    counts = [c for c in tab.columns if c.startswith("n_")]
    rows = []
    for i, r in enumerate(tab[keep].itertuples(index=False)):
        row = {k: (None if isinstance(v, float) and not np.isfinite(v) else
                   (round(float(v), 4) if isinstance(v, (float, np.floating)) else v))
               for k, v in zip(keep, r, strict=True)}
        for c in counts:  # persons in a 0/1 category: the gate needs them
            v = tab[c].iloc[i]
            if np.isfinite(v):
                row[c] = int(v)
        rows.append(row)
    return rows


def balance_warnings(tab: pd.DataFrame, what: str = "matching") -> list[str]:
    if "smd_after" not in tab:
        return []
    bad = tab.loc[np.abs(tab["smd_after"]) > SMD_THRESHOLD, "covariate"].tolist()
    if not bad:
        return []
    shown = ", ".join(map(str, bad[:6])) + (" ..." if len(bad) > 6 else "")
    return [f"after {what}, {len(bad)} covariate(s) still differ by more than 0.1 standard "
            f"deviations between the groups ({shown}); the estimate may carry residual bias"]


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2."""
    w = np.asarray(w, float)
    s2 = float((w ** 2).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def logit(p: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    p = np.clip(np.asarray(p, float), eps, 1 - eps)
    return np.log(p) - np.log1p(-p)


def overlap_summary(ps: np.ndarray, d: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """Overlap of the propensity score between treated and controls, and warnings.

    "No comparable controls": a treated person whose score lies above the highest (or below
    the lowest) control score; for the ATE the same for controls against the treated.
    """
    ps = np.asarray(ps, float)
    d = np.asarray(d) == 1
    pt, pc = ps[d], ps[~d]
    out: dict[str, Any] = {
        "ps_treated_mean": float(pt.mean()), "ps_control_mean": float(pc.mean()),
        "ps_treated_quantiles": [float(q) for q in np.quantile(pt, [0.01, 0.5, 0.99])],
        "ps_control_quantiles": [float(q) for q in np.quantile(pc, [0.01, 0.5, 0.99])],
    }
    no_support_t = float(((pt > pc.max()) | (pt < pc.min())).mean())
    no_support_c = float(((pc > pt.max()) | (pc < pt.min())).mean())
    out["share_treated_without_comparable_controls"] = no_support_t
    out["share_controls_without_comparable_treated"] = no_support_c
    out["share_outside_0.1_0.9"] = float(((ps < 0.1) | (ps > 0.9)).mean())
    warn = []
    if no_support_t > OVERLAP_WARN_SHARE:
        warn.append(f"poor overlap: {no_support_t:.0%} of the participants have a propensity "
                    "score outside the range of the non-participants, so no comparable "
                    "non-participants exist for them")
    if (pt > 0.95).mean() > OVERLAP_WARN_SHARE:
        warn.append(f"poor overlap: {(pt > 0.95).mean():.0%} of the participants have a "
                    "propensity score above 0.95; their counterfactual rests on very few "
                    "non-participants")
    return out, warn


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------
def love_plot(tab: pd.DataFrame, title: str = "Covariate balance", after_label: str = "after"):
    """Absolute SMD per covariate before (open) and after (filled) adjustment, as a figure for
    the output gate: categories with fewer than min_cell persons in a group are hidden."""
    from causal.report.gate_figures import GatedFigure

    after = "smd_after" in tab

    def draw(recs):
        from matplotlib.figure import Figure

        t = pd.DataFrame(recs)
        t["abs_before"] = np.abs(t["smd_before"].astype(float))
        t["abs_after"] = np.abs(t["smd_after"].astype(float)) if after else np.nan
        t = t.sort_values("abs_before")
        n = len(t)
        fig = Figure(figsize=(6.4, max(2.5, 0.28 * n + 1.2)))
        ax = fig.add_subplot(1, 1, 1)
        y = np.arange(n)
        ax.scatter(t["abs_before"], y, facecolors="none", edgecolors="#b2182b", label="before")
        if after:
            ax.scatter(t["abs_after"], y, color="#2166ac", label=after_label)
        ax.axvline(SMD_THRESHOLD, color="grey", ls="--", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([str(c) for c in t["covariate"]], fontsize=8)
        ax.set_xlabel("absolute standardised mean difference")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return fig

    recs = [r for r in balance_records(tab) if r.get("smd_before") is not None]
    return GatedFigure(recs, draw, what="absolute standardised mean difference per covariate "
                       "before and after adjustment; 0/1 categories with fewer than min_cell "
                       "persons with or without them in a group are hidden")


def balance_figures(tab: pd.DataFrame, p: np.ndarray, d: np.ndarray, title: str,
                    after_label: str) -> dict:
    """The love plot and the score overlap of a matching or weighting estimate."""
    return {"love_plot": love_plot(tab, title, after_label),
            "overlap": overlap_plot(p, d, "Propensity scores by group")}


def overlap_plot(ps: np.ndarray, d: np.ndarray, title: str = "Propensity score overlap",
                 on_logit: bool = False):
    """Histograms of the propensity score of participants (up) and non-participants (down),
    as a figure for the output gate: bins are merged until each holds min_cell persons of
    each group (or none)."""
    from causal.report.gate_figures import GatedFigure

    d = np.asarray(d) == 1
    v = logit(ps) if on_logit else np.asarray(ps, float)
    edges = np.linspace(v.min(), v.max(), 41) if v.max() > v.min() else \
        np.array([v.min() - 0.5, v.max() + 0.5])
    ht, _ = np.histogram(v[d], bins=edges)
    hc, _ = np.histogram(v[~d], bins=edges)
    recs = [{"x_lo": float(edges[i]), "x_hi": float(edges[i + 1]), "n_treated": int(ht[i]),
             "n_control": int(hc[i])} for i in range(len(ht))]

    def draw(recs):
        from matplotlib.figure import Figure

        lo = np.array([r["x_lo"] for r in recs])
        w = np.array([r["x_hi"] - r["x_lo"] for r in recs])
        nt = np.array([r["n_treated"] for r in recs], float)
        nc = np.array([r["n_control"] for r in recs], float)
        fig = Figure(figsize=(6.4, 3.6))
        ax = fig.add_subplot(1, 1, 1)
        ax.bar(lo, nt / max(nt.sum(), 1) / w, width=w, align="edge", color="#2166ac",
               alpha=0.8, label=f"participants (about {int(nt.sum()):,})")
        ax.bar(lo, -nc / max(nc.sum(), 1) / w, width=w, align="edge", color="#b2182b",
               alpha=0.8, label=f"non-participants (about {int(nc.sum()):,})")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xlabel("logit of the propensity score" if on_logit else "propensity score")
        ax.set_ylabel("density")
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    return GatedFigure(recs, draw, merge="adjacent",
                       what="histogram of the propensity score per group (bins merged until "
                       "each holds min_cell persons of each group, or none)")
