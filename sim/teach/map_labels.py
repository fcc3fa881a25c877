"""Label placement for the teaching page's map, in pixels: labels clear of markers and of each other.

A greedy search (:func:`place_point_labels`): the labels of the most crowded points go
first, each at the first candidate spot around its marker, ring after ring outwards,
whose box is inside the frame, clear of every box taken so far and, when it sits next
to its marker, nearer to its own marker than to any other (farther out, a leader line
joins it to its point). Points that (nearly) coincide share one block of stacked
labels. Area names (:func:`place_area_label`) go to the most inland clear spot of their
area. Boxes are ``[x0, y0, x1, y1]`` arrays in display pixels.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.path import Path

DIRECTIONS = (0, 180, 45, -45, 135, -135, 90, -90, 22.5, -22.5, 157.5, -157.5, 67.5, 112.5,
              -67.5, -112.5)
"""Where a label may sit from its point (degrees anticlockwise from east), best first."""
RINGS, RING_STEP, GAP = 9, 8.0, 2.0
"""Rings of candidate spots, their spacing, and the gap between a label and its marker (px)."""
LEADER_RING = 1
"""Labels from this ring outwards are joined to their point by a leader line."""
CLEARANCE = 10.0
"""A label with a leader line, and its line, keep this far from other points (px)."""
STACK_PX = 6.0
"""Points closer than this share one block of labels (px)."""
CROWD_PX = 80.0
"""Points within this distance count towards a point's crowding."""


def overlaps(box: np.ndarray, boxes: list[np.ndarray]) -> bool:
    """Whether ``box`` intersects any of ``boxes``."""
    return any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
               for b in boxes)


def inside(box: np.ndarray, frame: np.ndarray) -> bool:
    """Whether ``box`` lies within ``frame``."""
    return bool(box[0] >= frame[0] and box[1] >= frame[1] and box[2] <= frame[2]
                and box[3] <= frame[3])


def distance(box: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Distances from ``box`` to points ``xy`` (n, 2); zero inside it."""
    dx = np.maximum(np.maximum(box[0] - xy[:, 0], xy[:, 0] - box[2]), 0)
    dy = np.maximum(np.maximum(box[1] - xy[:, 1], xy[:, 1] - box[3]), 0)
    return np.hypot(dx, dy)


def marker_boxes(xy: np.ndarray, radii: list[float]) -> list[np.ndarray]:
    """Square boxes of markers centred on ``xy`` with half-sides ``radii``."""
    return [np.array([x - r, y - r, x + r, y + r]) for (x, y), r in zip(xy, radii, strict=True)]


def stacks(xy: np.ndarray) -> list[list[int]]:
    """Points within :data:`STACK_PX` of a stack's first point share that stack."""
    out: list[list[int]] = []
    for i, p in enumerate(xy):
        near = [g for g in out if np.hypot(*(xy[g[0]] - p)) < STACK_PX]
        if near:
            near[0].append(i)
        else:
            out.append([i])
    return out


def place_point_labels(xy: np.ndarray, radii: list[float], sizes: list[tuple[float, float]],
                       frame: np.ndarray, taken: list[np.ndarray],
                       ) -> list[tuple[float, float, bool]]:
    """Each point's label centre as an offset (dx, dy) from its point and whether it needs
    a leader line. ``sizes`` are the labels' (width, height) with any padding; ``taken``
    (markers and other reserved boxes) gains each placed label's box. The labels of
    points that (nearly) coincide are stacked in one block, aligned on the side of their
    points. A block that finds no spot by the rules of :func:`_first_clear` takes the
    nearest clear spot or, failing that, the spot east of its points.
    """
    groups = stacks(xy)
    centres = np.array([xy[g].mean(axis=0) for g in groups])
    crowd = [int((np.hypot(*(xy - c).T) < CROWD_PX).sum()) for c in centres]
    placed: list[tuple[float, float, bool]] = [(0.0, 0.0, False)] * len(xy)
    for n in sorted(range(len(groups)), key=lambda j: -crowd[j]):
        group, centre = groups[n], centres[n]
        size = (max(sizes[i][0] for i in group), sum(sizes[i][1] for i in group))
        r = max(radii[i] + np.hypot(*(xy[i] - centre)) for i in group)
        others = np.delete(xy, group, axis=0)
        for rules, ring in [(rules, k) for rules in (True, False) for k in range(RINGS)]:
            spot = _first_clear(centre, r + GAP + ring * RING_STEP, size, frame, taken,
                                others, ring >= LEADER_RING, rules)
            if spot is not None:
                break
        else:
            spot = _candidates(centre, r + GAP, size)[0]
        _, box, side = spot
        taken.append(box)
        top = box[3]
        for i in group:
            w, h = sizes[i]
            cx = box[0] + w / 2 if side > 0 else box[2] - w / 2 if side < 0 else box[[0, 2]].mean()
            placed[i] = (cx - xy[i][0], top - h / 2 - xy[i][1], ring >= LEADER_RING)
            top -= h
    return placed


def _candidates(point: np.ndarray, d: float, size: tuple[float, float],
                ) -> list[tuple[tuple[float, float], np.ndarray, int]]:
    """Label spots whose nearest corner or edge is ``d`` from ``point`` along each of
    :data:`DIRECTIONS`: (centre, box, side), side -1 west of the point, 0 or 1 east.
    """
    (x, y), (w, h) = point, size
    out = []
    for angle in DIRECTIONS:
        ux, uy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        side, up = round(ux, 6) and math.copysign(1, ux), round(uy, 6) and math.copysign(1, uy)
        cx, cy = x + ux * d + side * w / 2, y + uy * d + up * h / 2
        out.append(((cx, cy), np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]),
                    int(side)))
    return out


