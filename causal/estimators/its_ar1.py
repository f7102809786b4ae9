"""Segmented regression with AR(1) errors, the autocorrelation integrated out (Zellner and
Tiao 1964).

Model: y = X beta + u, u_t = rho u_(t-1) + e_t, e_t ~ N(0, sigma^2), stationary, with flat
priors on beta and log sigma and a uniform prior on rho in (-1, 1). Given rho, the Prais-
Winsten transform (Prais and Winsten 1954) makes the errors independent, and the posterior of
any contrast c'beta is Student-t with T - k degrees of freedom around the GLS estimate, scaled
by its GLS standard error. The marginal posterior of rho is proportional to
(1 - rho^2)^(1/2) |X~'X~|^(-1/2) RSS(rho)^(-(T - k)/2) (X~ the transformed regressors); it is
evaluated on a grid of rho, and the contrast's posterior is the resulting mixture of t's: its
mean is the estimate, its equal-tailed quantiles the interval.

Why: feasible GLS (iterated Cochrane-Orcutt, statsmodels GLSAR) plugs in an estimate of rho
that is biased towards zero in short series (by about -(1 + 3 rho)/T and more with trend and
level-shift regressors) and treats it as known; the effect of a level shift in the last few
periods is very sensitive to rho, so its interval was too short: 90.5% coverage in 200
Actieplan twins (68 quarters, 13 after). Integrating over rho removes both faults (the
integrated likelihood of rho is the restricted likelihood, which corrects the regressors'
bias, Cheang and Reinsel 2000) and needs no tuning. Hand-written: no maintained library offers
the marginal posterior (pymc would sample the same model some thousand times slower); the
grid is one-dimensional and every point is a least-squares fit (numpy).
Assumed: the errors are AR(1) (check the residual autocorrelations) and stationary.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize, stats

GRID = np.linspace(-0.98, 0.98, 197)


def ar1_posterior(y: np.ndarray, X: np.ndarray, contrasts: np.ndarray) -> dict:
    """Posterior weights of rho on :data:`GRID`, and per contrast row of ``contrasts``
    (m x k) the conditional t locations and scales at every grid point (m x grid)."""
    T, k = X.shape
    C = np.atleast_2d(contrasts)
    lp = np.empty(len(GRID))
    loc = np.empty((len(C), len(GRID)))
    scale = np.empty((len(C), len(GRID)))
    beta = np.empty((len(GRID), k))
    for i, r in enumerate(GRID):
        a = np.sqrt(1.0 - r * r)
        yt = np.r_[a * y[0], y[1:] - r * y[:-1]]
        Xt = np.vstack([a * X[0], X[1:] - r * X[:-1]])
        XtX = Xt.T @ Xt
        b = np.linalg.solve(XtX, Xt.T @ yt)
        rss = float(((yt - Xt @ b) ** 2).sum())
        V = np.linalg.inv(XtX) * rss / (T - k)
        lp[i] = 0.5 * np.log(1.0 - r * r) - 0.5 * np.linalg.slogdet(XtX)[1] \
            - 0.5 * (T - k) * np.log(rss)
        loc[:, i] = C @ b
        scale[:, i] = np.sqrt(np.einsum("ij,jk,ik->i", C, V, C))
        beta[i] = b
    w = np.exp(lp - lp.max())
    w /= w.sum()
    return {"weights": w, "loc": loc, "scale": scale, "df": T - k, "beta": beta,
            "rho_mean": float(w @ GRID), "rho_sd": float(np.sqrt(w @ (GRID - w @ GRID) ** 2))}


def mixture_moments(post: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of each contrast's posterior (a weighted mixture of t's)."""
    w, m, s, df = post["weights"], post["loc"], post["scale"], post["df"]
    mean = m @ w
    var = (s**2 * df / (df - 2) + m**2) @ w - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


def mixture_interval(post: dict, row: int, level: float) -> tuple[float, float]:
    """Equal-tailed interval of contrast ``row``: the mixture CDF solved for its quantiles."""
    w, m, s, df = post["weights"], post["loc"][row], post["scale"][row], post["df"]
    lo_b, hi_b = float((m - 40 * s).min()), float((m + 40 * s).max())

    def q(p: float) -> float:
        return optimize.brentq(lambda x: float(w @ stats.t.cdf((x - m) / s, df)) - p,
                               lo_b, hi_b, xtol=1e-10)
    return q((1 - level) / 2), q((1 + level) / 2)
