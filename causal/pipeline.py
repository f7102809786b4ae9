"""From a spec to estimates: prepare a :class:`Study`, run its estimators.

``prepare(spec, data=None)`` loads the data file (or makes the twin), derives the context
confounders, resolves the adjustment set (the graph's backdoor set via dowhy when the spec
has a graph, else the listed confounders) and returns the Study. ``estimate(study)`` runs
every estimator in the spec and returns their Estimates; an estimator that cannot identify
the effect returns an Estimate without a number and with the reason.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from causal import estimators as registry
from causal.columns import check_used, type_columns
from causal.context import add_context
from causal.data import apply_population, check_columns, load_table, used_columns, validate
from causal.errors import DataError, EstimationError, NettoError, NotIdentified
from causal.result import Estimate
from causal.spec import Spec, load_spec
from causal.study import Study


def prepare(spec: Spec | str | Path, data: str | Path | pd.DataFrame | None = None, *,
            seed: int | None = None, n: int | None = None,
            conjunctuur: str | Path | None = None, stress: list | None = None) -> Study:
    """Build the Study for a spec on a data file, a DataFrame, or (default) its twin.

    ``conjunctuur`` points to a CSV series that replaces the spec's (``--conjunctuur FILE``);
    ``stress`` adds stress scenarios to the twin's (:mod:`causal.twins.stress`).
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if spec.series is not None or spec.groups is not None:  # aggregate data, not persons
        from causal.aggregate import prepare_aggregate

        return prepare_aggregate(spec, data, seed=seed, n=n, stress=stress)
    if conjunctuur is not None:
        spec = spec.model_copy(deep=True, update={"context": spec.context.model_copy(
            update={"conjunctuur": spec.context.conjunctuur.model_copy(
                update={"series": str(Path(conjunctuur).resolve())})})})
        spec._path = spec.path
    truth: dict[str, float] = {}
    notes: list[str] = []
    infos: list = []
    dialect = ""
    if data is None and spec.data is not None and spec.data.path and not stress:
        data = (spec.path.parent / spec.data.path) if spec.path else spec.data.path
    if stress and data is not None:
        raise NettoError("--stress changes the synthetic twin; it cannot apply to a data file")
    if data is None:
        from causal.twins import make_twin

        tw = make_twin(spec, seed=seed, n=n, stress=stress)
        df, truth = tw.data, tw.truth
        source = f"synthetic twin of {spec.measure} (seed {seed if seed is not None else spec.simulation.seed})"
        check_columns(df, spec, source)
        df, notes = apply_population(df, spec, source)
        df = validate(df, spec, source, notes)
    elif isinstance(data, pd.DataFrame):
        source = "data frame"
        check_columns(data, spec, source)
        data, infos = type_columns(data, spec, source)
        check_used(infos, used_columns(spec), source)
        df, notes = apply_population(data, spec, source)
        df = validate(df, spec, source, notes)
    else:
        source = str(data)
        df, notes, infos, dialect = load_table(data, spec)
    df = add_context(df, spec, source)
    not_identified = None
    try:
        covariates, adj_note = adjustment_set(spec, df)
    except NotIdentified as e:
        covariates, adj_note, not_identified = list(spec.confounders), "", str(e)
    st = Study(spec=spec, data=df, source=source, truth=truth, covariates=covariates,
               adjustment_note=adj_note, notes=notes, not_identified=not_identified)
    st.columns, st.dialect = infos, dialect
    check_size(st)
    return st


def check_size(st: Study) -> None:
    """Build the design matrix now (a bad formula term is found by ``causal check``, not
    halfway through a run) and refuse data with no more rows than adjustment columns plus
    treatment and intercept: every adjusted estimator would fail on a singular matrix.
    (Small but feasible data go on; a singular fit becomes an EstimationError.)"""
    if st.data.empty or st.treatment not in st.data.columns or not st.covariates:
        return
    if st.spec.identification.status == "not_identified":
        # only the naive comparison runs (pipeline.run_estimator refuses the rest with the
        # spec's reason), and it adjusts for nothing: a case-control sample of 38 (seed
        # notes 002) must still show why it identifies nothing, not fail on its size
        return
    p = st.design_matrix().shape[1]
    if len(st.data) <= p + 2:
        raise DataError(st.source, f"only {len(st.data)} rows: too few for the {p} adjustment "
                        f"column(s) of {', '.join(st.covariates)}; an adjusted estimate needs "
                        f"well over {p + 2} rows (and at least {st.spec.disclosure.min_cell} "
                        "persons per group for anything to be reported)")


