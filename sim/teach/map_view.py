"""The teaching page's map: country borders, sites, factions and the day's attacks.

:func:`map_figure` draws one day of a running :class:`~sim.model.model.IraqModel` for a
projector: country outlines and names (Natural Earth, ``data/borders.geojson``; see
``data/SOURCES.md``), coalition sites as squares sized by troops (grey when closed),
faction home areas as triangles sized by capability, their launch cells in eastern
Syria as hollow triangles, and each of the day's attacks as an arrow coloured by its
outcome. The recorder does not say where an attack was launched from, so an arrow
starts at the faction's nearer launch area (home or eastern Syria) within the weapon's
range of the site. Attacks foiled before launch are crosses at the home area.

The page redraws at ten or more days a second, so what does not change from day to
day (borders, names, labels, legend) is drawn once per world and kept as two images,
one under and one over the day's markers and arrows (:func:`static_layers`); labels
are placed by :mod:`sim.teach.map_labels`, clear of markers and of each other.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Affine2D, IdentityTransform, Transform

from sim.teach.map_labels import marker_boxes, overlaps, place_area_label, place_point_labels

if TYPE_CHECKING:
    from sim.model.model import IraqModel

BORDERS = Path(__file__).resolve().parents[2] / "data" / "borders.geojson"
"""The default borders file (the repository's data folder; the package installs editable)."""
WEST, EAST, SOUTH, NORTH = 35.3, 48.8, 29.0, 37.9
"""The map's extent, degrees."""
COS_LAT = math.cos(math.radians((SOUTH + NORTH) / 2))
"""A degree of longitude against one of latitude at the map's middle."""
DPI, WIDTH, (LEFT, RIGHT, BOTTOM, TOP) = 100, 7.6, (0.5, 0.12, 0.45, 0.35)
"""Dots per inch, figure width and margins around the map (inches)."""
MAP_WIDTH = WIDTH - LEFT - RIGHT
MAP_HEIGHT = MAP_WIDTH * (NORTH - SOUTH) / ((EAST - WEST) * COS_LAT)
FIGSIZE = (WIDTH, round(BOTTOM + MAP_HEIGHT + TOP, 2))
MAP_RECT = (LEFT / WIDTH, BOTTOM / FIGSIZE[1], MAP_WIDTH / WIDTH, MAP_HEIGHT / FIGSIZE[1])
"""The map axes in figure fractions, at the map's own aspect."""
PT_PER_DEGREE = MAP_HEIGHT * 72 / (NORTH - SOUTH)
"""Points per degree of latitude."""

SEA, LAND, FOCUS_LAND, BORDER = "#d6e6f2", "#e9e6de", "#fbfaf5", "#8a8a8a"
FOCUS = ("Iraq", "Syria")
"""Countries drawn lighter (the model's theatre)."""
SITE, CLOSED, FACTION = "#1f4e99", "#bdbdbd", "#2e8b3a"
OUTCOMES = {  # outcome -> colour, line style, width, legend text
    "hit": ("#d62728", "-", 2.6, "attack: hit"),
    "no_effect": ("#f28e1c", "-", 1.8, "attack: no effect"),
    "intercepted": ("#7b52ab", (0, (4, 2)), 1.8, "attack: intercepted"),
}
SITE_SIZE, FACTION_SIZE = (30.0, 0.1, 140.0), (50.0, 80.0)
"""Marker areas (points²): sites base + per troop up to a cap; factions base + capability x."""
SHORT = {
    "ain_al_asad": "Ain al-Asad", "erbil": "Erbil", "harir": "Harir",
    "victory": "Baghdad airport", "union_iii": "Union III", "al_tanf": "al-Tanf",
    "tower_22": "Tower 22", "conoco": "MSS Conoco", "green_village": "MSS Green Village",
    "al_shaddadi": "al-Shaddadi", "rumalyn": "Rumalyn", "harakat_al_nujaba": "al-Nujaba",
    "badr_organization": "Badr",
}
"""Short map labels of the shipped world's sites and factions (others: label up to " (")."""
TEXT = {  # label kind -> text style
    "site": {"fontsize": 9, "color": "#10284f"},
    "faction": {"fontsize": 9, "color": "#1d5e27", "fontweight": "bold"},
    "cell": {"fontsize": 8, "color": "#1d5e27", "fontstyle": "italic"},
    "country": {"fontsize": 11, "color": "#858585", "fontweight": "bold"},
}
LABEL_BOX = {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}
SHORT_ROUTE, LOOP = 14.0, (20.0, 10.0)
"""Routes shorter than this (points) are loops: how far out and how wide (points)."""
SCALE_KM = 200
"""Length of the scale bar, km (the rockets' reach)."""
CAPTION = ("Arrows start at the faction's nearer launch area within the weapon's range.  "
           "Borders: Natural Earth (public domain).")


@dataclass(frozen=True, eq=False)
class Country:
    """One country's outline within the file's extent: its name and closed (lon, lat) rings."""

    name: str
    rings: tuple[np.ndarray, ...]


def load_borders(path: Path | str | None = None) -> tuple[Country, ...]:
    """Countries of a GeoJSON FeatureCollection of (Multi)Polygons with a ``name`` property
    (default :data:`BORDERS`), read once per file. Raises FileNotFoundError or ValueError
    naming the file when it is missing or not such a collection.
    """
    return _read_borders(Path(path or BORDERS).resolve())


@cache
def _read_borders(path: Path) -> tuple[Country, ...]:
    try:
        countries = []
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            geometry = feature["geometry"]
            if geometry["type"] not in ("Polygon", "MultiPolygon"):
                raise ValueError(f"found a {geometry['type']} geometry")
            polygons = geometry["coordinates"]
            polygons = [polygons] if geometry["type"] == "Polygon" else polygons
            rings = tuple(np.asarray(ring, dtype=float).reshape(-1, 2)
                          for polygon in polygons for ring in polygon)
            countries.append(Country(str(feature["properties"]["name"]), rings))
    except FileNotFoundError:
        raise FileNotFoundError(f"country borders file {path} is missing "
                                "(see data/SOURCES.md)") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"country borders file {path} is not a GeoJSON collection of "
                         f"named country polygons: {error}") from error
    return tuple(countries)


