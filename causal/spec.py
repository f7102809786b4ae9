"""Measure specs: one YAML file per measure, validated with pydantic v2.

A spec declares the measure's population, treatment, outcome, confounders (including the
context confounders ``months_to_aow`` and ``conjunctuur``), region column, causal graph,
estimators, the gross figures its report published, and the ``simulation`` block for its
synthetic twin. YAML is read with ``yaml.safe_load`` semantics only (no Python tags).
Unknown keys are errors, so a typo never passes silently; every error names the file, the
field path, the line where possible, and what was expected.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from causal.design import Term
from causal.errors import SpecError

CONTEXT_NAMES = ("months_to_aow", "reaches_aow_within_horizon", "conjunctuur")
Assignment = Literal["randomized", "observational", "threshold", "staggered", "policy_change",
                     "dose", "universal", "series", "groups"]


class Strict(BaseModel):
    """Base: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Source(Strict):
    report: str = Field(description="The evaluation report the measure comes from.")
    section: str | None = Field(None, description="Section, table or figure in the report.")
    seed_notes: str | None = Field(None, description="Where in ../shared/seed-notes the facts are.")


class Condition(Strict):
    """One population condition on a column: a range, or a set of allowed values."""

    column: str
    min: float | None = None
    max: float | None = None
    isin: list[Any] | None = Field(None, alias="in")


class Population(Strict):
    description: str = ""
    conditions: list[Condition] = Field(default_factory=list)


class Treatment(Strict):
    column: str
    received: str | None = Field(None, description="Column of actual receipt (non-compliance).")
    assignment: Assignment
    assigned_by: str | None = Field(
        None, description="Column of the group at which treatment is assigned (sector, "
        "region, project, training group); regression-type standard errors cluster there by "
        "default (causal.inference).")
    description: str = ""


class Outcome(Strict):
    column: str
    kind: Literal["binary", "continuous", "duration"]
    horizon_months: int | None = Field(None, ge=1, le=600)
    label: str = Field("had the outcome", description="Reads after 'Of the participants, 54% ...'.")
    unit: str | None = Field(None, description="Unit of a continuous outcome (binary: pp).")
    label_nl: str | None = Field(
        None, description="The outcome in Dutch, as a noun phrase: 'uitstroom naar werk binnen "
        "12 maanden' (reads in 'Bruto: ... bij 54% van de deelnemers').")


class EstimatorSpec(Strict):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class Reported(Strict):
    """A gross figure the report published, with its citation."""

    label: str
    value: float
    unit: Literal["percent", "count", "euro", "score", "pp", "other"] = "percent"
    n: int | None = Field(None, ge=0)
    citation: str
    comparable: bool = Field(
        False, description="True if it measures the same outcome as the spec's outcome column; "
        "allowed only with same_population, same_horizon and same_denominator all true.")
    same_population: bool = Field(
        False, description="The figure counts the spec's population (same ages, benefit, "
        "period), not e.g. all ages or a survey's respondents.")
    same_horizon: bool = Field(
        False, description="The figure is measured over the spec's outcome horizon.")
    same_denominator: bool = Field(
        False, description="The figure's denominator is the group the estimate's gross is "
        "about (all participants, all invited), not e.g. completers or respondents.")
    context_reason: str | None = Field(
        None, description="Why the figure is context rather than a comparable gross "
        "(printed beside it).")
    role: Literal["outcome", "output", "design", "attribution"] = Field(
        "outcome", description="outcome: a gross result (x% found work); output: reach or "
        "services delivered; design: an assumption such as an expected rate; attribution: "
        "self-reported contribution. Only outcomes are shown as the bruto figure.")

    @model_validator(mode="after")
    def _comparable_declared(self) -> "Reported":
        if self.comparable:
            missing = [f for f in ("same_population", "same_horizon", "same_denominator")
                       if not getattr(self, f)]
            if missing:
                raise ValueError("comparable: true only when the figure counts the same "
                                 "population, over the same horizon, with the same "
                                 f"denominator; declare {', '.join(f + ': true' for f in missing)}"
                                 " or set comparable: false with a context_reason")
            if self.role != "outcome":
                raise ValueError(f"comparable: true only for an outcome figure, not a {self.role}")
        return self

    def not_comparable_reason(self) -> str | None:
        """Why the figure is context only (None when it is comparable)."""
        return _not_comparable_reason(self.model_dump())


