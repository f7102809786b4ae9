"""Who a participant is compared with, shared by matching, weighting and dml: the exact
strata of ``exact`` columns (``inflow_year`` derived from the inflow date), and the refusal
of a comparison group chosen by its outcome (case-control sampling: seed notes 002 fn 2),
which no adjustment repairs without the sampling fractions."""
from __future__ import annotations

import numpy as np
import pandas as pd

from causal.columns import as_dates
from causal.errors import EstimationError, NotIdentified


def strata_codes(study, columns: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer stratum per row from the exact-matching columns ('inflow_year' derived)."""
    df = study.data
    if not columns:
        return np.zeros(len(df), dtype=np.int64), []
    parts = []
    for c in columns:
        if c in df.columns:
            parts.append(df[c].astype(str).to_numpy())
        elif c == "inflow_year":
            ref = study.spec.context.reference_date
            if ref not in df.columns:
                raise EstimationError(f"option exact: 'inflow_year' needs the inflow date "
                                      f"column '{ref}' (spec field context.reference_date)")
            parts.append(as_dates(df[ref], study.source, ref).dt.year.astype(str).to_numpy())
        else:
            raise EstimationError(f"option exact: column '{c}' is not in the data (columns: "
                                  f"{', '.join(map(str, df.columns))})")
    key = pd.Series(parts[0]) if len(parts) == 1 else \
        pd.Series(["|".join(t) for t in zip(*parts, strict=True)])
    codes, _ = pd.factorize(key, sort=True)
    return codes.astype(np.int64), columns


def refuse_outcome_selected(study, flag: bool) -> None:
    """Refuse a comparison group chosen by its outcome (case-control sampling, 002 fn 2)."""
    if flag:
        raise NotIdentified(
            "the comparison group was selected on the outcome (for example the inspection's "
            "'control group' of clients who did NOT exit to work, seed notes 002): comparing "
            "participants with such a group measures the sampling, not the measure; without "
            "known sampling fractions no net effect can be estimated")
    if study.spec.is_binary:
        y, d = study.y(), study.d()
        yc, yt = y[d == 0], y[d == 1]
        # all non-participants share one outcome while participants vary, and that is very
        # unlikely by chance at the participants' rate of the other outcome (< 1 in 10,000)
        other = float(np.mean(yt != yc[0])) if len(yc) and len(yt) else 0.0
        if len(yc) and np.all(yc == yc[0]) and 0 < other and (1 - other) ** len(yc) < 1e-4:
            raise NotIdentified(
                f"every one of the {len(yc)} non-participants has the same outcome "
                f"({yc[0] / study.scale:.0f}): a comparison group that looks chosen by its "
                "outcome (case-control sampling); matching on it cannot give a net effect")