# ------------------------------------------------------------ static layers

Point = tuple[str, str, float, float]
"""A labelled point: kind (site, faction, cell), text, lon, lat."""


def map_points(model: IraqModel) -> tuple[Point, ...]:
    """Sites, faction home areas and launch cells in Syria (one per place), labelled."""
    points: list[Point] = [("site", SHORT.get(b.name) or b.label.split(" (")[0], b.lon, b.lat)
                           for b in model.bases]
    points += [("faction", SHORT.get(f.name) or f.label.split(" (")[0], f.lon, f.lat)
               for f in model.militias]
    cells: dict[tuple[float, float], str] = {}
    for f in model.militias:
        area = model.spec.faction(f.name).syria_area.split(" (")[0]
        cells.setdefault((f.syria_lon, f.syria_lat), area or "launch cells")
    return (*points, *(("cell", text, lon, lat) for (lon, lat), text in cells.items()))


def map_axes(fig: Figure, frame: bool = True) -> Axes:
    """The map's axes: extent and aspect; with ``frame``, sea, graticule and degree ticks,
    else invisible (for the day's layer over the static image).
    """
    ax = fig.add_axes(MAP_RECT, zorder=1)
    ax.set_xlim(WEST, EAST)
    ax.set_ylim(SOUTH, NORTH)
    ax.set_aspect(1 / COS_LAT)
    if not frame:
        ax.set_axis_off()
        return ax
    ax.set_facecolor(SEA)
    lons, lats = range(math.ceil(WEST), int(EAST) + 1, 2), range(math.ceil(SOUTH), int(NORTH) + 1)
    ax.set_xticks(list(lons), [f"{x}°E" for x in lons], fontsize=8)
    ax.set_yticks(list(lats), [f"{y}°N" for y in lats], fontsize=8)
    ax.tick_params(length=3, pad=2)
    ax.grid(color="white", lw=0.6, alpha=0.7)
    return ax


def legend_handles() -> list[Line2D]:
    """The legend's entries (proxy artists, never added to the axes)."""
    def marker(shape: str, face: str, edge: str, label: str, ms: float = 9, mew: float = 0.6):
        return Line2D([], [], ls="none", marker=shape, ms=ms, mfc=face, mec=edge, mew=mew,
                      label=label)
    return [marker("s", SITE, "black", "coalition site (size: troops)"),
            marker("s", CLOSED, "black", "site closed"),
            marker("^", FACTION, "black", "militia home (size: capability)", 10),
            marker("^", "white", FACTION, "launch cells, eastern Syria", 8, 1.5),
            *(Line2D([], [], color=c, ls=ls, lw=w, label=text)
              for c, ls, w, text in OUTCOMES.values()),
            marker("X", "black", "white", "attack foiled before launch", 9, 0.5)]


