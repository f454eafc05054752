"""report.html's SVG figures: valid XML, labelled axes with units, drawn where the axes say,
deterministic bytes, "no data" for empty inputs, escaped names, long series decimated."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from simulator.report import chart_spec, figure_data, svg_chart, svg_figures

NS = "{http://www.w3.org/2000/svg}"
UNIT = re.compile(r"\(.+\)")  # "power (MW)", "time (days)", "outdoor temperature (°C)"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
HOSTILE = '<b>&"x'


def _svg(figure: chart_spec.Figure, alt: str = "a figure") -> ET.Element:
    return ET.fromstring(svg_figures.render(figure, alt))


def _texts(root: ET.Element, css_class: str) -> list[str]:
    return [el.text or "" for el in root.iter(f"{NS}text") if el.get("class") == css_class]


def _plots(root: ET.Element) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) of each plot frame."""
    return [(float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")),
             float(r.get("y")) + float(r.get("height"))) for r in root.iter(f"{NS}rect") if r.get("class") == "plot"]


def _paths(root: ET.Element, css_class: str) -> list[np.ndarray]:
    """Each path's points as an (n, 2) array (the writer uses only M, H, V-free point lists)."""
    out = []
    for el in root.iter(f"{NS}path"):
        if el.get("class") == css_class:
            values = [float(v) for v in NUMBER.findall(el.get("d"))]
            out.append(np.array(values).reshape(-1, 2))
    return out


@pytest.fixture
def all_figures(timeseries, jobs, progress, costs) -> dict[str, chart_spec.Figure]:
    return {
        "power_stack": figure_data.power_stack(timeseries),
        "pue_and_temperature": figure_data.pue_and_temperature(timeseries),
        "utilisation": figure_data.utilisation(timeseries),
        "job_progress": figure_data.job_progress(jobs, progress),
        "cost_breakdown": figure_data.cost_breakdown(costs),
    }


def test_every_numeric_axis_has_a_label_with_units(all_figures):
    for name, figure in all_figures.items():
        root = _svg(figure)
        assert root.get("role") == "img" and root.get("aria-label") == "a figure"
        assert root.find(f"{NS}title").text == "a figure"
        assert _texts(root, "title"), name
        ylabels = _texts(root, "ylabel") + _texts(root, "y2label")
        assert ylabels, name
        numeric = [y for y in ylabels if y != "cost item"]  # the cost chart's y axis lists items
        assert all(UNIT.search(label) for label in numeric), (name, ylabels)
        xlabels = _texts(root, "xlabel")
        assert len(xlabels) == 1 and UNIT.search(xlabels[0]), (name, xlabels)
        assert _texts(root, "xtick") and (_texts(root, "ytick") or _texts(root, "category")), name
    pue = _svg(all_figures["pue_and_temperature"])
    assert _texts(pue, "y2label") == ["outdoor temperature (°C)"]


def test_power_axis_unit_follows_magnitude(timeseries):
    assert _texts(_svg(figure_data.power_stack(timeseries)), "ylabel") == ["power (MW)"]
    small = timeseries.copy()
    power = [c for c in small.columns if c.endswith("_power_w") or c == "power_envelope_w"]
    small[power] = small[power] / 1000
    root = _svg(figure_data.power_stack(small))
    assert _texts(root, "ylabel") == ["power (kW)"]
    assert _texts(root, "xlabel") == ["time (days)"]
    hours = figure_data.power_stack(timeseries[timeseries["t_s"] <= 12 * 3600.0])
    assert _texts(_svg(hours), "xlabel") == ["time (hours)"]


def test_stacked_power_top_sits_where_the_axis_puts_the_peak(timeseries):
    root = _svg(figure_data.power_stack(timeseries))
    (left, top, right, bottom), = _plots(root)
    # By hand: the axis follows the data up to the 25 MW envelope, plus 5% of the span (26.25 MW),
    # rounded up to a 5 MW tick (26.25 / 8 intervals = 3.3 -> a 5 MW step): 30 MW.
    assert _texts(root, "ytick") == ["0", "5", "10", "15", "20", "25", "30"]
    parts = ["accelerator_power_w", "host_power_w", "network_power_w", "losses_power_w", "cooling_power_w",
             "other_power_w"]
    stack_mw = timeseries[parts].sum(axis=1).to_numpy() / 1e6
    peak_y = top + (bottom - top) * (1 - stack_mw.max() / 30.0)
    areas = _paths(root, "area")  # top layer first, each filled down to 0 MW and painted over
    assert len(areas) == 6  # the fixture has no fan or support power: empty layers are not drawn
    assert areas[0][:, 1].min() == pytest.approx(peak_y, abs=0.06)  # coordinates are rounded to 0.1 px
    # the stack stands on 0 MW and the time axis spans the first interval's start to the end
    assert all(area[:, 1].max() == pytest.approx(bottom, abs=0.06) for area in areas)
    assert areas[0][:, 0].min() == pytest.approx(left) and areas[0][:, 0].max() == pytest.approx(right)
    # the bottom layer (accelerators) peaks at its own peak: 14 MW at the daily maximum
    accelerators_peak = timeseries["accelerator_power_w"].max() / 1e6
    assert areas[-1][:, 1].min() == pytest.approx(top + (bottom - top) * (1 - accelerators_peak / 30), abs=0.06)
    envelope, = _paths(root, "step")
    assert np.allclose(envelope[:, 1], top + (bottom - top) * (1 - 25 / 30), atol=0.06)


def test_figures_are_valid_xml_and_deterministic(all_figures, timeseries):
    for name, figure in all_figures.items():
        first = svg_figures.render(figure, "alt")
        ET.fromstring(first)
        assert svg_figures.render(figure, "alt") == first, name
    shuffled = timeseries.sample(frac=1.0, random_state=1)
    assert svg_figures.render(figure_data.power_stack(shuffled), "alt") == svg_figures.render(
        all_figures["power_stack"], "alt")


