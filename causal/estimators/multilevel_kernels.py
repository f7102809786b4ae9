"""The log density of bayesian_multilevel in numba: the cell likelihood as one fused pass
(``_cells``, also behind the PyTensor Op of the pymc reference model) and the whole model's
log density and gradient (``log_density``, ``expand``) that nutpie samples through
:mod:`causal.estimators.multilevel_cfuncs`.

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


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _cell(e, y, n, binomial):  # pragma: no cover - compiled
    """One cell's kernel term at linear predictor ``e`` and its derivative in ``e``:
    binomial (y successes of n) y e - n log(1 + exp e), computed stably; else the weighted
    squared error n (y - e)^2."""
    if binomial:
        z = math.exp(-abs(e))
        sp = (e if e > 0.0 else 0.0) + math.log1p(z)
        sig = 1.0 / (1.0 + z) if e >= 0.0 else z / (1.0 + z)
        return y * e - n * sp, y - n * sig
    v = y - e
    return n * v * v, -2.0 * n * v


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
        ll, r = _cell(e, y[c], n[c], binomial)
        total += ll
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


# --------------------------------------------------------------------------------------
# The whole log density as a C callback for nutpie (no Python, no GIL per gradient)
# --------------------------------------------------------------------------------------
#: header of the data buffer (floats): sizes, flags, prior scales, then the arrays
H_C, H_P, H_G, H_Q, H_BIN, H_NDIM, H_NEXP, H_SSUM, H_NSUM, H_U = range(10)
H_PRIORS = 10  # intercept, coef, effect, group_sd_intercept, group_sd_effect, dose, sigma
HEADER = H_PRIORS + 7


def layout(P: int, Q: int, normal: bool, G: int) -> list[tuple[str, int]]:
    """The unconstrained vector's blocks (name, size) in pymc's order of value variables
    (tests/test_multilevel.py checks it against the pymc model)."""
    out = [("intercept", 1), ("effect", 1), ("sd_intercept_log__", 1), ("sd_effect_log__", 1)]
    if Q:
        out.append(("dose", Q))
    out += [("intercept_z", G), ("effect_z", G)]
    if P:
        out.append(("beta", P))
    if normal:
        out.append(("sigma_log__", 1))
    return out


def expanded(P: int, Q: int, normal: bool, G: int) -> list[tuple[str, int]]:
    """The trace's variables (name, size), in pymc's order of unobserved value variables."""
    out = layout(P, Q, normal, G) + [("sd_intercept", 1), ("sd_effect", 1)]
    if normal:
        out.append(("sigma", 1))
    return out + [("group_intercept", G), ("group_effect", G)]


def buffer_size(head: np.ndarray) -> int:
    """Length of the data buffer whose header is ``head``."""
    C, P, G, Q, U = (int(head[k]) for k in (H_C, H_P, H_G, H_Q, H_U))
    return HEADER + 5 * C + U * P + G * (Q + 2)


def pack(family: str, g, d, X, n, y, ss, W, wi, we, priors) -> np.ndarray:
    """One contiguous float buffer holding the data and sizes the C callbacks read. The
    covariate rows are stored once per distinct covariate pattern, with each cell's
    pattern: cells are group x treatment x pattern, so there are far fewer patterns than
    cells (werkgeversdienstverlening_regions: 409 for 2,815 cells at 5,000 persons, 480 for
    11,963 at 100,000), and X beta and its gradient are computed per pattern."""
    C, P = X.shape
    G, Q = W.shape
    normal = family != "binomial"
    X = np.asarray(X, float)
    if P:
        XU, u = np.unique(X, axis=0, return_inverse=True)
    else:
        XU, u = np.zeros((min(C, 1), 0)), np.zeros(C, np.int64)
    ndim = sum(k for _, k in layout(P, Q, normal, G))
    nexp = sum(k for _, k in expanded(P, Q, normal, G))
    head = np.zeros(HEADER)
    head[[H_C, H_P, H_G, H_Q, H_BIN, H_NDIM, H_NEXP, H_U]] = (
        C, P, G, Q, float(not normal), ndim, nexp, len(XU))
    head[H_SSUM], head[H_NSUM] = float(np.sum(ss)), float(np.sum(n))
    head[H_PRIORS:] = priors
    buf = np.ascontiguousarray(np.concatenate([
        head, np.asarray(g, float), d, np.asarray(u, float).ravel(), n, y, XU.ravel(),
        np.asarray(W, float).ravel(), wi, we]), dtype=np.float64)
    assert len(buf) == buffer_size(head)
    return buf


@numba.njit(cache=True, nogil=True, fastmath=True)
def _unpack(buf):  # pragma: no cover - compiled
    C, P, G, Q = int(buf[H_C]), int(buf[H_P]), int(buf[H_G]), int(buf[H_Q])
    U = int(buf[H_U])
    o = HEADER
    g = buf[o:o + C]
    d = buf[o + C:o + 2 * C]
    u = buf[o + 2 * C:o + 3 * C]
    n = buf[o + 3 * C:o + 4 * C]
    y = buf[o + 4 * C:o + 5 * C]
    o += 5 * C
    XU = buf[o:o + U * P].reshape((U, P))
    o += U * P
    W = buf[o:o + G * Q].reshape((G, Q))
    o += G * Q
    wi = buf[o:o + G]
    o += G
    we = buf[o:o + G]
    return C, P, G, Q, g, d, u, XU, n, y, W, wi, we


@numba.njit(cache=True, nogil=True, fastmath=True)
def _cells_by_pattern(mu, tau, beta, g, d, u, XU, n, y, dmu, dtau, dbeta,
                      binomial):  # pragma: no cover - compiled
    """_cells with the covariate rows once per pattern (pack): X beta per pattern, the
    cells' residuals summed per pattern, then the coefficients' gradient per pattern."""
    U, P = XU.shape
    xb = np.zeros(U)
    for q in range(U):
        s = 0.0
        for p in range(P):
            s += XU[q, p] * beta[p]
        xb[q] = s
    R = np.zeros(U)
    total = 0.0
    for c in range(len(g)):
        k = int(g[c])
        q = int(u[c])
        e = mu[k] + d[c] * tau[k] + xb[q]
        ll, r = _cell(e, y[c], n[c], binomial)
        total += ll
        dmu[k] += r
        dtau[k] += r * d[c]
        R[q] += r
    for q in range(U):
        for p in range(P):
            dbeta[p] += R[q] * XU[q, p]
    return total


@numba.njit(cache=True, nogil=True, fastmath=True)
def _params(x, buf, G, P, Q, W, wi, we):  # pragma: no cover - compiled
    """Constrained values: mu, tau, beta, alpha, theta, log sds, z's, mean_tau, gamma."""
    alpha, theta, ua, ub = x[0], x[1], x[2], x[3]
    o = 4
    gamma = x[o:o + Q]
    o += Q
    zm = x[o:o + G]
    o += G
    zt = x[o:o + G]
    o += G
    beta = x[o:o + P]
    m = np.empty(G)
    mu = np.empty(G)
    tau = np.empty(G)
    for k in range(G):
        mk = theta
        for q in range(Q):
            mk += W[k, q] * gamma[q]
        m[k] = mk
        mu[k] = alpha + math.exp((1.0 - wi[k]) * ua) * (zm[k] - wi[k] * alpha)
        tau[k] = mk + math.exp((1.0 - we[k]) * ub) * (zt[k] - we[k] * mk)
    return mu, tau, beta, gamma, zm, zt, m


