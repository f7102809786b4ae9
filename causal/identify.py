"""Identification from the measure's causal graph, with dowhy.

:func:`backdoor_set` reads the spec's graph (``models/<measure>.dot`` or ``.gml``), builds a
dowhy ``CausalModel`` and asks it to identify the effect of the treatment on the outcome
(Pearl 2009, back-door criterion; dowhy: Sharma and Kiciman 2020). The adjustment set it
returns is:

- the back-door set dowhy finds (its default: the smallest valid set), plus
- the observed parents of the outcome that are not caused by the treatment ("precision
  covariates": they shrink the variance of any adjusted estimator, Henckel, Perkovic and
  Maathuis 2022), kept only if the enlarged set still passes dowhy's d-separation check.

Only nodes that are observed (not marked ``observed="no"`` in the graph) AND are columns of
the data can be adjusted for. When no observed set blocks every back-door path, the effect
is not identified by adjustment and :class:`~causal.errors.NotIdentified` says which path
stays open and why (an unobserved node, a column missing from the data).

Randomised designs: assignment by a random device needs no adjustment; the graph is checked
(nothing but the device may point into the assignment, i.e. the empty set must be valid) and
the spec's listed confounders are returned for precision only (Lin 2013 adjustment).

Speed: dowhy's identification enumerates subsets of candidate variables and can be slow on
large graphs, so results are cached per (graph file content, treatment, outcome, observed
columns), and graphs with many candidate variables go straight to dowhy's polynomial-time
checks (van der Zander, Liskiewicz and Textor 2014 adjustment sets; d-separation) instead of
the subset search.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from causal.errors import NotIdentified, SpecError

if TYPE_CHECKING:
    import pandas as pd

    from causal.spec import Spec

#: Above this many candidate adjustment variables, skip dowhy's subset search (2^k checks).
MAX_SUBSET_SEARCH = 16
#: Longest back-door path (in edges) searched for when explaining non-identification.
MAX_PATH_EDGES = 12


@dataclass(frozen=True)
class Identification:
    """What the graph says about adjusting for the effect of ``treatment`` on ``outcome``."""

    treatment: str
    outcome: str
    identified: bool
    adjustment: tuple[str, ...] = ()
    backdoor: tuple[str, ...] = ()        # the set dowhy found
    precision: tuple[str, ...] = ()       # outcome parents added for precision
    reason: str = ""
    instruments: tuple[str, ...] = ()
    frontdoor: tuple[str, ...] = ()
    method: str = ""


# --------------------------------------------------------------------------------------
# Reading graphs
# --------------------------------------------------------------------------------------
def _unquote(x: object) -> str:
    s = str(x).strip()
    if len(s) >= 2 and s[0] == s[-1] == '"':
        s = s[1:-1]
    return s


def parse_graph(text: str, fmt: str, source: str = "graph") -> nx.DiGraph:
    """A DOT or GML graph as a networkx DiGraph with unquoted names and attributes."""
    try:
        if fmt == "gml":
            raw = nx.parse_gml(text, label="label")
        else:
            import pydot

            graphs = pydot.graph_from_dot_data(text)
            if not graphs:
                raise ValueError("no graph found")
            raw = nx.drawing.nx_pydot.from_pydot(graphs[0])
    except Exception as e:  # pydot/networkx raise many types for a malformed file
        raise SpecError(source, "graph", f"could not be read as a {fmt.upper()} graph: "
                        f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
                        ) from None
    g = nx.DiGraph()
    for n, attrs in raw.nodes(data=True):
        name = _unquote(n)
        if name in ("node", "edge", "graph", "\\n", ""):
            continue  # pydot's default-attribute pseudo nodes
        g.add_node(name, **{k: _unquote(v) for k, v in attrs.items()})
    for a, b in raw.edges():
        a, b = _unquote(a), _unquote(b)
        if a in ("node", "edge", "graph") or b in ("node", "edge", "graph"):
            continue
        g.add_edge(a, b)
    if not nx.is_directed_acyclic_graph(g):
        cycle = " -> ".join(a for a, _ in nx.find_cycle(g))
        raise SpecError(source, "graph", f"expected a directed acyclic graph; it has a cycle "
                        f"({cycle})")
    return g


def read_graph(path: str | Path) -> tuple[str, str]:
    """The graph file's text and format ('dot' or 'gml')."""
    p = Path(path)
    fmt = "gml" if p.suffix.lower() == ".gml" else "dot"
    try:
        return p.read_text(encoding="utf-8"), fmt
    except FileNotFoundError:
        raise SpecError(str(p), "graph", "the graph file does not exist") from None


