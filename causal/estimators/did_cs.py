"""Callaway and Sant'Anna (2021) group-time effects through the ``differences`` package, with
the inference netto computes itself from the package's influence functions.

``differences`` (a maintained Python port of the authors' R ``did``) estimates ATT(g, t) and
aggregates them (simple, by event time, dynamic overall); each aggregate carries its
influence function per unit, including the estimation term of the aggregation weights (the
cohort shares; Callaway and Sant'Anna 2021, section 4 and appendix). Those are what netto
uses: without clusters the package's own analytic standard error; clustered by a group
column, the cluster sums of the influence function (CR1-type variance, t(G - 1) interval;
with few clusters the wild cluster multiplier bootstrap on the sums:
:func:`causal.inference.influence_inference`). The package's own cluster option is not used:
its aggregations cluster by the entity only, which undercovered badly under group shocks.

Assumes what the design assumes (parallel trends, no anticipation beyond the option, units
nested in the clusters, treatment absorbing).
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from causal.errors import EstimationError
from causal.inference import FEW_CLUSTERS, Inference, influence_inference

if TYPE_CHECKING:
    from causal.estimators.did_panel import DiDOptions, Panel


@dataclass
class CSFit:
    """The aggregates of one Callaway-Sant'Anna fit and their influence functions."""

    simple: pd.Series                    # overall ATT (simple aggregation) row
    event: pd.DataFrame                  # ATT by event time (index: relative period)
    dynamic: pd.Series                   # average of the post-adoption event-time effects
    phi: dict = field(default_factory=dict)   # "simple", "dynamic", event time -> IF
    clusters: np.ndarray | None = None   # cluster code per IF row (None: by unit)
    cluster_name: str | None = None
    cohorts: dict = field(default_factory=dict)  # start period index -> ATT(g); IF under
                                                 # phi[("cohort", g)]


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.columns = [c[-1] for c in df.columns]
    return out


def _unit_clusters(P: "Panel") -> np.ndarray | None:
    """Cluster code per unit, units in sorted order (the package's entity order); None when
    the clusters are the units. A DataError-like EstimationError when a unit moves between
    clusters (the influence function is per unit: units must be nested in clusters)."""
    if P.cluster_name.endswith("(unit)"):
        return None
    frame = pd.DataFrame({"u": P.unit, "c": P.cluster})
    k = frame.groupby("u")["c"].nunique()
    if (k > 1).any():
        raise EstimationError(f"{int((k > 1).sum())} units change their cluster "
                              f"'{P.cluster_name}' over time; Callaway-Sant'Anna errors "
                              "cluster units, so each unit needs one cluster")
    codes = frame.groupby("u")["c"].first().to_numpy()
    return pd.factorize(codes, sort=True)[0].astype(np.int64)


def _csr_column(nrows: int, ary, fill_idx, sparse_func=None):
    """``differences``' ``get_sparse_array`` without its LIL matrix: the same n x 1 CSR
    column (values ``ary`` at the rows ``fill_idx``, zeros not stored).

    The package builds each ATT(g, t)'s influence function as ``lil_array((n, 1))`` and
    converts it to CSR; a LIL matrix holds one Python list per row, so every group-time cell
    costs O(units) Python objects. At 1M person-quarters (58,823 persons, 135 cells) that was
    75 of the run's 127 s (cProfile of ``causal run data_specs/ontwikkeladvies_staggered.yaml
    -e did`` on the 1M twin, 2026-11-26); building the CSR from its coordinates is linear in
    the cell's sample and allocates no Python objects."""
    from scipy.sparse import csr_array

    idx = np.asarray(fill_idx, dtype=np.int64).ravel()
    if idx.size > 1 and not np.all(idx[1:] > idx[:-1]):  # not the np.where rows it gives
        from differences.models.attgt.utility_ntl import get_sparse_array
        from scipy.sparse import lil_array

        return get_sparse_array(nrows, ary, fill_idx, lil_array)  # its own semantics
    vals = np.broadcast_to(np.asarray(ary, dtype=float), idx.shape)
    keep = vals != 0
    idx, vals = idx[keep], vals[keep]
    return csr_array((vals, (idx, np.zeros(idx.size, dtype=np.int64))), shape=(nrows, 1))


def _dense_stack(ntl: list, return_idx: bool = False):
    """``differences``' ``stack_influence_funcs`` for sparse columns, filled column by column
    into one dense units x cells matrix (the package's result) instead of through
    ``scipy.sparse.hstack`` and ``toarray``, whose intermediate COO/CSR copies (int64 indices
    per stored value) took the peak from 6.5 to 10 GiB at 10M person-quarters (588,235
    persons, 135 cells; RSS sampled through ``causal run``, 2026-11-26)."""
    from differences.models.attgt import utility_ntl
    from scipy.sparse import issparse

    cols = [r.influence_func for r in ntl if r.influence_func is not None]
    if not cols or not issparse(cols[0]):
        return utility_ntl.stack_influence_funcs(ntl, return_idx)
    out = np.zeros((cols[0].shape[0], len(cols)))
    for j, c in enumerate(cols):
        coo = c.tocoo()
        out[coo.row, j] = coo.data
    if return_idx:
        return out, np.array([i for i, r in enumerate(ntl) if r.influence_func is not None])
    return out


