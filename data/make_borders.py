"""Make data/borders.geojson from Natural Earth's 1:50m admin-0 countries (see SOURCES.md).

Not needed at run time: the teaching page reads the GeoJSON this writes. The input is
``countries-50m.json`` of the npm package world-atlas 2.0.2 (Natural Earth 4.1.0 as
TopoJSON, quantized but not projected)::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python data/make_borders.py package/countries-50m.json

The script decodes the TopoJSON, clips every ring to :data:`BOX` (Sutherland-Hodgman),
rounds to :data:`DECIMALS` decimals and keeps the countries left with any area. Standard
library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BOX = (33.0, 27.0, 51.0, 40.0)
"""Clip box: west, south, east, north (degrees); a margin around the page's map extent."""
DECIMALS = 2
"""Decimals kept (0.01 degree is about 1 km, finer than the 1:50m source's detail)."""
OUT = Path(__file__).resolve().parent / "borders.geojson"

Ring = list[tuple[float, float]]


def decode_arcs(topology: dict) -> list[Ring]:
    """The topology's arcs in degrees (undo delta encoding and quantization)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_of(indices: list[int], arcs: list[Ring]) -> Ring:
    """One closed ring from arc indices (``~i`` is arc ``i`` reversed)."""
    ring: Ring = []
    for i in indices:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(points if not ring else points[1:])
    return ring


def clip(ring: Ring, box: tuple[float, float, float, float]) -> Ring:
    """Sutherland-Hodgman: the part of a ring inside ``box`` (edges may run along it)."""
    west, south, east, north = box
    edges = ((0, west, 1.0), (0, east, -1.0), (1, south, 1.0), (1, north, -1.0))
    points = ring
    for axis, bound, sign in edges:
        if not points:
            break
        out: Ring = []
        for j, current in enumerate(points):
            previous = points[j - 1]
            if ((current[axis] - bound) * sign >= 0) != ((previous[axis] - bound) * sign >= 0):
                t = (bound - previous[axis]) / (current[axis] - previous[axis])
                cross = [previous[0] + t * (current[0] - previous[0]),
                         previous[1] + t * (current[1] - previous[1])]
                cross[axis] = bound
                out.append((cross[0], cross[1]))
            if (current[axis] - bound) * sign >= 0:
                out.append(current)
        points = out
    return points


def area(ring: Ring) -> float:
    """Signed area (shoelace), square degrees."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))


def tidy(ring: Ring) -> list[list[float]] | None:
    """Rounded, without repeated points, closed; None when nothing is left."""
    out: list[list[float]] = []
    for x, y in ring:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not out or p != out[-1]:
            out.append(p)
    if out and out[0] == out[-1]:
        out.pop()
    if len(out) < 3 or abs(area([(x, y) for x, y in out])) < 1e-4:
        return None
    return [*out, out[0]]


def main(source: str) -> None:
    """Write :data:`OUT` from a world-atlas countries TopoJSON file."""
    topology = json.loads(Path(source).read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    features = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        polygons = {"Polygon": [geometry.get("arcs")],
                    "MultiPolygon": geometry.get("arcs")}.get(geometry["type"], [])
        kept = []
        for polygon in polygons:
            rings = [tidy(clip(ring_of(r, arcs), BOX)) for r in polygon]
            if rings[0] is not None:
                kept.append([r for r in rings if r is not None])
        if kept:
            features.append({"type": "Feature",
                             "properties": {"name": geometry["properties"]["name"],
                                            "iso_n3": geometry.get("id", "")},
                             "geometry": {"type": "MultiPolygon", "coordinates": kept}})
    features.sort(key=lambda f: f["properties"]["name"])
    collection = {"type": "FeatureCollection",
                  "source": "Natural Earth 4.1.0, 1:50m Admin 0 - Countries (public domain), "
                            f"via world-atlas 2.0.2; clipped to lon {BOX[0]:g}..{BOX[2]:g}, "
                            f"lat {BOX[1]:g}..{BOX[3]:g}",
                  "features": features}
    OUT.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(features)} countries, {OUT.stat().st_size:,} bytes:",
          ", ".join(f["properties"]["name"] for f in features))


if __name__ == "__main__":
    main(sys.argv[1])
