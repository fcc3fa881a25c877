"""The teaching page's map: borders file, extent, the day's attacks, labels and legend."""

from __future__ import annotations

import io
import itertools
import json
import math

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform
from PIL import Image

from sim.model.model import IraqModel
from sim.scenario.load import load, shipped_scenarios
from sim.teach import map_view
from sim.teach.map_labels import place_point_labels

BAGHDAD = {"Baghdad airport", "Union III", "al-Nujaba", "Asa'ib Ahl al-Haq", "Kata'ib Hezbollah",
           "Badr"}


@pytest.fixture(scope="module")
def busy_day(baseline) -> IraqModel:
    """A baseline replication stopped on its first day with at least three attacks."""
    model = IraqModel(baseline, seed=1)
    while sum(e[1] == "attack" for e in map_view.todays_events(model)) < 3:
        model.step()
        assert model.day < 120, "no day with three attacks"
    return model


@pytest.fixture(scope="module")
def vector(busy_day):
    """The busy day's map with every part an artist, drawn once."""
    fig = map_view.map_figure(busy_day, raster=False)
    FigureCanvasAgg(fig).draw()
    return fig


def bbox(lons: list[float], lats: list[float]) -> tuple[float, float, float, float]:
    return min(lons), max(lons), min(lats), max(lats)


def test_the_borders_file_holds_the_region_with_plausible_outlines():
    countries = {c.name: c for c in map_view.load_borders()}
    assert {"Iraq", "Syria", "Jordan", "Turkey", "Iran", "Saudi Arabia", "Kuwait", "Lebanon",
            "Israel"} <= set(countries)
    expected = {"Iraq": (38.8, 48.6, 29.1, 37.4), "Syria": (35.7, 42.4, 32.3, 37.3),
                "Jordan": (34.9, 39.3, 29.2, 33.4), "Kuwait": (46.5, 48.4, 28.5, 30.1)}
    for name, box in expected.items():
        points = np.vstack(countries[name].rings)
        assert bbox(points[:, 0], points[:, 1]) == pytest.approx(box, abs=0.15), name
    assert map_view.BORDERS.stat().st_size < 100_000
    assert map_view.load_borders() is map_view.load_borders()  # read once


def test_a_missing_or_broken_borders_file_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "borders.geojson"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        map_view.load_borders(missing)
    broken = tmp_path / "broken.geojson"
    broken.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point",
                                                           "coordinates": [1, 2]}}]}))
    with pytest.raises(ValueError, match=str(broken)):
        map_view.load_borders(broken)


def test_every_site_faction_and_launch_area_of_every_scenario_is_on_the_map():
    for path in shipped_scenarios():
        spec = load(path.stem)
        places = [(b.lon, b.lat) for b in spec.bases] + [
            xy for f in spec.factions for xy in ((f.lon, f.lat), (f.syria_lon, f.syria_lat))]
        for lon, lat in places:
            assert map_view.WEST < lon < map_view.EAST, path.stem
            assert map_view.SOUTH < lat < map_view.NORTH, path.stem


def test_the_map_draws_one_arrow_per_attack_coloured_by_outcome(busy_day, vector):
    attacks = [e for e in map_view.todays_events(busy_day) if e[1] == "attack"]
    fig = map_view.map_figure(busy_day)
    arrows = [a for a in fig.artists if a.get_gid() == "attack"]
    assert len(arrows) == len(attacks) >= 3
    assert sorted(a.get_color() for a in arrows) == sorted(
        map_view.OUTCOMES[e[5]][0] for e in attacks)
    assert len([a for a in vector.axes[0].lines if a.get_gid() == "attack"]) == len(attacks)
    title = fig.texts[-1].get_text()
    assert title.startswith(f"Day {busy_day.day} (") and f": {len(attacks)} attacks" in title