@numba.njit(cache=True, nogil=True, fastmath=True)
def log_density(x, buf, grad):  # pragma: no cover - compiled
    """The model's log density (without constants) at the unconstrained x, its gradient
    written to grad: the pymc model of causal.estimators.multilevel_model.build_model
    (normal and half-normal priors, log-transformed sds with their Jacobian, the partially
    non-centred group parameters, the cell likelihood of _cells)."""
    C, P, G, Q, gf, d, u, XU, n, y, W, wi, we = _unpack(buf)
    s_a0, s_b, s_t0 = buf[H_PRIORS], buf[H_PRIORS + 1], buf[H_PRIORS + 2]
    s_sa, s_sb, s_g, s_sig = (buf[H_PRIORS + 3], buf[H_PRIORS + 4], buf[H_PRIORS + 5],
                              buf[H_PRIORS + 6])
    binomial = buf[H_BIN] > 0.5
    alpha, theta, ua, ub = x[0], x[1], x[2], x[3]
    mu, tau, beta, gamma, zm, zt, m = _params(x, buf, G, P, Q, W, wi, we)
    dmu = np.zeros(G)
    dtau = np.zeros(G)
    dbeta = np.zeros(P)
    lik = _cells_by_pattern(mu, tau, beta, gf, d, u, XU, n, y, dmu, dtau, dbeta, binomial)
    for i in range(grad.shape[0]):
        grad[i] = 0.0
    o_g, o_zm = 4, 4 + Q
    o_zt, o_b = o_zm + G, o_zm + 2 * G
    if binomial:
        lp = lik
    else:  # loglik = -N log sigma - (sse + ss) / (2 sigma^2), sigma = exp(us)
        us = x[o_b + P]
        inv2 = math.exp(-2.0 * us)
        lp = -buf[H_NSUM] * us - 0.5 * (lik + buf[H_SSUM]) * inv2
        grad[o_b + P] = -buf[H_NSUM] + (lik + buf[H_SSUM]) * inv2
        for k in range(G):
            dmu[k] *= -0.5 * inv2
            dtau[k] *= -0.5 * inv2
        for p in range(P):
            dbeta[p] *= -0.5 * inv2
        e = math.exp(us) / s_sig   # sigma ~ HalfNormal, with the log Jacobian
        lp += -0.5 * e * e + us
        grad[o_b + P] += -e * e + 1.0
    # fixed effects and hyperpriors
    lp += -0.5 * (alpha / s_a0) ** 2 - 0.5 * (theta / s_t0) ** 2
    grad[0] = -alpha / s_a0 ** 2
    grad[1] = -theta / s_t0 ** 2
    ea, eb = math.exp(ua) / s_sa, math.exp(ub) / s_sb
    lp += -0.5 * ea * ea + ua - 0.5 * eb * eb + ub
    grad[2] = -ea * ea + 1.0
    grad[3] = -eb * eb + 1.0
    for q in range(Q):
        lp += -0.5 * (gamma[q] / s_g) ** 2
        grad[o_g + q] = -gamma[q] / s_g ** 2
    for p in range(P):
        lp += -0.5 * (beta[p] / s_b) ** 2
        grad[o_b + p] = dbeta[p] - beta[p] / s_b ** 2
    # group parameters: z ~ Normal(w m, sd^w), theta_g = m + sd^(1 - w) (z - w m)
    for k in range(G):
        A = math.exp((1.0 - wi[k]) * ua)
        S = math.exp(wi[k] * ua)
        r = (zm[k] - wi[k] * alpha) / S
        lp += -0.5 * r * r - wi[k] * ua
        grad[o_zm + k] = dmu[k] * A - r / S
        grad[0] += dmu[k] * (1.0 - A * wi[k]) + r * wi[k] / S
        grad[2] += dmu[k] * (1.0 - wi[k]) * A * (zm[k] - wi[k] * alpha) + wi[k] * (r * r - 1.0)
        B = math.exp((1.0 - we[k]) * ub)
        T = math.exp(we[k] * ub)
        r = (zt[k] - we[k] * m[k]) / T
        lp += -0.5 * r * r - we[k] * ub
        grad[o_zt + k] = dtau[k] * B - r / T
        dm = dtau[k] * (1.0 - B * we[k]) + r * we[k] / T
        grad[1] += dm
        for q in range(Q):
            grad[o_g + q] += dm * W[k, q]
        grad[3] += dtau[k] * (1.0 - we[k]) * B * (zt[k] - we[k] * m[k]) + we[k] * (r * r - 1.0)
    return lp


@numba.njit(cache=True, nogil=True, fastmath=True)
def expand(x, buf, out):  # pragma: no cover - compiled
    """The trace's values (the order of ``expanded``) at the unconstrained x."""
    C, P, G, Q, gf, d, u, XU, n, y, W, wi, we = _unpack(buf)
    mu, tau, beta, gamma, zm, zt, m = _params(x, buf, G, P, Q, W, wi, we)
    ndim = int(buf[H_NDIM])
    for i in range(ndim):
        out[i] = x[i]
    o = ndim
    out[o] = math.exp(x[2])
    out[o + 1] = math.exp(x[3])
    o += 2
    if buf[H_BIN] < 0.5:
        out[o] = math.exp(x[ndim - 1])
        o += 1
    for k in range(G):
        out[o + k] = mu[k]
        out[o + G + k] = tau[k]
    return 0
