"""Loading study data: CSV, Parquet, SPSS .sav and Stata .dta, mapped onto the spec's names.

Rules (DESIGN.md, house rules): a binary treatment or outcome must be 0/1 or boolean;
missing values in treatment or outcome are an error naming the column and the row count;
rows are never dropped silently (the population filter reports what it excluded).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from causal.errors import DataError
from causal.spec import Spec

def _plain(values) -> list:
    """Values as plain Python scalars, for messages (no 'np.int64(1)')."""
    return [v.item() if hasattr(v, "item") else v for v in values]


READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".sav": "spss",
           ".zsav": "spss", ".dta": "stata"}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a data file by its extension; a file that is not what it says is a clear error."""
    p = Path(path)
    if not p.exists():
        raise DataError(str(p), "the data file does not exist")
    if p.is_dir():
        raise DataError(str(p), "expected a data file, got a folder")
    kind = READERS.get(p.suffix.lower())
    if kind is None:
        raise DataError(str(p), f"unknown file type '{p.suffix}'; expected one of "
                        f"{', '.join(sorted(READERS))}")
    if p.stat().st_size == 0:
        raise DataError(str(p), "the file is empty")
    try:
        if kind == "csv":
            df = pd.read_csv(p)
        elif kind == "parquet":
            df = pd.read_parquet(p)
        elif kind == "spss":
            df = pd.read_spss(p, convert_categoricals=True)
        else:
            df = pd.read_stata(p)
    except pd.errors.EmptyDataError:
        raise DataError(str(p), "the file has no columns or rows") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as e:
        raise DataError(str(p), f"could not be read as {kind.upper()}: {str(e).splitlines()[0]}"
                        ) from None
    except Exception as e:  # pyarrow/pyreadstat raise their own types for a wrong format
        raise DataError(str(p), f"could not be read as a {kind} file (is it really one?): "
                        f"{type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    if len(df) == 0:
        raise DataError(str(p), "the file has a header but no rows")
    return df


def map_columns(df: pd.DataFrame, spec: Spec, source: str) -> pd.DataFrame:
    """Rename file columns to the spec's names (spec field data.columns)."""
    mapping = spec.data.columns if spec.data else {}
    missing = [f for f in mapping.values() if f not in df.columns]
    if missing:
        raise DataError(source, f"the spec's data.columns maps to column(s) {missing} that "
                        f"are not in the file (file has: {', '.join(map(str, df.columns[:30]))})")
    return df.rename(columns={v: k for k, v in mapping.items()})


def required_columns(spec: Spec) -> dict[str, str]:
    """Column -> the spec field that needs it."""
    need = {spec.treatment.column: "treatment.column", spec.outcome.column: "outcome.column"}
    if spec.treatment.received:
        need[spec.treatment.received] = "treatment.received"
    for c in spec.data_confounders:
        need.setdefault(c, "confounders")
    if spec.region:
        need.setdefault(spec.region, "region")
    for cond in spec.population.conditions:
        need.setdefault(cond.column, "population.conditions")
    return need


def check_columns(df: pd.DataFrame, spec: Spec, source: str) -> None:
    for col, fld in required_columns(spec).items():
        if col not in df.columns:
            raise DataError(source, f"is required by the spec field '{fld}' but is not in the "
                            f"data (columns: {', '.join(map(str, df.columns[:30]))}); map it in "
                            "the spec's data.columns if it has another name", column=col)


def as_binary(s: pd.Series, source: str, column: str, field: str) -> pd.Series:
    """0/1 or boolean -> int 0/1; anything else is an error that says what was found."""
    n_missing = int(s.isna().sum())
    if n_missing:
        raise DataError(source, f"{n_missing} of {len(s)} rows have no value ({field} must be "
                        "0/1 for every row; netto does not drop rows silently)", column=column)
    if pd.api.types.is_bool_dtype(s):
        return s.astype(int)
    if not pd.api.types.is_numeric_dtype(s):
        vals = ", ".join(map(repr, _plain(pd.unique(s)[:5])))
        raise DataError(source, f"{field} must be 0/1 or true/false, found values {vals}",
                        column=column)
    vals = set(np.unique(s.to_numpy()))
    if not vals <= {0, 1}:
        raise DataError(source, f"{field} must be 0/1 or true/false, found values "
                        f"{_plain(sorted(vals)[:6])}", column=column)
    return s.astype(int)


def validate(df: pd.DataFrame, spec: Spec, source: str) -> pd.DataFrame:
    """Check types and values the estimators rely on; return a cleaned copy."""
    out = df.copy()
    t = spec.treatment
    out[t.column] = as_binary(out[t.column], source, t.column, "treatment.column")
    if t.received:
        out[t.received] = as_binary(out[t.received], source, t.received, "treatment.received")
    oc = spec.outcome.column
    if spec.outcome.kind == "binary":
        out[oc] = as_binary(out[oc], source, oc, "outcome.column")
    else:
        if not pd.api.types.is_numeric_dtype(out[oc]):
            raise DataError(source, f"the outcome (kind {spec.outcome.kind}) must be numeric, "
                            f"found values {_plain(pd.unique(out[oc])[:5])}", column=oc)
        n_missing = int(out[oc].isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} rows have no outcome value", column=oc)
    for c in spec.data_confounders:
        n_missing = int(out[c].isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} of {len(out)} rows have no value for this "
                            "confounder; impute or filter them explicitly before the run",
                            column=c)
    if spec.data and spec.data.id_column:
        ids = out[spec.data.id_column]
        dup = int(ids.duplicated().sum())
        if dup:
            raise DataError(source, f"{dup} duplicated ids (first: {_plain([ids[ids.duplicated()].iloc[0]])[0]!r});"
                            " each person must appear once", column=spec.data.id_column)
    n_t = int(out[t.column].sum())
    if n_t == 0 or n_t == len(out):
        who = "no one" if n_t == 0 else "everyone"
        raise DataError(source, f"{who} is treated ({n_t} of {len(out)} rows); a net effect needs "
                        "both treated and untreated persons", column=t.column)
    return out


def apply_population(df: pd.DataFrame, spec: Spec, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Apply the spec's population conditions; say how many rows each one excluded."""
    notes = []
    for cond in spec.population.conditions:
        col = df[cond.column]
        keep = pd.Series(True, index=df.index)
        if cond.min is not None:
            keep &= col >= cond.min
        if cond.max is not None:
            keep &= col <= cond.max
        if cond.isin is not None:
            keep &= col.isin(cond.isin)
        dropped = int((~keep).sum())
        if dropped:
            notes.append(f"population condition on '{cond.column}' excluded {dropped} of "
                         f"{len(df)} rows")
        df = df[keep]
    if len(df) == 0:
        raise DataError(source, "no rows are left after the spec's population conditions")
    return df.reset_index(drop=True), notes


def load_data(path: str | Path, spec: Spec) -> tuple[pd.DataFrame, list[str]]:
    """Read, map, check and filter a data file for a spec. Returns data and notes."""
    source = str(path)
    df = map_columns(read_table(path), spec, source)
    check_columns(df, spec, source)
    df, notes = apply_population(df, spec, source)
    return validate(df, spec, source), notes