def test_foiled_attacks_are_crosses_and_repeated_routes_fan_out(busy_day):
    day = busy_day.day
    events = [(day, "foiled", "kataib_hezbollah", "victory", "rocket", "foiled", 0, 0),
              *[(day, "attack", "asaib_ahl_al_haq", "ain_al_asad", "rocket", o, 0, 0)
                for o in ("hit", "intercepted")]]
    artists = map_view.day_artists(busy_day, events, IdentityTransform())
    foiled = [a for a in artists if a.get_gid() == "foiled"]
    assert len(foiled) == 1 and len(foiled[0].get_offsets()) == 1
    first, second = (a.get_xydata() for a in artists if a.get_gid() == "attack")
    assert np.allclose(first[[0, -1]], second[[0, -1]], atol=0.3)  # same route ...
    assert np.abs(first[len(first) // 2] - second[len(second) // 2]).max() > 0.1  # ... apart
    assert "1 foiled" in map_view.title_of(busy_day, events)


def test_attacks_launch_from_the_nearer_area_in_range(busy_day):
    kh = next(i for i, f in enumerate(busy_day.militias) if f.name == "kataib_hezbollah")
    faction = busy_day.militias[kh]
    site = {b.name: i for i, b in enumerate(busy_day.bases)}
    home, syria = (faction.lon, faction.lat), (faction.syria_lon, faction.syria_lat)
    assert map_view.launch_point(busy_day, kh, site["victory"], "rocket") == home
    assert map_view.launch_point(busy_day, kh, site["conoco"], "drone") == syria


def test_no_two_labels_overlap_and_none_covers_a_marker(busy_day, vector):
    ax = vector.axes[0]
    renderer = vector.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_gid() == "label"]
    boxes = {t.get_text(): Text.get_window_extent(t, renderer) for t in labels}
    assert BAGHDAD <= set(boxes) and {"IRAQ", "SYRIA", "JORDAN"} <= set(boxes)
    assert min(t.get_fontsize() for t in labels) >= 8
    for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2):
        assert not box_a.overlaps(box_b), (a, b)
    for x0, y0, x1, y1 in marker_boxes(busy_day, ax):
        for name, box in boxes.items():
            assert not (box.x0 < x1 and x0 < box.x1 and box.y0 < y1 and y0 < box.y1), name


def marker_boxes(model: IraqModel, ax) -> list[tuple[float, float, float, float]]:
    """Pixel boxes of the sites and home areas at their largest markers."""
    px = ax.figure.dpi / 72
    half = px * math.sqrt(map_view.SITE_SIZE[2]) / 2
    points = [(b.lon, b.lat) for b in model.bases] + [(f.lon, f.lat) for f in model.militias]
    return [(x - half, y - half, x + half, y + half) for x, y in ax.transData.transform(points)]


def test_the_legend_explains_every_symbol_and_covers_no_marker(busy_day, vector):
    ax = vector.axes[0]
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == 8 and all(o[3] in texts for o in map_view.OUTCOMES.values())
    box = legend.get_window_extent(vector.canvas.get_renderer())
    for x0, y0, x1, y1 in marker_boxes(busy_day, ax):
        assert not (box.x0 < x1 and x0 < box.x1 and box.y0 < y1 and y0 < box.y1)


def png(fig, dpi: float) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return np.asarray(Image.open(buffer).convert("RGB")).astype(int)


@pytest.mark.parametrize("dpi", [map_view.DPI, 150])
def test_the_cached_layers_draw_the_same_picture_as_the_full_figure(busy_day, dpi):
    fast = png(map_view.map_figure(busy_day), dpi)
    full = png(map_view.map_figure(busy_day, raster=False), dpi)
    assert fast.shape == full.shape == (round(map_view.FIGSIZE[1] * dpi),
                                        round(map_view.FIGSIZE[0] * dpi), 3)
    assert np.abs(fast - full).max(axis=2).mean() < 0.5


def test_labels_of_coincident_points_stack_without_overlap():
    xy = np.array([[100.0, 100.0], [101.0, 100.0], [100.0, 101.0], [140.0, 100.0]])
    frame = np.array([0.0, 0.0, 400.0, 300.0])
    taken: list[np.ndarray] = []
    spots = place_point_labels(xy, [5.0] * 4, [(60.0, 14.0)] * 4, frame, taken)
    assert len(taken) == 2  # one block for the three coincident points, one for the fourth
    centres = xy + np.array([s[:2] for s in spots])
    boxes = [(x - 30, y - 7, x + 30, y + 7) for x, y in centres]
    for a, b in itertools.combinations(boxes, 2):
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