def _first_clear(point: np.ndarray, d: float, size: tuple[float, float], frame: np.ndarray,
                 taken: list[np.ndarray], others: np.ndarray, leader: bool, rules: bool,
                 ) -> tuple[tuple[float, float], np.ndarray, int] | None:
    """The first of :func:`_candidates` inside the frame and clear of ``taken``. With
    ``rules``: next to its point, a label must be nearer to it than to any of the
    ``others``; with a ``leader`` line, it must keep :data:`CLEARANCE` from the others,
    and so must its line, which crosses no taken box but the point's own marker.
    """
    for spot in _candidates(point, d, size):
        box = spot[1]
        if not inside(box, frame) or overlaps(box, taken):
            continue
        if not rules:
            return spot
        near = distance(box, others).min() if len(others) else np.inf
        if not leader and near <= distance(box, point[None])[0] + GAP:
            continue
        if leader and (near < CLEARANCE or _line_blocked(point, box, taken, others)):
            continue
        return spot
    return None


def _line_blocked(point: np.ndarray, box: np.ndarray, taken: list[np.ndarray],
                  others: np.ndarray) -> bool:
    """Whether the leader from ``point`` to ``box``'s nearest edge point runs through a
    taken box (beyond the point's own marker) or close by another point.
    """
    end = np.clip(point, box[:2], box[2:])
    t = np.linspace(0, 1, 24)[:, None]
    line = point + t * (end - point)
    line = line[np.hypot(*(line - point).T) > CLEARANCE]
    if not len(line):
        return False
    if len(others) and np.hypot(*(line[:, None] - others[None]).transpose(2, 0, 1)).min() \
            < CLEARANCE:
        return True
    return any(distance(b, line).min() == 0 for b in taken)


def place_area_label(grid: np.ndarray, rings: list[Path], size: tuple[float, float],
                     frame: np.ndarray, taken: list[np.ndarray]) -> int | None:
    """The index in ``grid`` (n, 2 pixel spots) of the spot for an area's name: the spot
    inside the area (its ``rings``, in pixels) farthest from the area's edge, the frame
    and every taken box, with the whole name inside the area if possible. ``taken``
    gains the name's box. None when no spot inside the area is clear.
    """
    within = np.logical_or.reduce([ring.contains_points(grid) for ring in rings])
    if not within.any():
        return None
    ours, outside = grid[within], grid[~within]
    room = np.abs(ours[:, :, None] - frame.reshape(2, 2).T[None]).min(axis=(1, 2))
    if len(outside):
        room = np.minimum(room, np.hypot(*(ours[:, None] - outside[None]).transpose(2, 0, 1))
                          .min(axis=1))
    if taken:
        room = np.minimum(room, np.min([distance(b, ours) for b in taken], axis=0))
    w, h = size
    for whole in (True, False):
        for j in np.argsort(-room, kind="stable"):
            cx, cy = ours[j]
            box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            if not inside(box, frame) or overlaps(box, taken):
                continue
            corners = box[[0, 1, 2, 1, 2, 3, 0, 3]].reshape(4, 2)
            if whole and not np.logical_or.reduce([r.contains_points(corners)
                                                   for r in rings]).all():
                continue
            taken.append(box)
            return int(np.flatnonzero(within)[j])
    return None