def unobserved_nodes(g: nx.DiGraph) -> set[str]:
    """Nodes the graph marks ``observed="no"`` (or ``false``/``0``)."""
    return {n for n, a in g.nodes(data=True)
            if str(a.get("observed", "yes")).lower() in ("no", "false", "0")}


# --------------------------------------------------------------------------------------
# Identification
# --------------------------------------------------------------------------------------
def backdoor_set(spec: "Spec", df: pd.DataFrame) -> tuple[list[str], str]:
    """The covariates to adjust for, from the spec's graph, and a sentence saying so.

    Raises :class:`NotIdentified` (plain-words reason naming the open path) when no observed
    set of columns blocks every back-door path, and :class:`SpecError` when the graph lacks
    the treatment or outcome node or is not a DAG.
    """
    if spec.identification.status == "not_identified":
        return list(spec.confounders), ("the spec declares the effect not identified: "
                                        f"{spec.identification.reason}")
    path = spec.graph_path
    text, fmt = read_graph(path)
    g = parse_graph_cached(text, fmt, str(path))
    names = [spec.treatment.column] + ([spec.treatment.received] if spec.treatment.received
                                       else [])
    treat = next((c for c in names if c in g), None)
    if treat is None:
        raise SpecError(str(path), "graph", f"the graph has no node for the treatment "
                        f"'{spec.treatment.column}' (spec field treatment.column)"
                        + (f" or '{spec.treatment.received}' (treatment.received)"
                           if spec.treatment.received else "")
                        + f"; its nodes are: {', '.join(sorted(g.nodes))}")
    outcome = spec.outcome.column
    if outcome not in g:
        raise SpecError(str(path), "graph", f"the graph has no node for the outcome '{outcome}' "
                        f"(spec field outcome.column); its nodes are: {', '.join(sorted(g.nodes))}")
    latent = unobserved_nodes(g)
    columns = set(map(str, df.columns))
    observed = frozenset(n for n in g.nodes if n not in latent and n in columns)
    missing = sorted(n for n in g.nodes if n not in latent and n not in columns)
    key = hashlib.sha256(text.encode()).hexdigest()
    res = _identify(key, text, fmt, treat, outcome, observed, str(path))
    name = Path(path).name
    gone = f"; graph nodes not in the data (treated as unobserved): {', '.join(missing)}" \
        if missing else ""

    if spec.treatment.assignment == "randomized":
        if not res.identified or res.backdoor:
            why = res.reason or (f"the graph has paths into '{treat}' that need adjustment for "
                                 f"{', '.join(res.backdoor)}")
            if treat == spec.treatment.received and res.instruments:
                covs = [c for c in spec.confounders if c in columns]
                return covs, (f"graph {name}: receipt ('{treat}') is confounded ({why}); it is "
                              f"identified only through the instrument(s) "
                              f"{', '.join(res.instruments)} (complier effect). Listed "
                              f"confounders used for precision only{gone}")
            raise NotIdentified(f"the spec says assignment is randomised, but graph {name} "
                                f"does not agree: {why}")
        covs = [c for c in spec.confounders if c in columns and c not in latent]
        return covs, (f"randomised assignment: graph {name} confirms that '{treat}' needs no "
                      f"adjustment (nothing but the random device points into it); the listed "
                      f"confounders are used only for precision{gone}")

    if not res.identified:
        raise NotIdentified(f"graph {name}: {res.reason}")
    order = {c: i for i, c in enumerate(spec.confounders)}
    covs = sorted(res.adjustment, key=lambda c: (order.get(c, len(order)), c))
    not_in_graph = [c for c in spec.confounders if c not in g]
    parts = [f"back-door adjustment set from graph {name} (dowhy, {res.method}): "
             + (", ".join(sorted(res.backdoor, key=lambda c: (order.get(c, 99), c)))
                or "none needed")]
    if res.precision:
        parts.append("plus outcome predictors for precision: " + ", ".join(res.precision))
    if not_in_graph:
        parts.append("listed confounders not in the graph, so not adjusted for: "
                     + ", ".join(not_in_graph))
    return covs, "; ".join(parts) + gone