class ConjunctuurSpec(Strict):
    series: str = Field("default", description="'default' (bundled national series) or a CSV path.")
    indicator: str = "unemployment_rate"


class Context(Strict):
    """Where the context confounders come from."""

    birth_date: str = "birth_date"
    reference_date: str = "inflow_date"
    conjunctuur: ConjunctuurSpec = Field(default_factory=ConjunctuurSpec)


ColumnType = Literal["numeric", "categorical", "ordered", "binary", "date", "id"]


class ColumnDecl(Strict):
    """A column's type with its details."""

    type: ColumnType = Field(description="numeric, categorical, ordered, binary, date or id.")
    levels: list[Any] | None = Field(
        None, description="categorical/ordered: the levels, in order (first is the reference); "
        "values outside them are an error.")
    missing: list[Any] = Field(default_factory=list,
                               description="Codes that mean 'no value' in this column.")


class CsvDialect(Strict):
    """How a CSV file is written, when the detection should be overruled."""

    sep: Literal[",", ";", "\t", "|"] | None = Field(None, description="Column separator.")
    decimal: Literal[".", ","] | None = Field(None, description="Decimal mark of numbers.")
    encoding: str | None = Field(None, description="Text encoding, e.g. utf-8 or cp1252.")


class DataSpec(Strict):
    path: str | None = Field(None, description="The data file (CSV, xlsx, Parquet, SPSS .sav, "
                             "Stata .dta), relative to the spec file; --data overrides it.")
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="Spec column name -> column name in the file.")
    id_column: str | None = Field(None, description="The person id column; each id once.")
    types: dict[str, ColumnType | ColumnDecl] = Field(
        default_factory=dict, description="Column (spec name) -> numeric, categorical, "
        "ordered, binary, date or id (or {type, levels, missing}); undeclared columns are "
        "inferred and shown by causal check.")
    missing: list[Any] = Field(default_factory=list, description="Codes meaning 'no value' in "
                               "every numeric column, e.g. [99, 999] (SPSS user-missing codes "
                               "declared in the file are applied anyway).")
    missing_confounders: Literal["error", "drop"] = Field(
        "error", description="Rows with a missing confounder value: an error (default) or "
        "dropped, with the (rounded) number dropped in the report.")
    csv: CsvDialect | None = Field(None, description="Overrule the CSV dialect detection.")

    def decl(self, column: str) -> ColumnDecl | None:
        """The declared type of a column (spec name), if any."""
        t = self.types.get(column)
        return ColumnDecl(type=t) if isinstance(t, str) else t


class SettlingPower(Strict):
    """The power calculation for the trial that would settle a question: two proportions
    (Fleiss, Levin and Paik 2003), the ITT diluted by ``compliance``, and persons per arm
    inflated by the design effect 1 + (m - 1) ICC when whole clusters of ``cluster_size``
    persons are randomised (Donner and Klar 2000)."""

    p0: float = Field(gt=0, lt=1, description="Base rate in the comparison arm (the report's).")
    p1: float = Field(gt=0, lt=1, description="Rate with the measure: base plus a plausible effect.")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    power: float = Field(0.8, gt=0.5, lt=1)
    sided: Literal[1, 2] = 2
    compliance: float = Field(1.0, gt=0, le=1, description="Share of the offered who take it up.")
    cluster_size: int = Field(1, ge=1, description="Persons per randomised cluster (1: persons).")
    icc: float = Field(0.0, ge=0, lt=1, description="Intra-cluster correlation of the outcome.")
    basis: str = Field(description="Where p0 comes from and why p1 is plausible (cite).")
    basis_nl: str | None = Field(None, description="The basis in Dutch (Dutch reports).")


class Settle(Strict):
    """What would identify a net effect the report's data cannot: the comparison, the data,
    and the size of the trial or quasi-experiment (seed notes, section 8)."""

    design: str = Field(description="The comparison that would identify the effect.")
    data: str = Field(description="The data it needs.")
    power: SettlingPower | None = None
    design_nl: str | None = Field(None, description="The design in Dutch (Dutch reports).")
    data_nl: str | None = Field(None, description="The data in Dutch (Dutch reports).")