def adjustment_set(spec: Spec, df: pd.DataFrame) -> tuple[list[str], str]:
    """The covariates (column names or formula terms) to adjust for and a sentence saying
    where they come from. The graph speaks of columns; formula terms (``C(education)``,
    ``age:sex``) are kept where every column they read is in the graph's set."""
    if spec.identification.adjustment is not None:
        return list(spec.identification.adjustment), (
            f"adjustment set set by the spec: {spec.identification.adjustment_reason}")
    if spec.graph is None:
        return list(spec.confounders), "no causal graph given; adjusted for the listed confounders"
    try:
        from causal.identify import backdoor_set
    except ImportError:  # identification module not installed yet
        return list(spec.confounders), "adjusted for the listed confounders"
    from causal.design import is_plain, term_variables, terms_variables

    if all(is_plain(t) for t in spec.confounders):
        return backdoor_set(spec, df)
    plain = spec.model_copy(update={"confounders": terms_variables(spec.confounders)})
    cols, note = backdoor_set(plain, df)
    chosen = set(cols)
    terms = [t for t in spec.confounders if set(term_variables(t)) <= chosen]
    covered = set(terms_variables(terms))
    terms += [c for c in cols if c not in covered]
    return terms, note + (f"; as the spec's terms: {', '.join(terms)}" if terms != cols else "")


def run_estimator(study: Study, name: str, options: dict | None = None, *,
                  refute: bool | None = None, sensitivity: bool = True) -> list[Estimate]:
    """Run one estimator; a design that does not identify the effect gives a reasoned
    Estimate without a number rather than an exception.

    Observational estimates get E-values and dowhy refutations (causal.sensitivity);
    ``refute=False`` (or the environment ``NETTO_REFUTE=0``) skips the slower refuters,
    ``sensitivity=False`` the whole sensitivity analysis (E-values, bounds, refuters: a
    validation study reads only the estimate and its interval, which they leave as they are).
    """
    gone = registry.missing_extra(name)
    if gone:
        raise NettoError(f"{study.spec.path or study.measure}: {gone}")
    info = registry.get(name)
    opts = info.options.model_validate(options if options is not None
                                       else study.spec.estimator_options(name))
    try:
        if study.spec.identification.status == "not_identified" and name != "naive":
            raise NotIdentified(study.spec.identification.reason or "not identified")
        if study.not_identified and name != "naive":
            raise NotIdentified(study.not_identified)
        from causal.assumptions import state_assumptions
        from causal.costs import annotate_costs
        from causal.sensitivity import annotate

        try:
            fitted = info.fit(study, opts)
        except (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError) as e:
            raise EstimationError(
                f"{name} could not estimate on these data ({type(e).__name__}: "
                f"{str(e)[:120]}): too few persons for the adjustment terms, or terms that "
                "do not vary or repeat each other; simplify the confounders or add data"
                ) from None
        ests = annotate(study, fitted, refute=refute) if sensitivity else fitted
        state_assumptions(study, ests)  # what each interval assumes, beside its headline
        return annotate_costs(study.spec, ests)
    except ModuleNotFoundError as e:  # an optional extra's package, imported inside fit
        extra = registry.extra_for_module(e.name or "")
        if extra is None:
            raise
        raise NettoError(f"{study.spec.path or study.measure}: the estimator '{name}' needs "
                         f"the optional extra '{extra}' ({e.name} not installed): "
                         f"pip install \"netto-effect[{extra}]\"") from None
    except NotIdentified as e:
        return [Estimate(measure=study.measure, estimator=name, estimand="-", net=None,
                         gross=study.gross(), reason=str(e), unit=study.unit,
                         outcome_label=study.spec.outcome.label,
                         outcome_label_nl=study.spec.outcome.label_nl or "",
                         n_treated=int(study.d().sum()),
                         n_control=int((study.d() == 0).sum()),
                         diagnostics={"_gate": study.gate_private()})]


def estimate(study: Study, progress: Callable[[str], None] | None = None) -> list[Estimate]:
    """Run every estimator of the spec on the study."""
    out: list[Estimate] = []
    for est in study.spec.estimators:
        if progress:
            progress(est.name)
        out.extend(run_estimator(study, est.name, est.options))
    return out


__all__ = ["prepare", "estimate", "run_estimator", "adjustment_set", "NettoError"]