@functools.lru_cache(maxsize=64)
def parse_graph_cached(text: str, fmt: str, source: str) -> nx.DiGraph:
    """:func:`parse_graph`, once per graph text in a process (a batch loads each spec twice,
    its planning and its study; pydot's parser takes about 0.02 s a graph). The graph is
    shared: callers must not change it."""
    return parse_graph(text, fmt, source)


@functools.lru_cache(maxsize=128)
def _identify(key: str, text: str, fmt: str, treatment: str, outcome: str,
              observed: frozenset[str], source: str = "graph") -> Identification:
    """Cached by graph content (``key``), treatment, outcome and the observed columns; the
    graph is the one already parsed for ``source`` (the graph file)."""
    return identify(parse_graph_cached(text, fmt, source), treatment, outcome, observed)


def identify(g: nx.DiGraph, treatment: str, outcome: str,
             observed: frozenset[str] | set[str]) -> Identification:
    """Identify the effect of ``treatment`` on ``outcome`` in ``g`` given ``observed`` nodes."""
    from dowhy.graph import check_valid_backdoor_set, get_instruments

    observed = frozenset(observed) | {treatment, outcome}
    if not nx.has_path(g, treatment, outcome):
        return Identification(treatment, outcome, False, reason=(
            f"there is no directed path from '{treatment}' to '{outcome}' in the graph, so the "
            "graph says the measure has no effect at all; add the arrows through which it works"))
    desc = nx.descendants(g, treatment)
    eligible = sorted(n for n in observed if n not in desc and n not in (treatment, outcome))
    instruments = tuple(sorted(set(get_instruments(g, [treatment], [outcome])) & observed))

    backdoor: tuple[str, ...] | None = None
    method = ""
    if len(eligible) <= MAX_SUBSET_SEARCH:
        backdoor, frontdoor, method = _dowhy_identify(g, treatment, outcome, observed)
    else:
        frontdoor = ()
    if backdoor is None:
        backdoor, method = _polynomial_backdoor(g, treatment, outcome, observed, eligible)
    if backdoor is None:
        return Identification(treatment, outcome, False,
                              reason=_why_not(g, treatment, outcome, observed, eligible),
                              instruments=instruments, frontdoor=frontdoor)

    # precision: observed parents of the outcome (and of mediators) not caused by treatment
    on_path = {n for n in desc if nx.has_path(g, n, outcome)} | {outcome}
    parents = {p for n in on_path for p in g.predecessors(n)}
    extra = sorted((parents & observed) - desc - {treatment} - set(backdoor)
                   - set(instruments))
    full = tuple(sorted(set(backdoor) | set(extra)))
    if extra and not check_valid_backdoor_set(g, [treatment], [outcome], set(full))[
            "is_dseparated"]:
        extra, full = [], tuple(sorted(backdoor))
    return Identification(treatment, outcome, True, adjustment=full,
                          backdoor=tuple(sorted(backdoor)), precision=tuple(extra),
                          instruments=instruments, frontdoor=frontdoor, method=method)


def _dowhy_identify(g: nx.DiGraph, treatment: str, outcome: str, observed: frozenset[str]
                    ) -> tuple[tuple[str, ...] | None, tuple[str, ...], str]:
    """dowhy CausalModel.identify_effect with its default back-door search."""
    import pandas as pd
    from dowhy import CausalModel

    graph = nx.DiGraph()
    graph.add_nodes_from(g.nodes)
    graph.add_edges_from(g.edges)
    # an empty frame with the observed columns: dowhy reads observedness from the columns
    data = pd.DataFrame(columns=sorted(observed))
    loggers = [logging.getLogger(n) for n in ("dowhy", "dowhy.causal_model",
                                              "dowhy.causal_identifier", "dowhy.causal_graph")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = CausalModel(data=data, treatment=treatment, outcome=outcome, graph=graph,
                                identify_vars=False)
            est = model.identify_effect(proceed_when_unidentifiable=True)
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)
    frontdoor = tuple(sorted(est.get_frontdoor_variables() or ()))
    if est.estimands.get("backdoor") is None:
        return None, frontdoor, "identify_effect"
    bd = tuple(sorted(str(v) for v in est.get_backdoor_variables()))
    return bd, frontdoor, "CausalModel.identify_effect, minimal back-door set"