def test_empty_inputs_give_no_data_figures(timeseries, jobs, progress):
    one_sample = timeseries.head(1)
    cases = [
        figure_data.power_stack(one_sample),
        figure_data.pue_and_temperature(timeseries.head(0)),
        figure_data.utilisation(one_sample),
        figure_data.requests_over_time(timeseries),  # no services: no request columns
        figure_data.job_progress(jobs.head(0), progress.head(0)),
        figure_data.job_progress(jobs, progress.head(0)),
        figure_data.cost_breakdown({}),
        figure_data.cost_breakdown({"amortised_usd": {"total": 5.0}, "opex_usd": {"energy": None}}),
    ]
    for figure in cases:
        assert isinstance(figure, chart_spec.NoData)
        root = _svg(figure)
        assert _texts(root, "nodata") == ["no data"]
        assert not _plots(root) and not list(root.iter(f"{NS}path"))


def test_hostile_names_are_escaped(jobs, progress, costs):
    jobs = jobs.assign(job=jobs["job"].replace({"llama-8b": HOSTILE}))
    progress = progress.assign(job=progress["job"].replace({"llama-8b": HOSTILE}))
    costs = {**costs, "opex_usd": {**costs["opex_usd"], HOSTILE: 1.0e6}}
    alt = 'alt <with> "quotes" & more'
    progress_svg = svg_figures.render(figure_data.job_progress(jobs, progress), alt)
    root = ET.fromstring(progress_svg)
    assert HOSTILE in _texts(root, "legend")
    assert "<script>alert(1)</script>" in _texts(root, "legend")
    assert root.get("aria-label") == alt
    assert "<b>" not in progress_svg and "<script>" not in progress_svg
    assert f"opex: {HOSTILE}" in _texts(_svg(figure_data.cost_breakdown(costs)), "category")


def test_a_year_of_5_minute_samples_is_decimated_keeping_extremes():
    t = np.arange(1, 365 * 288 + 1) * 300.0
    pue = 1.2 + 0.05 * np.sin(2 * np.pi * t / 86400.0)
    pue[50_000] = 1.9  # one 5-minute spike must survive decimation
    frame = pd.DataFrame({"t_s": t, "accelerator_power_w": np.full(len(t), 80e6), "pue": pue,
                          "ambient_c": 10 + 0 * t})
    page = svg_figures.render(figure_data.pue_and_temperature(frame), "alt")
    root = ET.fromstring(page)
    (left, top, right, bottom), = _plots(root)
    line, = _paths(root, "step")
    assert len(line) <= 2 * (right - left) + 4  # at most two points per pixel column (+ the ends)
    assert len(page) < 60_000
    # the axis: data 1.15 to 1.9, 5% of its span beyond both ends (1.11 to 1.94), then 0.83 / 8
    # intervals = 0.10 -> 0.2 steps, rounded out: 1.0 to 2.0
    assert _texts(root, "ytick") == ["1.0", "1.2", "1.4", "1.6", "1.8", "2.0"]
    assert line[:, 1].min() == pytest.approx(bottom - (bottom - top) * (1.9 - 1.0) / 1.0, abs=0.06)
    assert np.all(np.diff(line[:, 0]) >= 0)  # still in time order
    power = svg_figures.render(figure_data.power_stack(frame), "alt")
    assert len(power) < 10_000  # a constant stack collapses to a rectangle


@pytest.mark.parametrize(("span", "integer", "step"), [(21.4, False, 5.0), (1.26, False, 0.2),
                                                       (0.22, False, 0.05), (1.05, True, 1.0), (30.0, False, 5.0)])
def test_nice_steps_are_1_2_5(span, integer, step):
    assert svg_chart.nice_step(span, integer=integer) == pytest.approx(step)


def test_decimation_keeps_each_columns_extremes_in_order():
    px = np.array([0.1, 0.2, 0.3, 0.9, 1.1, 1.5, 1.7, 2.2])
    y = np.array([5.0, 1.0, 9.0, 4.0, 3.0, np.nan, 7.0, 2.0])
    # column 0: first 5 (index 0), low 1 (1), high 9 (2); column 1: low 3 (4), high 7 (6), the gap
    # starting at 5; column 2: the last point (7)
    assert svg_chart.keep_indices(px, y).tolist() == [0, 1, 2, 4, 5, 6, 7]


def test_cost_bars_are_as_long_as_their_values():
    costs = {"amortised_usd": {"servers": 4.1e8, "total": 4.1e8}, "opex_usd": {"energy": 5e7, "credits": -3e7}}
    root = _svg(figure_data.cost_breakdown(costs))
    (left, _, right, _), = _plots(root)
    # the axis runs from 1.2x the most negative item to 1.2x the largest: -36M to 492M USD
    px_per_usd = (right - left) / (492e6 + 36e6)
    zero = left + 36e6 * px_per_usd
    bars = [(float(r.get("x")), float(r.get("width"))) for r in root.iter(f"{NS}rect") if r.get("class") == "bar"]
    expected = [(zero, 4.1e8 * px_per_usd), (zero, 5e7 * px_per_usd), (zero - 3e7 * px_per_usd, 3e7 * px_per_usd)]
    assert bars == [(pytest.approx(x, abs=0.06), pytest.approx(w, abs=0.11)) for x, w in expected]
    assert _texts(root, "category") == ["capex: servers", "opex: energy", "opex: credits"]
    assert _texts(root, "value") == ["$410M", "$50.0M", "-$30.0M"]
    assert "$0" in _texts(root, "xtick")