class DeadweightCheck(Strict):
    """The deadweight check (causal.deadweight): the self-reported pivotal share (the spec's
    first ``reported`` figure with role ``attribution``) beside net / gross of each estimate,
    at these displacement shares (seed notes 000 EP12)."""

    displacement: list[float] = Field(
        default_factory=lambda: [0.0, 0.25, 0.5],
        description="Shares of the participants' gain taken from other jobseekers (0 to <1).")

    @field_validator("displacement")
    @classmethod
    def _shares(cls, v: list[float]) -> list[float]:
        if not v or any(not (0 <= x < 1) for x in v):
            raise ValueError("at least one share, each from 0 up to (not including) 1")
        return v


class Identification(Strict):
    status: Literal["identified", "not_identified"] = "identified"
    reason: str | None = None
    reason_nl: str | None = Field(None, description="The reason in Dutch (Dutch reports).")
    settle: Settle | None = Field(
        None, description="The design, data and trial size that would settle the question.")
    adjustment: list[Term] | None = Field(
        None, description="Override the adjustment set from the graph (needs adjustment_reason).")
    adjustment_reason: str | None = None



class Disclosure(Strict):
    """Output rules (causal/report/gate.py applies them; README "Output from a secure
    environment"). Defaults follow the output-checking rules of thumb CBS applies to
    microdata output (Brandt et al. 2010)."""

    min_cell: int = Field(10, ge=1, le=10_000, description="Persons behind every published number.")
    round_counts: int = Field(5, ge=1, le=1000, description="Counts are published rounded to this base.")
    percent_decimals: int = Field(1, ge=0, le=4, description="Decimals of published percentages and effects.")
    min_df: int = Field(10, ge=1, le=10_000, description="Residual degrees of freedom a model-based estimate needs.")
    dominance_share: float = Field(0.5, gt=0, le=1, description="Largest share one person may hold of a group total (continuous outcomes).")


class Simulation(BaseModel):
    """Twin parameters. Common fields here; generator-specific ones are checked by the
    generator's own parameter model (see :mod:`causal.twins`)."""

    model_config = ConfigDict(extra="allow")
    generator: str = "individual"
    n: int = Field(5000, ge=20, le=20_000_000)
    seed: int = Field(0, ge=0, le=2**32 - 1)


class SeriesSpec(Strict):
    """An aggregate series: a unit x period panel of rates or counts, one treated unit and a
    donor pool (``treatment.assignment: series``). The treatment column, when the data lack
    it, is derived: 1 for the treated unit's periods from the intervention on."""

    unit: str = Field(description="Column naming the unit (age group, municipality, sector).")
    period: str = Field(description="Column with the period's first day (a date).")
    treated: str = Field(description="The treated unit's value in the unit column.")
    intervention: str = Field(description="First treated period (a date such as 2016-10-01).")
    population: str = Field(description="Column with the persons each rate rests on (the "
                            "unit's population in that period): the output gate's count.")
    frequency: Literal["month", "quarter", "year"] = "quarter"
    kind: Literal["rate", "count"] = "rate"
    covariates: list[str] = Field(default_factory=list, description="Columns of the treated "
                                  "unit's series adjusted for in interrupted_time_series "
                                  "(cycle, AOW age).")
    donors: list[str] | None = Field(None, description="Units of the donor pool (default: all "
                                     "other units).")

    @field_validator("intervention")
    @classmethod
    def _a_date(cls, v: str) -> str:
        try:
            import pandas as pd

            ok = not pd.isna(pd.Timestamp(v))
        except (ValueError, TypeError):
            ok = False
        if not ok:
            raise ValueError("a date such as 2016-10-01")
        return v


class GroupsSpec(Strict):
    """Group-level evidence (``treatment.assignment: groups``): one row per group (project,
    region, sector plan) with either an estimate and its standard error, or the persons and
    successes per arm."""

    column: str = Field(description="Column naming the group.")
    estimate: str | None = Field(None, description="Column of the group's effect estimate "
                                 "(on the outcome's scale: percentage points for a rate).")
    se: str | None = Field(None, description="Column of its standard error.")
    n: str | None = Field(None, description="Column of the persons the estimate rests on.")
    n_treated: str | None = None
    successes_treated: str | None = None
    n_control: str | None = None
    successes_control: str | None = None

    @property
    def counts(self) -> bool:
        """True when the rows hold persons and successes per arm."""
        return self.n_treated is not None

    @model_validator(mode="after")
    def _one_shape(self) -> "GroupsSpec":
        arms = [self.n_treated, self.successes_treated, self.n_control, self.successes_control]
        if any(a is not None for a in arms):
            if not all(a is not None for a in arms):
                raise ValueError("counts need all four of n_treated, successes_treated, "
                                 "n_control, successes_control")
        elif self.estimate is None or self.se is None or self.n is None:
            raise ValueError("either estimate, se and n, or the four count columns "
                             "(n_treated, successes_treated, n_control, successes_control)")
        return self


