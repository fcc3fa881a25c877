"""A thin adapter so Mesa's own ``mesa.batch_run`` can drive the same model.

``BatchIraqModel`` is ``IraqModel`` on the baseline scenario with a Mesa
``DataCollector`` that records the same daily columns our runner records (every
count and value column, each day), so the work compared is the same.
"""

from __future__ import annotations

import mesa

from sim.model.model import IraqModel
from sim.model.recorder import VALUE_COLUMNS
from sim.scenario.load import load

SPEC = load("baseline")


class BatchIraqModel(IraqModel):
    """IraqModel on the baseline scenario, recording each day through a DataCollector."""

    def __init__(self, days: int = 365, rng: int | None = None) -> None:
        super().__init__(SPEC, seed=rng or 0, days=days)
        names = [*self.recorder.names, *VALUE_COLUMNS, "open_confrontation"]
        self._attrs = [f"today_{n}" for n in names]
        # Reporters name model attributes (Mesa reads them with getattr): no lambdas.
        self.datacollector = mesa.DataCollector(
            model_reporters={n: a for n, a in zip(names, self._attrs, strict=True)})

    def step(self) -> None:
        super().step()
        row = [*self.recorder.rows[-1], *self.recorder.values[-1]]
        self.__dict__.update(zip(self._attrs, row, strict=True))
        self.datacollector.collect(self)
