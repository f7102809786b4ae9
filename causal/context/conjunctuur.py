"""The business cycle (conjunctuur) at each person's inflow date.

A *series* is a CSV with

- a period column (``period``; also ``periode``/``perioden``): years ``2018``, quarters
  ``2018Q2`` (also ``2018-Q2``, ``2018 Q2``) or months ``2018-06``; CBS StatLine codes
  ``2018JJ00``, ``2018KW02`` and ``2018MM06`` are read as well. Granularities may be mixed:
  a date uses the finest row that covers it (month, else quarter, else year);
- optionally a ``region`` column (``regio``): e.g. the 35 arbeidsmarktregio's. An empty
  region marks a national row;
- one or more indicator columns, e.g. ``unemployment_rate`` (% of the labour force) or
  ``vacancies_per_unemployed`` (tightness). An empty cell means "not covered";
- optional annotation columns (``method``, ``source``, ``note``, ``notes``, ``definition``,
  ``status``) and ``#`` comment lines (the source citation) at the top.

``;``-separated files with decimal commas (as Dutch spreadsheets write them) are read too.

The bundled default (``series: default``) is CBS's national unemployment rate 2003-2024,
annual, with quarters where CBS figures could be cited (causal/series/unemployment_nl.csv;
the file header gives sources and the 2021 definition break).

``conjunctuur`` as a confounder is the indicator at each person's inflow date, in their
region when the series has regions (every person's region must then be in it), otherwise
national. A date the series does not cover is a :class:`~causal.errors.DataError` naming
the first uncovered date, never a silent NaN.

Written by hand (pandas for the CSV): the look-up is a small dictionary probe per distinct
(region, month), then a gather, so it stays fast for millions of persons.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from causal.context.series_file import (  # noqa: F401 - re-exported: reading a series
    ANNOTATION_COLUMNS,
    DEFAULT_FILE,
    KNOWN_INDICATORS,
    PERIOD_COLUMNS,
    PERIOD_FORMATS,
    REGION_COLUMNS,
    _norm_region,
    load_table,
    parse_period,
    period_keys,
    read_series_table,
    resolve_path,
)
from causal.errors import DataError


def load_series(series: str | Path = "default", indicator: str = "unemployment_rate",
                base: Path | None = None) -> pd.Series:
    """One indicator of a series as a ``pd.Series`` indexed by (region, period).

    ``series`` is ``"default"`` (the bundled CBS national series) or a CSV path, relative
    to ``base`` (the spec's folder). National rows have region ``""``. ``attrs`` carries the
    file, its citation, and whether the series has regions.
    """
    table, meta = load_table(series, base)
    if indicator not in meta["indicators"]:
        raise DataError(meta["file"], f"has no indicator column '{indicator}' (spec field "
                        f"context.conjunctuur.indicator); it has: {', '.join(meta['indicators'])}",
                        column=indicator)
    t = table[table[indicator].notna()]
    if len(t) == 0:
        raise DataError(meta["file"], "the column has no values", column=indicator)
    out = pd.Series(t[indicator].to_numpy(float),
                    index=pd.MultiIndex.from_arrays([t["region"], t["period"]],
                                                    names=["region", "period"]),
                    name=indicator)
    out.attrs.update({"file": meta["file"], "series": meta["series"],
                      "citation": meta["citation"], "indicator": indicator,
                      "has_regions": bool((t["region"] != "").any()),
                      "has_national": bool((t["region"] == "").any())})
    return out


def series_from_frame(df: pd.DataFrame, indicator: str = "unemployment_rate",
                      name: str = "data frame") -> pd.Series:
    """A series from an in-memory long table (columns period, optional region, indicator),
    e.g. the output of :func:`simulate_regional_series`."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "series.csv"
        df.to_csv(p, index=False)
        table, meta = read_series_table(p)
    meta["file"] = name
    t = table[table[indicator].notna()]
    out = pd.Series(t[indicator].to_numpy(float),
                    index=pd.MultiIndex.from_arrays([t["region"], t["period"]],
                                                    names=["region", "period"]),
                    name=indicator)
    out.attrs.update({"file": name, "series": name, "citation": "", "indicator": indicator,
                      "has_regions": bool((t["region"] != "").any()),
                      "has_national": bool((t["region"] == "").any())})
    return out


def _coerce(series: pd.Series) -> pd.Series:
    """Accept the old shape too: a Series indexed by int years (national)."""
    if isinstance(series.index, pd.MultiIndex) and series.index.nlevels == 2:
        return series
    periods = [parse_period(k) for k in series.index]
    if any(p is None for p in periods):
        raise DataError("conjunctuur series", f"index values must be {PERIOD_FORMATS}")
    out = pd.Series(series.to_numpy(float), index=pd.MultiIndex.from_arrays(
        [[""] * len(series), [p[1] for p in periods]], names=["region", "period"]),
        name=series.name)
    out.attrs.update(series.attrs)
    out.attrs.setdefault("has_regions", False)
    out.attrs.setdefault("has_national", True)
    return out


def _describe(series: pd.Series) -> str:
    name = series.attrs.get("series") or series.attrs.get("file")
    if name == "default":
        return "'default' (bundled CBS national series)"
    return repr(str(name)) if name else "(unnamed)"


def coverage(series: pd.Series) -> str:
    """A short description of what a series covers: '2003-2024 (years), 2008Q1-2011Q2
    (quarters)'."""
    s = _coerce(series)
    per = pd.Series(s.index.get_level_values("period"))
    parts = []
    for kind, label in (("year", "years"), ("quarter", "quarters"), ("month", "months")):
        ks = sorted(p for p in per if parse_period(p)[0] == kind)
        if ks:
            parts.append(f"{ks[0]}-{ks[-1]} ({label})" if len(ks) > 1 else f"{ks[0]} ({label[:-1]})")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------
# The look-up
# --------------------------------------------------------------------------------------
def conjunctuur_at(dates: pd.Series, series: pd.Series, regions: pd.Series | None = None,
                   source: str = "data") -> pd.Series:
    """The indicator at each date (in each person's region when the series has regions).

    Raises DataError naming the first uncovered date (and region), an unknown region, or a
    regional series used without a region column.
    """
    s = _coerce(series)
    name = _describe(s)
    d = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]")
    index = dates.index if isinstance(dates, pd.Series) else pd.RangeIndex(len(d))
    nat = np.isnat(d)
    if nat.any():
        raise DataError(source, f"{int(nat.sum())} rows have no date to look up the "
                        "conjunctuur at; every row needs one")
    mi = d.astype("datetime64[M]").astype(np.int64)

    lookup: dict[tuple[str, str], float] = {
        (_norm_region(r), p): v for (r, p), v in zip(s.index, s.to_numpy(float), strict=True)}
    has_regions = any(k[0] for k in lookup)
    has_national = any(not k[0] for k in lookup)
    use_regions = has_regions and regions is not None
    if has_regions and regions is None and not has_national:
        raise DataError(source, f"the conjunctuur series {name} is regional (no national rows) "
                        "but the data has no region column (spec field region); name the "
                        "region column or add national rows (empty region) to the series")
    if use_regions:
        reg = pd.Series(regions).reset_index(drop=True)
        if reg.isna().any():
            raise DataError(source, f"{int(reg.isna().sum())} rows have no region; the "
                            f"conjunctuur series {name} is regional, so every row needs one")
        # each distinct region once (a registry extract: dozens of regions, millions of rows)
        codes0, uniq0 = pd.factorize(reg)
        unorm = pd.Series(np.asarray(uniq0, dtype=object)).astype(str).map(_norm_region)
        known = {k[0] for k in lookup if k[0]}
        unknown = sorted(set(unorm) - known)
        if unknown:
            shown = sorted({str(x) for x, n in zip(uniq0, unorm, strict=True) if n in unknown})
            raise DataError(source, f"{len(unknown)} region(s) are not in the conjunctuur series "
                            f"{name} (first: {', '.join(map(repr, shown[:5]))}); it has "
                            f"{len(known)} regions; expected the same region names",
                            column=getattr(regions, "name", None))
        ncodes, rlevels = pd.factorize(unorm)
        rcodes = ncodes[codes0]
    else:
        rcodes, rlevels = np.zeros(len(d), dtype=np.int64), np.array([""])

    lo = int(mi.min()) if len(mi) else 0
    span = int(mi.max()) - lo + 1 if len(mi) else 1
    key = rcodes.astype(np.int64) * span + (mi - lo)
    # np.unique(key, return_inverse=True) by a dense table over (region, month): no sort
    seen = np.bincount(key, minlength=len(rlevels) * span) > 0
    uniq = np.flatnonzero(seen)
    slot = np.full(len(seen), -1, dtype=np.int64)
    slot[uniq] = np.arange(len(uniq))
    inv = slot[key]
    vals = np.full(len(uniq), np.nan)
    for j, k in enumerate(uniq):
        r = str(rlevels[k // span])
        month = str(np.datetime64(int(k % span + lo), "M"))
        for per in period_keys(month):
            v = lookup.get((r, per))
            if v is not None and np.isfinite(v):
                vals[j] = v
                break
    out = vals[inv]
    miss = np.isnan(out)
    if miss.any():
        first = int(np.argmin(np.where(miss, d.astype(np.int64), np.iinfo(np.int64).max)))
        where = f" in region {str(pd.Series(regions).iloc[first])!r}" if use_regions else ""
        raise DataError(source, f"the conjunctuur series {name} does not cover "
                        f"{pd.Timestamp(d[first]).date()}{where} ({int(miss.sum())} rows "
                        f"uncovered); it covers {coverage(s)}. Extend the series or point "
                        "the spec (context.conjunctuur.series) or --conjunctuur to one that "
                        "covers the data")
    return pd.Series(out, index=index, name="conjunctuur")


def value_for_period(series: pd.Series, period: str, region: str = "") -> tuple[float, str] | None:
    """The value a date in ``period`` gets, and the row it comes from (finest first)."""
    s = _coerce(series)
    kind, canon = parse_period(period, allow_date=True) or (None, None)
    if kind is None:
        raise ValueError(f"expected {PERIOD_FORMATS} or a date, got {period!r}")
    lookup = {(_norm_region(r), p): v for (r, p), v in zip(s.index, s.to_numpy(float), strict=True)}
    keys = (period_keys(canon) if kind == "month"
            else [canon, canon[:4]] if kind == "quarter" else [canon])
    for k in keys:
        v = lookup.get((_norm_region(region), k))
        if v is not None and np.isfinite(v):
            return float(v), k
    return None


# --------------------------------------------------------------------------------------
# Simulated regional series for twins
# --------------------------------------------------------------------------------------
def simulate_regional_series(seed: int, *, start: int = 2003, end: int = 2024,
                             regions: list[str] | None = None, region_sd: float = 0.20,
                             ar: float = 0.8, noise_sd: float = 0.05,
                             national: pd.Series | None = None) -> pd.DataFrame:
    """Quarterly unemployment rates for the 35 arbeidsmarktregio's, for twins only.

    log u(region, quarter) = log u(national, quarter) + a(region) + e(region, quarter), with
    a ~ N(0, ``region_sd``) fixed per region and e an AR(1) with coefficient ``ar`` and
    innovation sd ``noise_sd``. ``region_sd`` 0.2 gives regional rates from about 0.7 to 1.4
    times the national one, as in the 2018 case regions (seed notes 000 §6: unemployed and
    potential labour force give about 2.9% in Noordoost-Brabant to 5.2% in Rijnmond, against
    3.8% nationally). Deterministic by seed. Returns a long table (period, region,
    unemployment_rate) in the user-series format; the national default stays the real one.
    """
    from causal.twins.population import REGIONS

    names = list(REGIONS) if regions is None else list(regions)
    nat = load_series() if national is None else _coerce(national)
    quarters = [f"{y}Q{q}" for y in range(start, end + 1) for q in range(1, 5)]
    base = []
    for qq in quarters:
        hit = value_for_period(nat, qq)
        if hit is None:
            raise DataError(_describe(nat), f"the national series does not cover {qq}")
        base.append(hit[0])
    base = np.log(np.asarray(base))
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, region_sd, len(names))
    e = np.zeros((len(names), len(quarters)))
    e[:, 0] = rng.normal(0.0, noise_sd / np.sqrt(1 - ar ** 2), len(names))
    for t in range(1, len(quarters)):
        e[:, t] = ar * e[:, t - 1] + rng.normal(0.0, noise_sd, len(names))
    u = np.exp(base[None, :] + a[:, None] + e)
    return pd.DataFrame({
        "period": np.tile(quarters, len(names)),
        "region": np.repeat(names, len(quarters)),
        "unemployment_rate": np.round(u.ravel(), 2),
    })