class Costs(Strict):
    """What the measure cost, for the cost per net outcome (cost / (net x n))."""

    total: float | None = Field(None, gt=0, description="Total cost in euro.")
    per_participant: float | None = Field(None, gt=0, description="Cost per participant, euro.")
    participants: int | None = Field(
        None, ge=1, description="Participants the total covers (default: the treated in the "
        "data); a total for a whole programme needs it.")
    year: int = Field(ge=1950, le=2100, description="Price level (year) of the amounts.")
    citation: str
    discount_rate: float | None = Field(
        None, ge=0, lt=1, description="Yearly rate at which costs spread over years are "
        "discounted to the first year.")
    spread_years: int = Field(1, ge=1, le=50, description="Years the total is spent over "
                              "(equal parts; discounted when discount_rate is given).")
    desirable: Literal["increase", "decrease"] = Field(
        "increase", description="Whether the measure aims to raise the outcome (work) or "
        "lower it (unemployment, benefit receipt).")
    note: str = ""

    @model_validator(mode="after")
    def _one_amount(self) -> "Costs":
        if (self.total is None) == (self.per_participant is None):
            raise ValueError("one of total or per_participant")
        return self


class Spec(Strict):
    """A validated measure spec. Load with :func:`load_spec`."""

    measure: str
    title: str
    source: Source
    population: Population = Field(default_factory=Population)
    treatment: Treatment
    outcome: Outcome
    confounders: list[Term] = Field(
        default_factory=list, description="Columns or formula terms to adjust for: age, "
        "C(education), I(age**2), age:sex, bs(age, df=4); months_to_aow and conjunctuur are "
        "derived (see context).")
    region: str | None = None
    graph: str | None = None
    estimators: list[EstimatorSpec] = Field(min_length=1)
    reported: list[Reported] = Field(default_factory=list)
    simulation: Simulation | None = None
    data: DataSpec | None = None
    context: Context = Field(default_factory=Context)
    identification: Identification = Field(default_factory=Identification)
    deadweight_check: DeadweightCheck | None = Field(
        None, description="Displacement shares for the deadweight check; the check runs "
        "whenever the spec has a self-reported (attribution) percentage.")
    disclosure: Disclosure = Field(default_factory=Disclosure)
    series: SeriesSpec | None = None
    groups: GroupsSpec | None = None
    costs: Costs | None = None
    notes: str = ""
    preferred: str | None = Field(
        None, description="The estimate the portfolio shows for this measure: an estimator "
        "name, optionally with its label, e.g. 'rct_difference (ITT)'. Default: the first "
        "identified estimate that is not naive.")
    lang: Literal["en", "nl"] | None = Field(
        None, description="Language of the reports (overridden by --lang and NETTO_LANG).")

    _path: Path | None = PrivateAttr(None)

    @field_validator("measure")
    @classmethod
    def _measure_id(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", v):
            raise ValueError("a lower-case id of letters, digits and '_', starting with a letter")
        return v

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def graph_path(self) -> Path | None:
        """The graph file, resolved relative to the spec file's folder."""
        if self.graph is None:
            return None
        base = self._path.parent if self._path else Path.cwd()
        return (base / self.graph).resolve()

    @property
    def context_confounders(self) -> list[str]:
        """Context columns (months_to_aow, conjunctuur, ...) the confounder terms read."""
        from causal.design import terms_variables

        return [c for c in terms_variables(self.confounders) if c in CONTEXT_NAMES]

    @property
    def data_confounders(self) -> list[str]:
        """Data columns the confounder terms read (``C(education)`` reads ``education``)."""
        from causal.design import terms_variables

        return [c for c in terms_variables(self.confounders) if c not in CONTEXT_NAMES]

    @property
    def is_binary(self) -> bool:
        return self.outcome.kind == "binary"

    def estimator_options(self, name: str) -> dict[str, Any]:
        for e in self.estimators:
            if e.name == name:
                return e.options
        return {}

    def reported_gross(self) -> Reported | None:
        """The headline published gross figure: the one marked ``comparable`` (same outcome
        as the spec's), else the first published percentage (shown as not comparable); counts
        and amounts are never shown as a gross rate."""
        return headline_reported([r.model_dump() for r in self.reported], as_model=self)


def _not_comparable_reason(r: dict) -> str | None:
    """Why a published figure (a Reported dict) is context only; None when comparable."""
    if r.get("comparable"):
        return None
    if r.get("context_reason"):
        return r["context_reason"]
    if r.get("role", "outcome") != "outcome":
        return f"a {r.get('role')} figure, not a gross outcome"
    what = [w for w, f in (("population", "same_population"), ("horizon", "same_horizon"),
                           ("denominator", "same_denominator")) if not r.get(f)]
    return ("the spec does not declare the same " + ", ".join(what) + " as the outcome here"
            if what else "not declared comparable")


def not_comparable_reason(r: dict) -> str | None:
    """Public form of :func:`_not_comparable_reason` for report code."""
    return _not_comparable_reason(r)


def headline_reported(reported: list[dict], as_model: "Spec | None" = None):
    """Pick the headline gross figure from a list of reported dicts (see reported_gross)."""
    pick = next((i for i, r in enumerate(reported) if r.get("comparable")), None)
    if pick is None:
        pick = next((i for i, r in enumerate(reported) if r.get("unit") == "percent"
                     and r.get("role", "outcome") == "outcome"), None)
    if pick is None:
        return None
    return as_model.reported[pick] if as_model is not None else reported[pick]


# --------------------------------------------------------------------------------------
# Loading, with line numbers for errors
# --------------------------------------------------------------------------------------
class _NoDupSafeLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (a silent overwrite is a typo that passes)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:  # a list or mapping as a key: '[a]: 1', '- []:'
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a plain value, not a {type(key).__name__}",
                key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first on line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_NoDupSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


#: a spec expands to a few hundred values; more than this is an alias bomb ("billion laughs")
MAX_YAML_VALUES = 100_000


def _expanded_size(node: yaml.Node | None, memo: dict[int, int] | None = None) -> int:
    """Number of values the document holds once aliases are expanded, computed once per
    distinct node (so an alias bomb is measured without being expanded)."""
    memo = {} if memo is None else memo
    if node is None:
        return 0
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node that contains itself counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo) for v in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