def _polynomial_backdoor(g: nx.DiGraph, treatment: str, outcome: str, observed: frozenset[str],
                         eligible: list[str]) -> tuple[tuple[str, ...] | None, str]:
    """Large graphs: test the natural candidate sets with dowhy's d-separation check."""
    from dowhy.causal_identifier.auto_identifier import identify_generalized_adjustment_set
    from dowhy.graph import check_valid_backdoor_set

    if check_valid_backdoor_set(g, [treatment], [outcome], set(eligible))["is_dseparated"]:
        return tuple(eligible), "all observed pre-treatment nodes (d-separation check)"
    sets = identify_generalized_adjustment_set(g, [treatment], [outcome], sorted(observed))
    for s in sets:
        cand = set(s.get_adjustment_variables())
        if cand <= set(eligible) and check_valid_backdoor_set(
                g, [treatment], [outcome], cand)["is_dseparated"]:
            return tuple(sorted(cand)), "minimal adjustment set (van der Zander et al. 2014)"
    return None, ""


def _why_not(g: nx.DiGraph, treatment: str, outcome: str, observed: frozenset[str],
             eligible: list[str]) -> str:
    """Plain words: a back-door path that stays open given every observed pre-treatment node."""
    path = open_backdoor_path(g, treatment, outcome, set(eligible))
    if path is None:
        return (f"no set of observed columns blocks every back-door path from '{treatment}' to "
                f"'{outcome}'")
    shown = _show_path(g, path)
    hidden = [n for n in path[1:-1] if n not in observed]
    colliders = [path[i] for i in range(1, len(path) - 1)
                 if g.has_edge(path[i - 1], path[i]) and g.has_edge(path[i + 1], path[i])]
    if hidden:
        latent = unobserved_nodes(g)
        marked, absent = 'marked observed="no" in the graph', "not a column in the data"
        what = ", ".join(f"'{n}' ({marked if n in latent else absent})" for n in hidden)
        return (f"the back-door path {shown} stays open because it runs through {what}; no "
                f"adjustment for measured covariates can block it, so the effect of "
                f"'{treatment}' on '{outcome}' is not identified by adjustment")
    if colliders:
        return (f"the back-door path {shown} is opened by adjusting for the collider(s) "
                f"{', '.join(colliders)} and cannot be blocked otherwise")
    return f"the back-door path {shown} cannot be blocked by observed columns"


def _show_path(g: nx.DiGraph, path: list[str]) -> str:
    out = path[0]
    for a, b in zip(path, path[1:], strict=False):
        out += (" -> " if g.has_edge(a, b) else " <- ") + b
    return out


def open_backdoor_path(g: nx.DiGraph, treatment: str, outcome: str,
                       z: set[str]) -> list[str] | None:
    """The shortest back-door path (first edge into ``treatment``) that is d-connected given
    ``z`` (Pearl 2009, def. 1.2.3), or None. Breadth-first over simple paths, bounded by
    :data:`MAX_PATH_EDGES`; used only to explain a refusal."""
    anc_z = set(z)
    for n in z:
        anc_z |= nx.ancestors(g, n)
    u = g.to_undirected(as_view=True)
    frontier = [[treatment, p] for p in g.predecessors(treatment)]
    for _ in range(MAX_PATH_EDGES):
        nxt = []
        for path in frontier:
            if not _open_so_far(g, path, z, anc_z, treatment):
                continue
            if path[-1] == outcome:
                return path
            for m in u.neighbors(path[-1]):
                if m not in path and m != treatment:
                    nxt.append(path + [m])
        frontier = nxt
        if not frontier:
            return None
    return None


def _open_so_far(g: nx.DiGraph, path: list[str], z: set[str], anc_z: set[str],
                 treatment: str) -> bool:
    """Is every interior node of ``path`` (except the last) open given ``z``?"""
    for i in range(1, len(path) - 1):
        a, m, b = path[i - 1], path[i], path[i + 1]
        collider = g.has_edge(a, m) and g.has_edge(b, m)
        if collider:
            if m not in anc_z:  # neither in z nor an ancestor of z
                return False
        elif m in z:
            return False
    return True


__all__ = ["backdoor_set", "identify", "parse_graph", "read_graph", "open_backdoor_path",
           "Identification", "unobserved_nodes"]