#: the package's functions netto replaces during a fit (module attribute -> netto's)
_SWAPS = {"get_sparse_array": _csr_column, "stack_influence_funcs": _dense_stack}


@contextlib.contextmanager
def _fast_influence_columns():
    """Swap :func:`_csr_column` and :func:`_dense_stack` in for the package's builders
    during a fit, where its fitting module still calls them by those names (else the
    package's own are used)."""
    try:
        from differences.models.attgt import attgt_cal
    except ImportError:  # pragma: no cover - the package moved its module
        yield
        return
    orig = {k: getattr(attgt_cal, k) for k in _SWAPS if hasattr(attgt_cal, k)}
    for k in orig:
        setattr(attgt_cal, k, _SWAPS[k])
    try:
        yield
    finally:
        for k, f in orig.items():
            setattr(attgt_cal, k, f)


def callaway_santanna(P: "Panel", o: "DiDOptions") -> CSFit:
    """ATT(g, t) fitted and aggregated (analytic; the intervals come from
    :func:`cs_inference`)."""
    from differences import ATTgt

    # Periods in which no unit is untreated give no comparison; drop them so that the
    # package never takes a unit that is treated by then as a control.
    keep = np.ones(P.t.size, dtype=bool)
    if o.control_group == "not_yet_treated":
        ok = np.zeros(P.t.max() + 1, dtype=bool)
        ok[np.unique(P.t[P.d == 0])] = True
        keep = ok[P.t]
    P = P.subset(keep)
    # sorted by unit: the package's influence functions are in sorted entity order
    frame = pd.DataFrame({
        "y": P.y, "cohort": np.where((P.g > 0) & (P.g <= P.t.max()), P.g, np.nan).astype(float),
    }, index=pd.MultiIndex.from_arrays([P.unit, P.t], names=["unit", "t"])).sort_index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        att = ATTgt(data=frame, cohort_column="cohort", anticipation=o.anticipation)
        with _fast_influence_columns():
            att.fit(formula="y", control_group=o.control_group, alpha=o.alpha,
                    progress_bar=False)
        with contextlib.redirect_stderr(io.StringIO()):
            simple = _flat(att.aggregate("simple")).iloc[0]
            event = _flat(att.aggregate("event"))
            dyn = _flat(att.aggregate("event", overall=True)).iloc[0]
            att.aggregate("cohort")  # ATT(g) per start cohort (their group aggregation)
    agg = att._result_dict["full_sample"]["aggregate_inst"]
    phi = {"simple": np.asarray(agg.simple[0].influence_func, dtype=float).ravel(),
           "dynamic": np.asarray(agg.event_overall[0].influence_func, dtype=float).ravel()}
    for nt in agg.event:
        phi[int(nt.relative_period)] = np.asarray(nt.influence_func, dtype=float).ravel()
    cohorts = {}
    for nt in agg.cohort or []:
        cohorts[int(nt[0])] = float(nt[1])
        phi[("cohort", int(nt[0]))] = np.asarray(nt.influence_func, dtype=float).ravel()
    n_units = frame.index.get_level_values(0).nunique()
    if phi["simple"].size != n_units:  # the package changed its convention: fail loudly
        raise EstimationError(f"differences returned {phi['simple'].size} influence-function "
                              f"values for {n_units} units")
    return CSFit(simple, event, dyn, phi, _unit_clusters(P), P.cluster_name, cohorts)


def draws(P: "Panel", o: "DiDOptions") -> int:
    """Wild cluster multiplier bootstrap draws: the ``bootstrap`` option, else
    ``wild_draws`` with fewer than 30 clusters (0: analytic)."""
    G = int(np.unique(P.cluster).size)
    return o.bootstrap or (o.wild_draws if G < FEW_CLUSTERS else 0)


def cs_inference(fit: CSFit, key, o: "DiDOptions", n_draws: int) -> Inference:
    """The interval of one aggregate (``"simple"``, ``"dynamic"``, an event time, a start
    cohort ``("cohort", g)``, or the difference of two cohorts ``("contrast", g, h)``:
    ATT(g) - ATT(h), whose influence function is the difference of theirs)."""
    if isinstance(key, tuple) and key[0] == "contrast":
        g, h = key[1], key[2]
        coef = fit.cohorts[g] - fit.cohorts[h]
        phi = fit.phi[("cohort", g)] - fit.phi[("cohort", h)]
    else:
        row = {"simple": fit.simple, "dynamic": fit.dynamic}.get(key)
        coef = (float(row["ATT"]) if row is not None else fit.cohorts[key[1]]
                if isinstance(key, tuple) else float(fit.event.loc[key, "ATT"]))
        phi = fit.phi[key]
    return influence_inference(coef, phi, fit.clusters, fit.cluster_name,
                               alpha=o.alpha, draws=n_draws if fit.clusters is not None
                               else 0, seed=o.seed)


def event_table(fit: CSFit, o: "DiDOptions") -> pd.DataFrame:
    """ATT by event time with netto's (clustered) standard errors, analytic."""
    ev = fit.event[["ATT", "std_error"]].copy()
    if fit.clusters is not None:
        ev["std_error"] = [cs_inference(fit, int(k), o, 0).se for k in ev.index]
    return ev