def draw_static(fig: Figure, points: tuple[Point, ...], borders: tuple[Country, ...]) -> Axes:
    """Everything that does not change from day to day, on ``fig``: sea, land, borders,
    graticule, launch cells, scale bar, legend, caption and every label (gid ``label``).
    """
    ax = map_axes(fig)
    ax.add_collection(PathCollection(
        [MplPath.make_compound_path(*(MplPath(r, closed=True) for r in c.rings))
         for c in borders], facecolors=[FOCUS_LAND if c.name in FOCUS else LAND
                                        for c in borders],
        edgecolors=BORDER, linewidths=0.8, zorder=1), autolim=False)
    cells = np.array([(lon, lat) for kind, _, lon, lat in points if kind == "cell"])
    ax.scatter(cells[:, 0], cells[:, 1], s=FACTION_SIZE[0], marker="^", color="white",
               edgecolors=FACTION, linewidths=1.5, zorder=2)
    fig.text(LEFT / WIDTH, 0.06 / FIGSIZE[1], CAPTION, fontsize=8, color="#555555")
    renderer = FigureCanvasAgg(fig).get_renderer()
    xy = ax.transData.transform([(lon, lat) for _, _, lon, lat in points])
    px = fig.dpi / 72
    radii = [px * (math.sqrt(SITE_SIZE[2] if p[0] == "site" else sum(FACTION_SIZE)) / 2 + 1)
             for p in points]
    taken = marker_boxes(xy, radii)
    for corner in ("lower left", "lower right", "upper left", "upper right"):
        legend = ax.legend(handles=legend_handles(), loc=corner, ncols=2, fontsize=8.5,
                           framealpha=0.9, borderaxespad=0.4, handlelength=2.0, columnspacing=1)
        fig.canvas.draw()
        if not overlaps(legend.get_window_extent(renderer).extents, taken):
            break
    key = legend.get_window_extent(renderer).extents
    taken.append(key)
    corner = (key[0] + 12 * px, key[3] + 12 * px if "lower" in corner else key[1] - 30 * px)
    taken.append(scale_bar(ax, *ax.transData.inverted().transform(corner)))
    frame = ax.get_window_extent(renderer).extents + np.array([3, 3, -3, -3])
    sizes = [text_size(fig, renderer, text, kind) for kind, text, _, _ in points]
    spots = place_point_labels(xy, radii, sizes, frame, taken)
    for (kind, text, lon, lat), (dx, dy, leader) in zip(points, spots, strict=True):
        ax.annotate(text, (lon, lat), xytext=(dx / px, dy / px), textcoords="offset points",
                    ha="center", va="center", zorder=6, bbox=LABEL_BOX, gid="label",
                    arrowprops={"arrowstyle": "-", "lw": 0.8, "color": "#333333",
                                "shrinkA": 0, "shrinkB": 5} if leader else None,
                    **TEXT[kind])
    lon, lat = np.meshgrid(np.arange(WEST + 0.1, EAST, 0.2), np.arange(SOUTH + 0.1, NORTH, 0.2))
    grid = np.column_stack([lon.ravel(), lat.ravel()])
    for country in borders:
        name = country.name.upper()
        j = place_area_label(ax.transData.transform(grid),
                             [MplPath(ax.transData.transform(r)) for r in country.rings],
                             text_size(fig, renderer, name, "country"), frame, taken)
        if j is not None:
            ax.text(*grid[j], name, ha="center", va="center", zorder=2, gid="label",
                    **TEXT["country"])
    return ax


def text_size(fig: Figure, renderer: RendererBase, text: str, kind: str) -> tuple[float, float]:
    """A label's width and height in pixels, with room for its box."""
    artist = fig.text(0, 0, text, **TEXT[kind])
    box = artist.get_window_extent(renderer)
    artist.remove()
    return box.width + 6, box.height + 4


def scale_bar(ax: Axes, lon: float, lat: float) -> np.ndarray:
    """A :data:`SCALE_KM` bar from (lon, lat) eastwards with its length above; its box (px)."""
    east = lon + SCALE_KM / (111.32 * math.cos(math.radians(lat)))
    ax.hlines(lat, lon, east, color="#333333", lw=2.5, zorder=2)
    ax.text((lon + east) / 2, lat + 0.07, f"{SCALE_KM} km", ha="center", va="bottom",
            fontsize=8, color="#333333", zorder=2, gid="label")
    return np.concatenate(ax.transData.transform([(lon, lat - 0.1), (east, lat + 0.42)]))


