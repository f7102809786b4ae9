"""The blocks of a measure spec (population, treatment, outcome, data, identification,
disclosure, series, groups, costs, ...) as strict pydantic v2 models; the spec itself is
:class:`causal.spec.Spec`, which composes them."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from causal.design import Term

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
    adjustment_reason_nl: str | None = Field(
        None, description="The adjustment reason in Dutch (Dutch reports).")



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
        from causal.spec_yaml import when

        try:
            when(v)
        except ValueError:
            raise ValueError("a date such as 2016-10-01") from None
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
