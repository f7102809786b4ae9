"""Shocks shared by a group in a period (individual, panel and threshold twins;
documented in :mod:`causal.twins.stress`)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from causal.twins.stress.base import Expect, Stress


class GroupPeriodShocks(Stress):
    """Every group in every period gets a common shock to its outcome of SD ``sd_pp`` points
    (probability scale): a sector's bad year, a region's plant closure. ``by: group`` shocks
    the sectors (the panel twin splits each adoption group into ``clusters`` sectors, column
    ``column``); ``by: region`` shocks the 35 arbeidsmarktregio's by year (individual twins:
    by inflow year; threshold twins: by calendar month of the spell (RDD) or by year (triple
    difference), on top of that twin's own ``region_year_sd_pp``). The effect is unchanged
    and identified.

    Honest: persons who share a shock are not independent, so errors clustered by person (or
    none) are too narrow; clustered at the level of the shock (``cluster: <column>``) the
    interval widens and covers, with enough clusters; with few (fewer than about 20-40) only
    a wild cluster bootstrap keeps its level (Cameron, Gelbach and Miller 2008)."""

    name: Literal["group_period_shocks"] = "group_period_shocks"
    by: Literal["group", "region"] | None = None
    sd_pp: Annotated[float, Field(ge=0)] = 2.0
    clusters: Annotated[int, Field(ge=1)] = 8
    column: str = "sector_detail"
    GENERATORS: ClassVar[tuple[str, ...]] = ("panel", "individual", "threshold")
    EXPECT: ClassVar[Expect] = "widen"
    WHAT: ClassVar[str] = "a common shock per group and period"
    HONEST: ClassVar[str] = ("identified; errors must be clustered at the shock's level "
                             "(wild bootstrap with few clusters)")

    def level(self, generator: str) -> str:
        """``group`` or ``region``: where the shocks fall (default: sectors in a panel,
        regions in a person-level twin)."""
        if self.by is not None:
            return self.by
        return "group" if generator == "panel" else "region"

    def check_level(self, generator: str) -> None:
        if generator != "panel" and self.level(generator) != "region":
            raise ValueError(f"group_period_shocks in a '{generator}' twin fall on regions "
                             "(by: region)")

    def cluster_column(self, generator: str) -> str:
        return self.column if self.level(generator) == "group" else "region"

    def split(self, gidx: np.ndarray, names: list[str], seed: int) -> np.ndarray:
        """Panel twin, ``by: group``: each unit's sector within its adoption group
        (``<group>_<k>``, ``clusters`` sectors per group, sizes drawn unequal)."""
        rng = self.rng(seed)
        out = np.empty(len(gidx), dtype=object)
        for j, nm in enumerate(names):
            m = np.flatnonzero(gidx == j)
            w = rng.dirichlet(np.full(self.clusters, 4.0))
            k = rng.choice(self.clusters, size=len(m), p=w)
            out[m] = [f"{nm}_{i + 1}" for i in k]
        return out

    def shocks(self, cells: np.ndarray, seed: int) -> np.ndarray:
        """One shock (probability scale) per distinct value of ``cells`` (group x period
        codes), broadcast to the rows; cells get their draw in sorted order."""
        uniq, inv = np.unique(cells, return_inverse=True)
        draw = self.rng(seed + 1).normal(0.0, self.sd_pp / 100.0, len(uniq))
        return draw[inv.reshape(np.shape(cells))]

    def remedy(self, estimator: str, generator: str) -> dict[str, Any] | None:
        return {"cluster": self.cluster_column(generator)}