@lru_cache(maxsize=8)
def static_layers(points: tuple[Point, ...], borders: tuple[Country, ...], dpi: float,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """RGBA images (top row first) of :func:`draw_static` at ``dpi``: everything but the
    labels, and the labels alone on a transparent ground. Labels are placed at
    :data:`DPI` whatever the ``dpi``, as in a full figure saved at another dpi.
    """
    fig = Figure(figsize=FIGSIZE, dpi=DPI, facecolor="white")
    ax = draw_static(fig, points, borders)
    fig.set_dpi(dpi)
    labels = [t for t in ax.texts if t.get_gid() == "label"]
    for t in labels:
        t.set_visible(False)
    fig.canvas.draw()
    base = np.asarray(fig.canvas.buffer_rgba()).copy()
    for artist in [*fig.get_children(), *ax.get_children()]:
        artist.set_visible(artist is ax or artist in labels)
    fig.canvas.draw()
    return base, np.asarray(fig.canvas.buffer_rgba()).copy()


class Layer(Artist):
    """One of :func:`static_layers`' images, drawn at the dpi of whatever renders it."""

    def __init__(self, points: tuple[Point, ...], borders: tuple[Country, ...], which: int,
                 zorder: float) -> None:
        super().__init__()
        self.points, self.borders, self.which = points, borders, which
        self.set_zorder(zorder)

    def draw(self, renderer: RendererBase) -> None:
        """Paint the image over the whole figure."""
        image = static_layers(self.points, self.borders, renderer.points_to_pixels(72))
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, image[self.which][::-1])
        gc.restore()


# ------------------------------------------------------------------ the day


def todays_events(model: IraqModel) -> list[tuple]:
    """The recorder's events of the current day (attacks, foiled attacks, strikes...)."""
    events = model.recorder.events
    first = len(events)
    while first and events[first - 1][0] == model.day:
        first -= 1
    return events[first:]


def launch_point(model: IraqModel, faction: int, site: int, weapon: str) -> tuple[float, float]:
    """Where an attack most likely came from: the faction's nearer launch area (home or
    eastern Syria) within the weapon's range of the site (home when neither is).
    """
    f, reach = model.militias[faction], model.weapons[weapon].range_km
    home_km, syria_km = model.distances_km[faction]
    options = [(km[site], where) for km, where in ((home_km, (f.lon, f.lat)),
                                                  (syria_km, (f.syria_lon, f.syria_lat)))
               if km[site] <= reach]
    return min(options)[1] if options else (f.lon, f.lat)


