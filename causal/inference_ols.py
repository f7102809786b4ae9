"""The sandwiches of the inference layer (:mod:`causal.inference` has the flavours, their
references and why they are written here): one OLS fit on a thin QR, and classical, HC0-HC3,
CR1 and CR2 variances with the Bell-McCaffrey degrees of freedom from it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from causal.errors import EstimationError

SE = Literal["classical", "HC0", "HC1", "HC2", "HC3", "CR1", "CR2"]
#: below this many clusters the headline interval is the wild cluster bootstrap
FEW_CLUSTERS = 30
#: below this many treated (or untreated) clusters no interval is given
MIN_TREATED_CLUSTERS = 5
#: below this many clusters the bootstrap uses Webb's six-point weights
WEBB_BELOW = 12


# --------------------------------------------------------------------------------------
# Sandwiches
# --------------------------------------------------------------------------------------
@dataclass
class OLSFit:
    """A thin-QR OLS fit: what every flavour needs."""

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    resid: np.ndarray
    bread: np.ndarray  # (X'X)^-1
    Q: np.ndarray
    #: parameters absorbed before the fit (fixed effects projected out): counted in the
    #: small-sample factors' n - k
    k_absorbed: int = 0

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def k(self) -> int:
        return self.X.shape[1] + self.k_absorbed

    @property
    def leverage(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.Q, self.Q)


def ols(y: np.ndarray, X: np.ndarray, k_absorbed: int = 0) -> OLSFit:
    """OLS by thin QR (X must have full column rank; the callers drop collinear columns)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    Q, R = np.linalg.qr(X)
    if X.shape[1] and np.abs(np.diag(R)).min() <= 1e-10 * np.abs(np.diag(R)).max():
        raise EstimationError("the regressors are collinear (a covariate is a combination of "
                              "others or of the treatment); drop one")
    beta = np.linalg.solve(R, Q.T @ y)
    Rinv = np.linalg.inv(R)
    return OLSFit(X, y, beta, y - X @ beta, Rinv @ Rinv.T, Q, k_absorbed)


def full_rank(X: np.ndarray, j: int) -> tuple[np.ndarray, int, int]:
    """X without the columns that are linear combinations of the columns before them (in
    the caller's order of priority: constant, treatment, covariates, interactions), the new
    index of column j and the number dropped (a Lin interaction with a category no
    participant has, say). An unpivoted QR: R_ii is about 0 exactly when column i lies in
    the span of the columns before it."""
    X = np.asarray(X, dtype=float)
    if X.shape[1] == 0:
        return X, j, 0
    scale = np.abs(X).max(axis=0)
    R = np.linalg.qr(X / np.where(scale > 0, scale, 1.0), mode="r")
    dg = np.abs(np.diag(R))
    keep = dg > 1e-9 * max(dg.max(), 1e-300)
    if not keep[j]:
        raise EstimationError("the treatment is a linear combination of the other regressors "
                              "(no variation left to estimate its effect)")
    if keep.all():
        return X, j, 0
    return X[:, keep], int(keep[:j].sum()), int((~keep).sum())


def vcov(fit: OLSFit, kind: SE, clusters: np.ndarray | None = None) -> np.ndarray:
    """The k x k covariance of the coefficients for flavour ``kind``."""
    X, e, A, n, k = fit.X, fit.resid, fit.bread, fit.n, fit.k
    if kind == "classical":
        return A * (e @ e) / (n - k)
    if kind in ("HC0", "HC1", "HC2", "HC3"):
        w = e ** 2
        if kind in ("HC2", "HC3"):
            h = np.clip(1.0 - fit.leverage, 1e-12, None)
            w = w / (h if kind == "HC2" else h ** 2)
        V = A @ ((X * w[:, None]).T @ X) @ A
        return V * n / (n - k) if kind == "HC1" else V
    if clusters is None:
        raise ValueError(f"{kind} needs clusters")
    G = int(clusters.max()) + 1
    if kind == "CR1":
        S = _cluster_sums(X * e[:, None], clusters, G)
        return A @ (S.T @ S) @ A * G / (G - 1) * (n - 1) / (n - k)
    if kind == "CR2":
        S = _cluster_sums(X * _cr2_resid(fit, clusters, G)[:, None], clusters, G)
        return A @ (S.T @ S) @ A
    raise ValueError(kind)


def _cluster_sums(M: np.ndarray, clusters: np.ndarray, G: int) -> np.ndarray:
    """Column sums of M within each cluster: G x k (a bincount per column: np.add.at is
    an order of magnitude slower on a million rows)."""
    return np.column_stack([np.bincount(clusters, weights=M[:, i], minlength=G)
                            for i in range(M.shape[1])]) if M.shape[1] else np.zeros((G, 0))


def _groups(clusters: np.ndarray, G: int) -> list[np.ndarray]:
    order = np.argsort(clusters, kind="stable")
    return np.split(order, np.cumsum(np.bincount(clusters, minlength=G))[:-1])


def _inv_sqrt_i_minus_h(Xg: np.ndarray, A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(I - H_gg)^-1/2 v with H_gg = X_g A X_g' (rank <= k): through the eigen-decomposition
    of the k x k matrix A^1/2 X_g'X_g A^1/2 (Bell and McCaffrey 2002)."""
    L = np.linalg.cholesky(A)
    B = L.T @ (Xg.T @ Xg) @ L
    lam, Qe = np.linalg.eigh(B)
    ok = lam > 1e-12
    lam, Qe = lam[ok], Qe[:, ok]
    W = Xg @ L @ Qe / np.sqrt(lam)          # orthonormal columns spanning H_gg
    f = 1.0 / np.sqrt(np.clip(1.0 - lam, 1e-12, None)) - 1.0
    return v + W @ (f * (W.T @ v))


def _cr2_resid(fit: OLSFit, clusters: np.ndarray, G: int) -> np.ndarray:
    out = np.empty_like(fit.resid)
    for idx in _groups(clusters, G):
        out[idx] = _inv_sqrt_i_minus_h(fit.X[idx], fit.bread, fit.resid[idx])
    return out


def bell_mccaffrey_dof(fit: OLSFit, clusters: np.ndarray, j: int) -> float:
    """Bell-McCaffrey degrees of freedom of coefficient j's CR2 t-statistic, under a
    homoskedastic working model (Bell and McCaffrey 2002; Imbens and Kolesar 2016):
    (sum lambda)^2 / sum lambda^2 over the eigenvalues of G'G, with column g of G equal to
    (I - H)_{., g} (I - H_gg)^-1/2 X_g A e_j. G'G = diag(u_g'u_g) - S'AS with
    u_g = (I - H_gg)^-1/2 X_g A e_j and S = [X_g'u_g]: G x G, no n x n matrix."""
    G = int(clusters.max()) + 1
    a = fit.bread[:, j]
    uu = np.empty(G)
    S = np.empty((fit.X.shape[1], G))  # fit.k also counts absorbed parameters
    for g, idx in enumerate(_groups(clusters, G)):
        Xg = fit.X[idx]
        u = _inv_sqrt_i_minus_h(Xg, fit.bread, Xg @ a)
        uu[g] = u @ u
        S[:, g] = Xg.T @ u
    M = np.diag(uu) - S.T @ fit.bread @ S
    lam = np.linalg.eigvalsh((M + M.T) / 2)
    return float(lam.sum() ** 2 / (lam ** 2).sum())