def _line_index(node: yaml.Node | None, prefix: tuple = (), out: dict | None = None) -> dict:
    """Map every field path (tuple of keys/indices) to its 1-based line in the YAML file."""
    out = {} if out is None else out
    if node is None or len(out) > MAX_YAML_VALUES:
        return out
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[prefix + (key,)] = k.start_mark.line + 1
            _line_index(v, prefix + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_index(v, prefix + (i,), out)
    return out


def _path_str(loc: tuple) -> str:
    s = ""
    for part in loc:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s or "(top level)"


_PLAIN_TYPES = {
    "list_type": "a list ([a, b], or one '- item' per line)",
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "a block of 'key: value' lines",
}


def _expected(err: dict) -> str:
    """What was expected, in plain words (field names and values, never Python classes)."""
    t, msg = err["type"], err["msg"]
    if t == "missing":
        return "is required but missing"
    if t == "extra_forbidden":
        return "is not a known field (check the spelling; unknown keys are not allowed)"
    if t == "literal_error":
        return "expected " + msg.replace("Input should be ", "one of ")
    if t == "value_error":  # our own validators: the message says what was expected
        return "expected " + msg.removeprefix("Value error, ")
    if t == "model_type":  # "a valid dictionary or instance of Source"
        cls = globals().get((err.get("ctx") or {}).get("class_name", ""))
        fields = ", ".join(cls.model_fields) if cls is not None else ""
        return "expected a block of 'key: value' lines" + (f" (fields: {fields})" if fields
                                                            else "")
    if t in _PLAIN_TYPES:
        return "expected " + _PLAIN_TYPES[t]
    if msg.startswith("Input should be "):
        return "expected " + msg.removeprefix("Input should be ")
    return "expected " + msg[0].lower() + msg[1:] if msg else "invalid value"


def _did_you_mean(err: dict) -> str:
    """' (did you mean ...?)' for a near miss of an allowed value or a known field."""
    import difflib

    got = err.get("input")
    options: list[str] = []
    if err["type"] == "literal_error" and isinstance(got, str):
        options = re.findall(r"'([^']*)'", (err.get("ctx") or {}).get("expected", ""))
    if err["type"] == "extra_forbidden" and err["loc"]:
        got = str(err["loc"][-1])
        parent = _model_at(tuple(err["loc"][:-1]))
        options = list(parent.model_fields) if parent is not None else []
    near = difflib.get_close_matches(str(got), options, n=1, cutoff=0.7) if options else []
    return f" (did you mean '{near[0]}'?)" if near else ""


def _model_at(loc: tuple):
    """The model class a field path points into (for the names of its fields)."""
    import typing

    cls = Spec
    for part in loc:
        if isinstance(part, int):
            continue
        f = cls.model_fields.get(part) if cls is not None else None
        if f is None:
            return None
        ann = f.annotation
        cands = [ann, *typing.get_args(ann)]
        cands += [a for c in list(cands) for a in typing.get_args(c)]
        cls = next((c for c in cands if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return cls


def _clean_loc(loc: tuple) -> tuple:
    """A pydantic error location without the union-member tags it adds
    (``literal['numeric', ...]``, ``ColumnDecl``, ``function-after[...]``)."""
    models = {k for k, v in globals().items() if isinstance(v, type) and issubclass(v, BaseModel)}
    return tuple(p for p in loc if not (isinstance(p, str) and (
        p in models or "[" in p or p in ("str", "int", "float", "bool", "none"))))


def _spec_errors(e: ValidationError, path: Path, lines: dict) -> SpecError:
    """All of a spec's validation errors as one SpecError (one line each), deduplicated by
    field (a union field reports each alternative; the first one is shown)."""
    out: list[SpecError] = []
    seen: set[tuple] = set()
    for err in e.errors():
        loc = _clean_loc(tuple(err["loc"]))
        if loc in seen:
            continue
        seen.add(loc)
        line = lines.get(loc) or lines.get(loc[:-1])
        got = err.get("input")
        if err["type"] == "missing" or isinstance(got, dict):
            got = None
        out.append(SpecError(str(path), _path_str(loc), _expected(err) + _did_you_mean(err),
                             line=line, got=got))
    out.sort(key=lambda x: x.line or 0)
    return out[0] if len(out) == 1 else SpecErrors(out)


class SpecErrors(SpecError):
    """Several problems in one spec, all shown at once (the first one's fields are kept)."""

    def __init__(self, errors: list[SpecError]) -> None:
        first = errors[0]
        self.errors = errors
        self.file, self.field, self.expected = first.file, first.field, first.expected
        self.line, self.got = first.line, first.got
        lines = [str(x).removeprefix(first.file).lstrip(", ").removeprefix(": ")
                 for x in errors]
        Exception.__init__(self, f"{first.file}: {len(errors)} problems:\n"
                           + "\n".join(f"  - {x}" for x in lines))


def read_yaml(path: Path) -> tuple[Any, dict]:
    """Read YAML safely; return the data and a field-path -> line index."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "(file)", "the spec file does not exist") from None
    except IsADirectoryError:
        raise SpecError(str(path), "(file)", "expected a YAML file, got a folder") from None
    except UnicodeDecodeError as e:
        raise SpecError(str(path), "(file)", f"the file is not UTF-8 text ({e.reason})") from None
    try:
        node = yaml.compose(text, Loader=_NoDupSafeLoader)
        if _expanded_size(node) > MAX_YAML_VALUES:
            raise SpecError(str(path), "(yaml)", f"the document expands to more than "
                            f"{MAX_YAML_VALUES} values through its aliases (&anchor/*alias); "
                            "a spec needs a few hundred")
        data = yaml.load(text, Loader=_NoDupSafeLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(str(path), "(yaml)", f"not valid YAML: {problem}",
                        line=mark.line + 1 if mark else None) from None
    except (ValueError, RecursionError) as e:
        raise SpecError(str(path), "(yaml)", f"not valid YAML: {e}") from None
    return data, _line_index(node)


def load_spec(path: str | Path, *, check_files: bool = True) -> Spec:
    """Load and validate a measure spec.

    Raises :class:`SpecError` naming the file, field path, line and what was expected.
    With ``check_files`` the graph file must exist, estimator names and options must be known,
    and the simulation block must fit its generator.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(str(path), "(top level)",
                        "expected a mapping of fields (measure, title, treatment, ...)",
                        got=type(data).__name__)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as e:
        raise _spec_errors(e, path, lines) from None
    spec._path = path.resolve()
    if check_files:
        _check_semantics(spec, path, lines)
    return spec


def _check_semantics(spec: Spec, path: Path, lines: dict) -> None:
    """Checks that need the registries or the file system."""
    from causal.estimators import validate_options
    from causal.twins import validate_simulation

    if spec.graph is not None:
        gp = spec.graph_path
        if gp.suffix.lower() not in (".dot", ".gml", ".gv"):
            raise SpecError(str(path), "graph", "expected a .dot or .gml file",
                            line=lines.get(("graph",)), got=spec.graph)
        if not gp.is_file():
            raise SpecError(str(path), "graph",
                            f"the graph file does not exist (looked for {gp})",
                            line=lines.get(("graph",)), got=spec.graph)
        check_graph(spec)
    for i, est in enumerate(spec.estimators):
        validate_options(est, file=str(path), field=f"estimators[{i}]",
                         line=lines.get(("estimators", i)))
    if spec.simulation is not None:
        validate_simulation(spec.simulation, file=str(path), line=lines.get(("simulation",)))
    if spec.identification.adjustment is not None and not spec.identification.adjustment_reason:
        raise SpecError(str(path), "identification.adjustment_reason",
                        "an adjustment set that overrides the graph needs a reason",
                        line=lines.get(("identification",)))
    for design, block in (("series", spec.series), ("groups", spec.groups)):
        if (spec.treatment.assignment == design) != (block is not None):
            raise SpecError(str(path), design if block is None else "treatment.assignment",
                            f"a '{design}' block goes with treatment.assignment: {design}",
                            line=lines.get((design,)) or lines.get(("treatment",)))
    if spec.preferred is not None:
        name = spec.preferred.split("(")[0].strip()
        names = [e.name for e in spec.estimators]
        if name not in names or name == "naive":
            raise SpecError(str(path), "preferred", "expected one of the spec's estimators "
                            f"other than naive ({', '.join(n for n in names if n != 'naive')}), "
                            "optionally with its label: 'rct_difference (ITT)'",
                            line=lines.get(("preferred",)), got=spec.preferred)
    if spec.identification.status == "not_identified" and not spec.identification.reason:
        raise SpecError(str(path), "identification.reason",
                        "say why the design does not identify the effect",
                        line=lines.get(("identification",)))


def check_graph(spec: Spec, columns: set[str] | None = None) -> list[str]:
    """Parse the spec's graph and check it: a DAG (causal.identify.parse_graph) with nodes
    for the treatment and the outcome. Errors name the graph file. With ``columns`` (the
    data's), returns the nodes that are neither columns nor marked unobserved
    (``[observed="no"]``): identification treats them as unobserved, which the user should
    know (a random device such as a BSN digit is one; a forgotten column is another)."""
    from causal.identify import parse_graph, read_graph, unobserved_nodes

    gp = spec.graph_path
    text, fmt = read_graph(gp)
    g = parse_graph(text, fmt, str(gp))
    if g.number_of_nodes() == 0:
        raise SpecError(str(gp), "graph", "the graph has no nodes; draw the treatment, the "
                        "outcome and what causes both")
    names = [spec.treatment.column] + ([spec.treatment.received] if spec.treatment.received
                                       else [])
    if not any(n in g for n in names):
        raise SpecError(str(gp), "graph", f"the graph has no node for the treatment "
                        f"'{spec.treatment.column}' (spec field treatment.column); its nodes "
                        f"are: {', '.join(sorted(g.nodes))}")
    if spec.outcome.column not in g:
        raise SpecError(str(gp), "graph", f"the graph has no node for the outcome "
                        f"'{spec.outcome.column}' (spec field outcome.column); its nodes are: "
                        f"{', '.join(sorted(g.nodes))}")
    if columns is None:
        return []
    latent = unobserved_nodes(g)
    return sorted(n for n in g.nodes if n not in latent and n not in columns)


def find_specs(target: str | Path) -> list[Path]:
    """A spec file, or every ``*.yaml``/``*.yml`` in a folder (sorted); a folder without
    specs of its own but with a ``data_specs/`` subfolder (as ``causal examples`` lays out)
    stands for that subfolder."""
    p = Path(target)
    if p.is_dir():
        found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        if not found and (p / "data_specs").is_dir():  # a project folder (causal examples)
            return find_specs(p / "data_specs")
        if not found:
            raise SpecError(str(p), "(folder)", "expected at least one .yaml spec in this folder")
        return found
    if not p.exists():
        raise SpecError(str(p), "(file)", "the spec file or folder does not exist")
    return [p]
