"""Building blocks of the scenario schema: the frozen base model and bounded field types."""

from __future__ import annotations

import sys
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
EVENT: dict[str, Any] = {"event": True}
"""Field marker: a scheduled event may set this value (``[[events]] set = PATH``)."""
LEVER_EVENT: dict[str, Any] = {"event": True, "kind": "lever"}
"""Field marker for world values that are decisions (a site's occupation and troops)."""


def coefficient(default: float, high: float, description: str, low: float = 0.0) -> Any:
    """A bounded non-negative model coefficient (a pydantic field)."""
    return Field(default, ge=low, le=high, allow_inf_nan=False, description=description)


class Frozen(BaseModel):
    """Base for all scenario objects: immutable, unknown keys refused, no inf or NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle (workers receive the scenario this way) with interned field names.

        Pickle rebuilds the field dictionary with new, un-interned key strings, and
        CPython's specialised attribute lookup (``LOAD_ATTR_WITH_HINT``) checks key
        identity: without interning, every ``mechanisms.<coefficient>`` read in a
        worker takes the slow path and a replication runs about 20% slower there.
        """
        fields = {sys.intern(key): value for key, value in state.get("__dict__", {}).items()}
        super().__setstate__({**state, "__dict__": fields})
