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
    really = _sniff_kind(p)
    if really is not None and really != kind:
        raise DataError(str(p), f"the file is named {p.suffix} but its content is {_KIND_NAMES[really]}"
                        "; give it the right extension or export it again")
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
    except UnicodeDecodeError as e:
        raise DataError(str(p), f"could not be read as CSV: the file is not UTF-8 text (byte "
                        f"{e.object[e.start:e.start + 1]!r} at position {e.start}); it may be "
                        "Latin-1 or Windows-1252, as Excel and SPSS write it: save it as UTF-8 "
                        "CSV") from None
    except pd.errors.ParserError as e:
        raise DataError(str(p), f"could not be read as {kind.upper()}: {str(e).splitlines()[0]}"
                        ) from None
    except Exception as e:  # pyarrow/pyreadstat raise their own types for a wrong format
        raise DataError(str(p), f"could not be read as a {kind} file (is it really one?): "
                        f"{type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    if len(df) == 0:
        raise DataError(str(p), "the file has a header but no rows")
    if kind == "csv" and df.shape[1] == 1 and any(c in str(df.columns[0]) for c in ";\t|"):
        sep = next(c for c in ";\t|" if c in str(df.columns[0]))
        raise DataError(str(p), f"the file has a single column {str(df.columns[0])[:60]!r}...: it "
                        f"seems to use {sep!r} as separator (as Dutch Excel does); netto reads "
                        "comma-separated CSV: save it with commas (and decimal points) or as "
                        "Parquet")
    return df


#: magic bytes of the formats people rename by mistake (checked before reading)
_KIND_NAMES = {"parquet": "a Parquet file", "spss": "an SPSS .sav file", "stata": "a Stata file",
               "zip": "a zip archive (an Excel .xlsx workbook?)", "gzip": "gzip-compressed",
               "csv": "text (CSV?)"}


def _sniff_kind(p: Path) -> str | None:
    """What the first bytes say the file is; None when they say nothing definite."""
    with open(p, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"$FL2", b"$FL3")):
        return "spss"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"<stata_dta>"[:8]):
        return "stata"
    return None


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
        n_inf = int((~np.isfinite(out[oc].to_numpy(dtype=float))).sum())
        if n_inf:
            raise DataError(source, f"{n_inf} rows have an infinite outcome value", column=oc)
    for c in spec.data_confounders:
        n_missing = int(out[c].isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} of {len(out)} rows have no value for this "
                            "confounder; impute or filter them explicitly before the run",
                            column=c)
        col = out[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
                or isinstance(col.dtype, pd.CategoricalDtype)
                or pd.api.types.is_datetime64_any_dtype(col)):
            # text: a category (fine), unless it is mostly numbers with a few stray words,
            # which would silently turn a number into hundreds of categories
            num = pd.to_numeric(col, errors="coerce")
            bad = num.isna()
            if 0 < int(bad.sum()) and num.notna().mean() > 0.5:
                raise DataError(source, f"looks numeric, but {int(bad.sum())} of {len(out)} "
                                f"values are not numbers (first: {col[bad].iloc[0]!r}); fix "
                                "them, or the confounder would be read as text categories",
                                column=c)
    if spec.region and spec.region in out.columns:
        n_missing = int(out[spec.region].isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} of {len(out)} rows have no region (spec field "
                            "'region'); fill them in or filter those rows explicitly",
                            column=spec.region)
    if spec.data and spec.data.id_column:
        if spec.data.id_column not in out.columns:
            raise DataError(source, "is named by the spec field 'data.id_column' but is not in "
                            f"the data (columns: {', '.join(map(str, out.columns[:30]))})",
                            column=spec.data.id_column)
        ids = out[spec.data.id_column]
        n_missing = int(ids.isna().sum())
        if n_missing:
            raise DataError(source, f"{n_missing} rows have no id; each person needs one",
                            column=spec.data.id_column)
        dup = int(ids.duplicated().sum())
        if dup:
            raise DataError(source, f"{dup} duplicated ids (first: {_plain([ids[ids.duplicated()].iloc[0]])[0]!r});"
                            " each person must appear once", column=spec.data.id_column)
    n_t = int(out[t.column].sum())
    if n_t == 0 or n_t == len(out):
        who = "no one" if n_t == 0 else "everyone"
        raise DataError(source, f"{who} is treated ({n_t} of {len(out)} rows); a net effect needs "
                        "both treated and untreated persons", column=t.column)
    if min(n_t, len(out) - n_t) < 2:
        raise DataError(source, f"only {min(n_t, len(out) - n_t)} person is "
                        f"{'treated' if n_t < 2 else 'untreated'} ({n_t} of {len(out)} rows "
                        "treated); a net effect and its interval need at least two in each group",
                        column=t.column)
    return out


def apply_population(df: pd.DataFrame, spec: Spec, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Apply the spec's population conditions; say how many rows each one excluded."""
    notes = []
    for cond in spec.population.conditions:
        col = df[cond.column]
        if (cond.min is not None or cond.max is not None) and not (
                pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            num = pd.to_numeric(col, errors="coerce")
            bad = num.isna() & col.notna()
            if bad.any():
                raise DataError(source, f"the spec's population condition (min/max) needs numbers"
                                f", but {int(bad.sum())} rows are not numbers (first: "
                                f"{col[bad].iloc[0]!r})", column=cond.column)
            col = num
        keep = pd.Series(True, index=df.index)
        if cond.min is not None:
            keep &= col >= cond.min
        if cond.max is not None:
            keep &= col <= cond.max
        if cond.isin is not None:
            keep &= col.isin(cond.isin)
        dropped = int((~keep).sum())
        if dropped:  # counts as published: rounded, "fewer than 10" (disclosure control)
            from causal.report.gate import fmt_count

            notes.append(f"population condition on '{cond.column}' excluded "
                         f"{fmt_count(dropped, spec.disclosure)} of "
                         f"{fmt_count(len(df), spec.disclosure)} rows")
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
