"""Effects on the outcome's scale from the posterior draws, convergence diagnostics (arviz;
Vehtari et al. 2021) and figures of the Bayesian multilevel estimator
(:mod:`causal.estimators.multilevel`)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal.estimators.multilevel_design import Design

RHAT_MAX, ESS_MIN = 1.01, 400


# --------------------------------------------------------------------------------------
# Effects on the outcome's scale, from the posterior draws
# --------------------------------------------------------------------------------------
def _expit(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)


@dataclass
class Effects:
    national: np.ndarray          # draws (chains x draws)
    region: np.ndarray            # draws x groups (NaN for groups without treated)
    dose: np.ndarray              # draws x predictors
    n_treated: np.ndarray         # per group
    n_control: np.ndarray
    raw: np.ndarray               # per group raw difference (scale of the report)
    raw_se: np.ndarray


def effects(idata, design: Design, scale: float, budget: int = 5_000_000) -> Effects:
    """National, per-group and dose-response effects for every draw (pp for binary).
    Draws are processed in chunks of about ``budget`` cell evaluations (bounded memory even
    on the row-level model)."""
    from scipy import sparse

    post = idata.posterior
    ch, dr = post.sizes["chain"], post.sizes["draw"]
    S, G = ch * dr, len(design.groups)
    mu = post["group_intercept"].values.reshape(S, G)
    tau = post["group_effect"].values.reshape(S, G)
    beta = (post["beta"].values.reshape(S, -1) if "beta" in post
            else np.zeros((S, 0)))
    gamma = post["dose"].values.reshape(S, -1) if "dose" in post else np.zeros((S, 0))
    t = design.d == 1
    gt, nt, Xt = design.g[t], design.n[t], design.X[t]
    n_treated = np.bincount(gt, weights=nt, minlength=G)
    n_control = np.bincount(design.g[~t], weights=design.n[~t], minlength=G)
    Q = gamma.shape[1]
    nat = np.empty(S)
    reg = np.empty((S, G))
    dose = np.empty((S, Q))
    M = sparse.csr_matrix((np.ones(len(gt)), (np.arange(len(gt)), gt)), shape=(len(gt), G))
    chunk = int(max(1, min(S, budget // max(1, len(gt)))))
    for a in range(0, S, chunk):
        b = min(S, a + chunk)
        if design.family == "binomial":
            eta0 = mu[a:b][:, gt] + beta[a:b] @ Xt.T
            eta1 = eta0 + tau[a:b][:, gt]
            p1 = _expit(eta1)
            e = p1 - _expit(eta0)
            e *= nt
            for q in range(Q):
                step = gamma[a:b, q] / design.w_sd[q]
                dose[a:b, q] = ((_expit(eta1 + step[:, None]) - p1) @ nt) / nt.sum()
        else:
            e = tau[a:b][:, gt] * nt * design.y_sd
            for q in range(Q):
                dose[a:b, q] = gamma[a:b, q] / design.w_sd[q] * design.y_sd
        nat[a:b] = e.sum(axis=1) / nt.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            reg[a:b] = np.asarray((M.T @ e.T).T) / n_treated
    # raw treated-minus-untreated difference per group, with a normal-approximation se
    y1 = np.bincount(gt, weights=design.y[t] * (1 if design.family == "binomial" else nt),
                     minlength=G)
    y0 = np.bincount(design.g[~t], weights=design.y[~t] * (1 if design.family == "binomial"
                                                           else design.n[~t]), minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1, m0 = y1 / n_treated, y0 / n_control
        if design.family == "binomial":
            se = np.sqrt(m1 * (1 - m1) / n_treated + m0 * (1 - m0) / n_control)
            raw, raw_se = (m1 - m0) * scale, se * scale
        else:
            v1 = _group_var(design, t, m1)
            v0 = _group_var(design, ~t, m0)
            raw = (m1 - m0) * design.y_sd
            raw_se = np.sqrt(v1 / n_treated + v0 / n_control) * design.y_sd
    national = nat.reshape(ch, dr) * (scale if design.family == "binomial" else 1.0)
    return Effects(national, reg * (scale if design.family == "binomial" else 1.0),
                   dose * (scale if design.family == "binomial" else 1.0),
                   n_treated, n_control, raw, raw_se)


def _group_var(design: Design, mask: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Within-group variance (standardised scale) of the rows in ``mask``, from cell stats."""
    G = len(design.groups)
    g, n, yb = design.g[mask], design.n[mask], design.y[mask]
    tot = np.bincount(g, weights=design.ss[mask] + n * (yb - means[g]) ** 2, minlength=G)
    cnt = np.bincount(g, weights=n, minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tot / np.maximum(cnt - 1, 1)


# --------------------------------------------------------------------------------------
# Diagnostics and figures
# --------------------------------------------------------------------------------------
def model_convergence(idata) -> dict[str, Any]:
    """The worst R-hat and bulk ESS over the model's quantities (not the sampler's raw z and
    log-sd coordinates), divergences and leapfrog steps: the same for every estimate of one
    posterior, so computed once (``convergence(..., model=)``)."""
    import arviz as az

    params = [v for v in idata.posterior.data_vars
              if not v.endswith(("_z", "_log__"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_all = az.rhat(idata.posterior[params])
        e_all = az.ess(idata.posterior[params], method="bulk")
    r_by = {v: float(np.nanmax(r_all[v].values)) for v in params if r_all[v].size}
    e_by = {v: float(np.nanmin(e_all[v].values)) for v in params if e_all[v].size}
    steps = float(idata.sample_stats["n_steps"].values.mean()) \
        if "n_steps" in idata.sample_stats else float("nan")
    return {"rhat_max_all": max(r_by.values()), "rhat_max_parameter": max(r_by, key=r_by.get),
            "ess_bulk_min_all": min(e_by.values()),
            "ess_bulk_min_parameter": min(e_by, key=e_by.get),
            "divergences": int(idata.sample_stats["diverging"].values.sum()),
            "mean_leapfrog_steps": steps, "chains": int(idata.posterior.sizes["chain"]),
            "draws": int(idata.posterior.sizes["draw"])}


def convergence(idata, national: np.ndarray, model: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """R-hat, bulk and tail ESS of the quantity ``national`` (chains x draws), beside the
    model's (``model_convergence``; pass it when several quantities share one posterior)."""
    import arviz as az

    rhat = float(az.rhat(national))
    ess_b = float(az.ess(national, method="bulk"))
    ess_t = float(az.ess(national, method="tail"))
    return {"rhat": rhat, "ess_bulk": ess_b, "ess_tail": ess_t,
            **(model if model is not None else model_convergence(idata))}


def convergence_warnings(c: dict[str, Any]) -> list[str]:
    out = []
    if not (c["rhat"] <= RHAT_MAX):
        out.append(f"the chains have not mixed: R-hat of the effect {c['rhat']:.3f} (above "
                   f"{RHAT_MAX}); raise tune/draws before trusting this estimate")
    elif not (c["rhat_max_all"] <= RHAT_MAX):
        out.append(f"a model parameter has not mixed ('{c['rhat_max_parameter']}': R-hat "
                   f"{c['rhat_max_all']:.3f}, above {RHAT_MAX}; the effect itself "
                   f"{c['rhat']:.3f}); raise tune/draws to be sure")
    if c["divergences"]:
        out.append(f"{c['divergences']} divergent transitions: the posterior may be biased; "
                   "raise target_accept (e.g. 0.95) or change the parameterisation")
    if not (c["ess_bulk"] >= ESS_MIN):
        out.append(f"the national effect's bulk ESS is {c['ess_bulk']:.0f} (below {ESS_MIN}); "
                   "raise draws for a stable interval")
    return out


def forest_figure(rows: list[dict[str, Any]], national: float, unit: str, group: str,
                  truth: float | None = None, title: str | None = None):
    """Raw beside pooled region effects, so the shrinkage is visible."""
    from matplotlib.figure import Figure

    rows = sorted(rows, key=lambda r: r["pooled"])
    k = len(rows)
    fig = Figure(figsize=(7.5, max(2.5, 0.28 * k + 1.2)))
    ax = fig.add_subplot(1, 1, 1)
    yy = np.arange(k)
    # one collection per kind of mark (not one line per group: drawing costs per artist)
    raw = [(i, r) for i, r in enumerate(rows) if r["raw"] is not None]
    if raw:
        ry = np.array([i for i, _ in raw]) + 0.18
        ax.hlines(ry, [r["raw_low"] for _, r in raw], [r["raw_high"] for _, r in raw],
                  color="0.65", lw=1)
        ax.plot([r["raw"] for _, r in raw], ry, "o", mfc="white", mec="0.4", ms=4, ls="none")
    ax.hlines(yy - 0.12, [r["pooled_low"] for r in rows], [r["pooled_high"] for r in rows],
              color="C0", lw=1.6)
    ax.plot([r["pooled"] for r in rows], yy - 0.12, "o", color="C0", ms=4.5, ls="none")
    ax.axvline(national, color="C0", ls="--", lw=1, label=f"national {national:.1f}")
    ax.axvline(0, color="0.3", lw=0.6)
    if truth is not None:
        ax.axvline(truth, color="C3", ls=":", lw=1.2, label=f"truth (twin) {truth:.1f}")
    ax.set_yticks(yy)
    ax.set_yticklabels([f"{r['group']} (n={r['n']})" for r in rows], fontsize=7)
    ax.set_xlabel(f"effect ({unit}); open: raw difference, filled: partially pooled (95%)")
    ax.set_title(title or f"Effects by {group}: raw beside pooled", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def posterior_figure(draws: np.ndarray, lo: float, hi: float, unit: str, what: str,
                     truth: float | None = None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(draws.ravel(), bins=40, color="C0", alpha=0.75, density=True)
    for v in (lo, hi):
        ax.axvline(v, color="C0", ls="--", lw=1)
    ax.axvline(float(np.mean(draws)), color="C0", lw=1.5, label=f"mean {np.mean(draws):.2f}")
    if truth is not None:
        ax.axvline(truth, color="C3", ls=":", lw=1.5, label=f"truth (twin) {truth:.2f}")
    ax.axvline(0, color="0.3", lw=0.6)
    ax.set_xlabel(f"{what} ({unit}); dashed: 95% credible interval")
    ax.set_yticks([])
    ax.legend(fontsize=7)
    ax.set_title(f"Posterior of the {what}", fontsize=10)
    fig.tight_layout()
    return fig


def dose_figure(rows: list[dict[str, Any]], predictor: str, unit: str, group: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.vlines([r[predictor] for r in rows], [r["pooled_low"] for r in rows],
              [r["pooled_high"] for r in rows], color="C0", lw=0.8, alpha=0.6)
    ax.plot([r[predictor] for r in rows], [r["pooled"] for r in rows], "o", color="C0", ms=4,
            label="pooled contrast (95%)")
    raw = [r for r in rows if r["raw"] is not None]
    ax.plot([r[predictor] for r in raw], [r["raw"] for r in raw], "o", mfc="white", mec="0.4",
            ms=3.5, label="raw contrast")
    ax.set_xlabel(predictor)
    ax.set_ylabel(f"treated minus untreated ({unit})")
    ax.set_title(f"Contrast by {group} against {predictor}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


