"""Figures: labelled axes with units, deterministic PNG bytes, "no data" for empty inputs."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from matplotlib.figure import Figure

from simulator.report import figures
from simulator.report.figures import png_bytes

UNIT = re.compile(r"\(.+\)")  # "power (MW)", "time (days)", "outdoor temperature (°C)"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def all_figures(timeseries, jobs, progress, costs) -> dict[str, Figure]:
    return {
        "power_stack": figures.power_stack(timeseries),
        "pue_and_temperature": figures.pue_and_temperature(timeseries),
        "utilisation": figures.utilisation(timeseries),
        "job_progress": figures.job_progress(jobs, progress),
        "cost_breakdown": figures.cost_breakdown(costs),
    }


def test_every_numeric_axis_has_a_label_with_units(all_figures):
    for name, fig in all_figures.items():
        axes = fig.axes
        assert axes, name
        assert axes[0].get_title(), name
        for ax in axes:
            ylabel = ax.get_ylabel()
            assert ylabel, name
            if name != "cost_breakdown":  # its y axis lists cost items
                assert UNIT.search(ylabel), (name, ylabel)
        xlabels = [ax.get_xlabel() for ax in axes if ax.get_xlabel()]
        assert xlabels, name
        assert all(UNIT.search(label) for label in xlabels), (name, xlabels)


def test_power_axis_unit_follows_magnitude(timeseries):
    assert figures.power_stack(timeseries).axes[0].get_ylabel() == "power (MW)"
    small = timeseries.copy()
    power = [c for c in small.columns if c.endswith("_power_w") or c == "power_envelope_w"]
    small[power] = small[power] / 1000
    assert figures.power_stack(small).axes[0].get_ylabel() == "power (kW)"
    assert figures.power_stack(timeseries).axes[0].get_xlabel() == "time (days)"


def test_figures_fit_a_1000px_page_and_render_deterministically(all_figures, timeseries):
    for name, fig in all_figures.items():
        width_px = fig.get_figwidth() * figures.DPI
        assert width_px <= 1000, name
        first = png_bytes(fig)
        assert first.startswith(PNG_MAGIC), name
        assert png_bytes(fig) == first, name
    again = png_bytes(figures.power_stack(timeseries))
    assert again == png_bytes(all_figures["power_stack"])
    assert b"Software" not in again


def test_empty_inputs_give_no_data_figures(timeseries, jobs, progress):
    one_sample = timeseries.head(1)
    no_jobs = jobs.head(0)
    cases = [
        figures.power_stack(one_sample),
        figures.pue_and_temperature(timeseries.head(0)),
        figures.utilisation(one_sample),
        figures.job_progress(no_jobs, progress.head(0)),
        figures.job_progress(jobs, progress.head(0)),
        figures.cost_breakdown({}),
        figures.cost_breakdown({"amortised_usd": {"total": 5.0}, "opex_usd": {"energy": None}}),
    ]
    for fig in cases:
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert texts == ["no data"]
        assert png_bytes(fig).startswith(PNG_MAGIC)


def test_job_names_are_not_read_as_mathtext(jobs, progress):
    fig = figures.job_progress(jobs, progress)
    labels = fig.legends[0].get_texts()
    assert any(t.get_text() == "<script>alert(1)</script>" for t in labels)
    png_bytes(fig)  # a "$...$" name must not break rendering


def test_missing_columns_still_plot(timeseries):
    partial = timeseries.drop(columns=["cooling_power_w", "ambient_c"])
    assert png_bytes(figures.power_stack(partial)).startswith(PNG_MAGIC)
    assert png_bytes(figures.pue_and_temperature(partial)).startswith(PNG_MAGIC)


def test_progress_without_finished_jobs(jobs, progress):
    running = jobs.assign(end_s=float("nan"))
    fig = figures.job_progress(running, progress)
    assert png_bytes(fig).startswith(PNG_MAGIC)
    assert fig.axes[0].get_ylabel() == "tokens trained (billions)"


def test_unsorted_timeseries_is_sorted(timeseries):
    shuffled = timeseries.sample(frac=1.0, random_state=1)
    assert png_bytes(figures.power_stack(shuffled)) == png_bytes(figures.power_stack(timeseries))
    assert isinstance(shuffled, pd.DataFrame)
