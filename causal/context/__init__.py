"""Context confounders every spec can name: ``months_to_aow``, ``reaches_aow_within_horizon``
and ``conjunctuur``. :func:`add_context` derives them from a birth date and a reference
(inflow) date column, so estimators adjust for them like any other column."""
from __future__ import annotations

import pandas as pd

from causal.columns import as_dates, refuse_years  # the one date parser (re-exported)
from causal.errors import DataError


def add_context(df: pd.DataFrame, spec, source: str) -> pd.DataFrame:
    """Add the context columns the spec names as confounders (returns a new frame)."""
    from causal.context.aow import months_to_aow, reaches_aow_within
    from causal.context.conjunctuur import conjunctuur_at, load_series

    wanted = spec.context_confounders
    if not wanted:
        return df
    ctx = spec.context
    need = [ctx.reference_date]
    if {"months_to_aow", "reaches_aow_within_horizon"} & set(wanted):
        need.append(ctx.birth_date)
    for col in need:
        if col not in df.columns:
            raise DataError(source, f"is needed to derive {', '.join(wanted)} "
                            f"(spec field context) but is not in the data", column=col)
    out = df.copy(deep=False)  # new columns only: no copy of the data (a deep copy
    # consolidates every block, twice the frame at its peak)
    for col in need:
        refuse_years(out[col], source, col)
    ref = as_dates(out[ctx.reference_date], source, ctx.reference_date)
    if {"months_to_aow", "reaches_aow_within_horizon"} & set(wanted):
        birth = as_dates(out[ctx.birth_date], source, ctx.birth_date)
        mta = months_to_aow(birth, ref)
        if "months_to_aow" in wanted:
            out["months_to_aow"] = mta
        if "reaches_aow_within_horizon" in wanted:
            # AOW date before reference + horizon (calendar months), see aow.reaches_aow_within
            h = spec.outcome.horizon_months or 12
            out["reaches_aow_within_horizon"] = reaches_aow_within(birth, ref, h).astype(int)
    if "conjunctuur" in wanted:
        series = load_series(ctx.conjunctuur.series, indicator=ctx.conjunctuur.indicator,
                             base=spec.path.parent if spec.path else None)
        regions = out[spec.region] if spec.region and spec.region in out.columns else None
        out["conjunctuur"] = conjunctuur_at(ref, series, regions=regions, source=source)
    return out


#: accepted text date formats, tried in turn; the one that parses most values wins.
DATE_FORMATS = ("ISO8601", "%d-%m-%Y", "%d/%m/%Y")
