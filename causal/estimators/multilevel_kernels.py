"""The cell likelihood of bayesian_multilevel as one fused pass (numba), for a PyTensor Op.

Written by hand because nothing available does it fast enough here: PyTensor's C backend
evaluates the likelihood of the multilevel model in several passes over the cells and holds
the GIL, so two nutpie chains cannot run at once; PyTensor's numba backend (via
nutpie.compile_pymc_model) took 16-50 s to compile per process on this machine. These
kernels compute the log likelihood and its gradient with respect to the group intercepts,
group effects and coefficients in a single loop over the cells, release the GIL, and are
cached on disk by numba (compiled once per installation).

Linear predictor of cell c: eta_c = mu[g_c] + d_c tau[g_c] + X_c' beta.

- ``binomial``: sum_c y_c eta_c - n_c log(1 + exp(eta_c)) (the binomial kernel without its
  constant; Bernoulli on rows when n_c = 1), gradient r_c = y_c - n_c sigmoid(eta_c).
- ``squared_error``: sum_c n_c (y_c - eta_c)^2 (y_c the cell mean), gradient -2 n_c (y_c -
  eta_c); the normal likelihood adds the within-cell sums of squares and sigma (in PyTensor).
"""
from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, fastmath=True)
def _cells(mu, tau, beta, g, d, X, n, y, dmu, dtau, dbeta, binomial):  # pragma: no cover
    """One pass over the cells: the kernel's value, and its gradient added to dmu, dtau and
    dbeta. ``binomial``: the binomial kernel; else the weighted squared error."""
    C, P = X.shape
    total = 0.0
    for c in range(C):
        k = g[c]
        e = mu[k] + d[c] * tau[k]
        for p in range(P):
            e += X[c, p] * beta[p]
        if binomial:
            z = math.exp(-abs(e))
            sp = (e if e > 0.0 else 0.0) + math.log1p(z)
            sig = 1.0 / (1.0 + z) if e >= 0.0 else z / (1.0 + z)
            total += y[c] * e - n[c] * sp
            r = y[c] - n[c] * sig
        else:
            u = y[c] - e
            total += n[c] * u * u
            r = -2.0 * n[c] * u
        dmu[k] += r
        dtau[k] += r * d[c]
        for p in range(P):
            dbeta[p] += r * X[c, p]
    return total


KINDS = ("binomial", "squared_error")


def evaluate(kind: str, mu: np.ndarray, tau: np.ndarray, beta: np.ndarray, g: np.ndarray,
             d: np.ndarray, X: np.ndarray, n: np.ndarray, y: np.ndarray):
    """Value and gradients (mu, tau, beta) of the kernel ``kind`` (one of KINDS)."""
    if kind not in KINDS:
        raise KeyError(kind)
    dmu, dtau, dbeta = np.zeros_like(mu), np.zeros_like(tau), np.zeros_like(beta)
    v = _cells(mu, tau, beta, g, d, X, n, y, dmu, dtau, dbeta, kind == "binomial")
    return v, dmu, dtau, dbeta