def arrow(start: tuple[float, float], end: tuple[float, float], bend: float,
          ) -> tuple[np.ndarray, np.ndarray, float]:
    """Longitudes, latitudes and head angle (degrees) of an arrow from ``start`` to
    ``end``: a curve bent sideways by ``bend`` degrees, stopping short of both markers.
    A route shorter than :data:`SHORT_ROUTE` (an attack from next door) is a loop out
    and back, so that it shows.
    """
    p0, p1 = np.array([start[0] * COS_LAT, start[1]]), np.array([end[0] * COS_LAT, end[1]])
    length = float(np.hypot(*(p1 - p0))) * PT_PER_DEGREE
    along = unit(p1 - p0) if length > 1 else np.array([1.0, 0.0])
    side = np.array([-along[1], along[0]])
    c0 = c1 = (p0 + p1) / 2 + bend * side
    if length < SHORT_ROUTE:
        out, wide = np.array(LOOP) / PT_PER_DEGREE
        c0 = p0 + math.copysign(out, bend or 1.0) * side - wide * along
        c1 = p1 + math.copysign(out, bend or 1.0) * side + wide * along
    p0 = p0 + unit(c0 - p0) * 5 / PT_PER_DEGREE
    p1 = p1 - unit(p1 - c1) * 9 / PT_PER_DEGREE
    t = np.linspace(0, 1, 16)[:, None]
    curve = (1 - t) ** 3 * p0 + 3 * t * (1 - t) ** 2 * c0 + 3 * t ** 2 * (1 - t) * c1 + t ** 3 * p1
    return curve[:, 0] / COS_LAT, curve[:, 1], float(np.degrees(np.arctan2(*(p1 - c1)[::-1])))


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (zero stays zero)."""
    return v / max(float(np.hypot(*v)), 1e-9)


def markers(lons: list[float], lats: list[float], marker: str, sizes: list[float],
            to_pixels: Transform, **style: Any) -> PathCollection:
    """Markers as :meth:`Axes.scatter` draws them, at (lon, lat) through ``to_pixels``."""
    shape = MarkerStyle(marker)
    dots = PathCollection([shape.get_path().transformed(shape.get_transform())], sizes=sizes,
                          offsets=np.column_stack([lons, lats]), offset_transform=to_pixels,
                          **style)
    dots.set_transform(IdentityTransform())
    return dots


def day_artists(model: IraqModel, events: list[tuple], to_pixels: Transform) -> list[Artist]:
    """The day's attacks as arrows (one Line2D each, gid ``attack``, coloured by outcome;
    repeated routes fan out), crosses for attacks foiled before launch (gid ``foiled``),
    and the sites and home areas as they are today (gids ``sites`` and ``factions``).
    """
    site_index = {b.name: i for i, b in enumerate(model.bases)}
    faction_index = {f.name: i for i, f in enumerate(model.militias)}
    routes = [(launch_point(model, faction_index[e[2]], site_index[e[3]], e[4]), site_index[e[3]],
               e[5]) for e in events if e[1] == "attack"]
    count, seen = Counter(r[:2] for r in routes), Counter()
    artists: list[Artist] = []
    for start, s, outcome in routes:
        k, n = seen[start, s], count[start, s]
        seen[start, s] += 1
        site = model.bases[s]
        lons, lats, head = arrow(start, (site.lon, site.lat), 0.25 * (k - (n - 1) / 2))
        color, style, width, _ = OUTCOMES.get(outcome, OUTCOMES["no_effect"])
        artists.append(Line2D(lons, lats, color=color, ls=style, lw=width, zorder=3, gid="attack",
                              marker=(3, 0, head - 90), markevery=[len(lons) - 1],
                              ms=4 + 1.5 * width, mew=0, solid_capstyle="round",
                              transform=to_pixels))
    base, per_troop, cap = SITE_SIZE
    bases, factions = model.bases, model.militias
    artists.append(markers([b.lon for b in bases], [b.lat for b in bases], "s",
                           [min(base + per_troop * b.troops, cap) for b in bases], to_pixels,
                           facecolors=[SITE if b.open else CLOSED for b in bases],
                           edgecolors="black", linewidths=0.6, zorder=4, gid="sites"))
    artists.append(markers([f.lon for f in factions], [f.lat for f in factions], "^",
                           [FACTION_SIZE[0] + FACTION_SIZE[1] * f.capability for f in factions],
                           to_pixels, facecolors=FACTION, edgecolors="black", linewidths=0.6,
                           zorder=4, gid="factions"))
    foiled = [factions[faction_index[e[2]]] for e in events if e[1] == "foiled"]
    if foiled:
        artists.append(markers([f.lon for f in foiled], [f.lat for f in foiled], "X",
                               [80] * len(foiled), to_pixels, facecolors="black",
                               edgecolors="white", linewidths=0.5, zorder=5, gid="foiled"))
    return artists


def title_of(model: IraqModel, events: list[tuple]) -> str:
    """'Day N (date): K attacks', the outcomes and the attacks foiled before launch."""
    if model.day == 0:
        return "Day 0: no attacks yet"
    outcomes = Counter(e[5] for e in events if e[1] == "attack")
    k, foiled = sum(outcomes.values()), sum(e[1] == "foiled" for e in events)
    parts = ", ".join(f"{outcomes[o]} {OUTCOMES[o][3].removeprefix('attack: ')}"
                      for o in OUTCOMES if outcomes[o])
    date = model.recorder.start + timedelta(days=model.day - 1)
    return (f"Day {model.day} ({date:%d %b %Y}): {k} attack{'s' * (k != 1)}"
            + (f" ({parts})" if parts else "") + (f"; {foiled} foiled before launch" if foiled else ""))


def map_figure(model: IraqModel, raster: bool = True) -> Figure:
    """The map of the model's current day (see the module's docstring), at :data:`DPI`.

    With ``raster`` (the page's default) the static parts are two cached images and only
    the day's markers, arrows and title are new artists, straight on the figure (no axes
    to build); without, every part is an artist on the map's axes (slower; for vector
    output and for checking the layout).
    """
    fig = Figure(figsize=FIGSIZE, dpi=DPI, facecolor="white")
    points, borders, events = map_points(model), load_borders(), todays_events(model)
    if raster:
        fig.add_artist(Layer(points, borders, 0, zorder=0))
        to_figure = Affine2D().translate(-WEST, -SOUTH).scale(
            MAP_RECT[2] / (EAST - WEST), MAP_RECT[3] / (NORTH - SOUTH)).translate(*MAP_RECT[:2])
        for artist in day_artists(model, events, to_figure + fig.transFigure):
            fig.add_artist(artist)
        fig.add_artist(Layer(points, borders, 1, zorder=5))
    else:
        ax = draw_static(fig, points, borders)
        for artist in day_artists(model, events, ax.transData):
            ax.add_artist(artist)
    fig.text(LEFT / WIDTH, (BOTTOM + MAP_HEIGHT + 0.08) / FIGSIZE[1], title_of(model, events),
             fontsize=11, va="bottom", zorder=6)
    return fig
