"""Named random streams: uniforms that stay aligned across scenarios (common random numbers).

Every random number of a replication is a pure function of the replication's seed
and a coordinate (stream, entity, day, slot): the uniform at that coordinate is the
SplitMix64 generator's output at position ``counter(stream, entity, day, slot)`` from
the seed (Steele, Lea and Flood 2014, "Fast splittable pseudorandom number
generators", OOPSLA; the same finaliser as Java's ``SplittableRandom``). A draw
exists for every coordinate whether or not the model uses it, so an extra attack in
one scenario shifts no other draw: faction *f*'s team *t* on day *d* meets the same
uniforms in every scenario run with that seed.

Streams in use (``STREAMS``): each faction's launch teams (``attack``: per team and
day, the attack decision, weapon, target, foiling, interception, hit, people hurt,
deaths, the side of the border it launches from, brain injuries among the hurt and
their diagnosis lag), each faction's clash with the state (``clash``), the coalition
command (``coalition``: deference, consent, attribution ties, the side of the border
struck), each faction's decision
on a declared pause (``pause``) and the public injury count's refresh (``report``). Entities are named (a
faction's or site's name), so adding a faction leaves the others' draws unchanged.
"""

from __future__ import annotations

import zlib
from array import array

import numpy as np

STREAMS: dict[str, int] = {"attack": 1, "clash": 2, "coalition": 3, "pause": 4, "report": 5}
"""Stream identifiers (4 bits)."""
TEAM_DRAWS = ("attack", "weapon", "target", "foil", "intercept", "hit", "hurt", "death",
              "location", "tbi", "lag")
"""The uniforms each launch team draws each day, in slot order."""
COALITION_DRAWS = ("defer", "consent", "attribution", "where")
"""The coalition command's uniforms each day, in slot order."""
DAY_BITS, SLOT_BITS, ENTITY_BITS = 12, 10, 32
MAX_SLOTS = 1 << SLOT_BITS
GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(n) for n in (30, 27, 31, 11))
_UNIT = 2.0 ** -53


def entity_id(name: str) -> int:
    """A 32-bit identifier of a named entity (CRC-32 of its name)."""
    return zlib.crc32(name.encode("utf-8"))


def counter(stream: str, entity: str, day: np.ndarray | int, slot: np.ndarray | int,
            ) -> np.ndarray:
    """The 58-bit coordinate of draws: stream, entity, day (1-based), slot."""
    head = (STREAMS[stream] << ENTITY_BITS | entity_id(entity)) << (DAY_BITS + SLOT_BITS)
    day = np.asarray(day, dtype=np.uint64)
    slot = np.asarray(slot, dtype=np.uint64)
    return np.uint64(head) | (day << np.uint64(SLOT_BITS)) | slot


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (a bijection of 64-bit integers; products wrap)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def uniforms(seed: int | np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Uniforms in [0, 1) at the given coordinates for one seed (or one per row of seeds).

    Args:
        seed: the replication's seed (an int), or an array of seeds broadcast against
            ``counters`` (the ensemble engine: one seed per row).
        counters: coordinates from :func:`counter`.

    """
    with np.errstate(over="ignore"):
        state = np.asarray(seed, dtype=np.uint64) + np.asarray(counters, dtype=np.uint64) * GAMMA
    return (mix(state) >> _S11).astype(np.float64) * _UNIT


class Streams:
    """The named streams of one replication.

    Args:
        seed: the replication's seed (``SeedSequence(root).spawn(n)``, see
            :func:`sim.experiment.plan.replication_seeds`).

    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF

    def table(self, stream: str, entity: str, days: int, width: int) -> array:
        """Uniforms for days 1..``days`` and slots 0..``width - 1``, day after day.

        Day ``d``'s slot ``k`` is at ``(d - 1) * width + k``. A flat ``array('d')``
        (no Python object per draw until one is read) keeps a model's start cheap.
        """
        if width > MAX_SLOTS:
            raise ValueError(f"{width} slots a day exceed the stream's {MAX_SLOTS}")
        grid = counter(stream, entity, np.arange(1, days + 1)[:, None], np.arange(width)[None, :])
        return array("d", uniforms(self.seed, grid).tobytes())
