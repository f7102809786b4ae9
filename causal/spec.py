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

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from causal.design import Term
from causal.errors import SpecError
from causal.spec_blocks import (  # noqa: F401 - re-exported: the spec's blocks
    CONTEXT_NAMES,
    Assignment,
    ColumnDecl,
    Condition,
    ConjunctuurSpec,
    Context,
    Costs,
    CsvDialect,
    DataSpec,
    DeadweightCheck,
    Disclosure,
    EstimatorSpec,
    GroupsSpec,
    Identification,
    Outcome,
    Population,
    Reported,
    SeriesSpec,
    Settle,
    SettlingPower,
    Simulation,
    Source,
    Strict,
    Treatment,
    _not_comparable_reason,
)
from causal.spec_errors import SpecErrors, spec_errors  # noqa: F401 - re-exported
from causal.spec_yaml import read_yaml  # noqa: F401 - re-exported


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
        raise spec_errors(e, path, lines, Spec) from None
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
    from causal.identify import parse_graph_cached, read_graph, unobserved_nodes

    gp = spec.graph_path
    text, fmt = read_graph(gp)
    g = parse_graph_cached(text, fmt, str(gp))
    if g.number_of_nodes() == 0:
        raise SpecError(str(gp), "graph", "the graph has no nodes; draw the treatment, the "
                        "outcome and what causes both")
    names = [spec.treatment.column] + ([spec.treatment.received] if spec.treatment.received
                                       else [])
    where = str(spec.path or gp)  # the spec names the column the graph must hold
    if not any(n in g for n in names):
        raise SpecError(where, "treatment.column", f"the graph {gp} has no node for the "
                        f"treatment '{spec.treatment.column}'; its nodes are: "
                        f"{', '.join(sorted(g.nodes))}")
    if spec.outcome.column not in g:
        raise SpecError(where, "outcome.column", f"the graph {gp} has no node for the "
                        f"outcome '{spec.outcome.column}'; its nodes are: "
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
