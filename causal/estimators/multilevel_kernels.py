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
def binomial(mu, tau, beta, g, d, X, n, y, dmu, dtau, dbeta):  # pragma: no cover - jitted
    C, P = X.shape
    ll = 0.0
    for c in range(C):
        k = g[c]
        e = mu[k] + d[c] * tau[k]
        for p in range(P):
            e += X[c, p] * beta[p]
        z = math.exp(-abs(e))
        sp = (e if e > 0.0 else 0.0) + math.log1p(z)
        sig = 1.0 / (1.0 + z) if e >= 0.0 else z / (1.0 + z)
        ll += y[c] * e - n[c] * sp
        r = y[c] - n[c] * sig
        dmu[k] += r
        dtau[k] += r * d[c]
        for p in range(P):
            dbeta[p] += r * X[c, p]
    return ll


@numba.njit(cache=True, nogil=True, fastmath=True)
def squared_error(mu, tau, beta, g, d, X, n, y, dmu, dtau, dbeta):  # pragma: no cover
    C, P = X.shape
    s = 0.0
    for c in range(C):
        k = g[c]
        e = mu[k] + d[c] * tau[k]
        for p in range(P):
            e += X[c, p] * beta[p]
        u = y[c] - e
        s += n[c] * u * u
        r = -2.0 * n[c] * u
        dmu[k] += r
        dtau[k] += r * d[c]
        for p in range(P):
            dbeta[p] += r * X[c, p]
    return s


KERNELS = {"binomial": binomial, "squared_error": squared_error}


def evaluate(kind: str, mu: np.ndarray, tau: np.ndarray, beta: np.ndarray, g: np.ndarray,
             d: np.ndarray, X: np.ndarray, n: np.ndarray, y: np.ndarray):
    """Value and gradients (mu, tau, beta) of the kernel ``kind``."""
    dmu, dtau, dbeta = np.zeros_like(mu), np.zeros_like(tau), np.zeros_like(beta)
    v = KERNELS[kind](mu, tau, beta, g, d, X, n, y, dmu, dtau, dbeta)
    return v, dmu, dtau, dbeta
