"""Independent check: Megatron-LM (Narayanan et al., SC21) Table 1, predicted within 10% per row."""

from __future__ import annotations

import pytest

from benchmarks.accuracy_megatron import TABLE1, paper_flops, rows


def test_paper_flops_formula_by_hand():
    # 1.7B row: 96 * 512 * 2048 * 24 * 2304^2 * (1 + 2048/13824 + 51200/884736)
    expected = 96 * 512 * 2048 * 24 * 2304**2 * (1 + 2048 / (6 * 2304) + 51200 / (16 * 24 * 2304))
    assert paper_flops(512, 24, 2304) == pytest.approx(expected)


@pytest.fixture(scope="module")
def predicted():
    return rows()


def test_every_row_is_predicted(predicted):
    assert len(predicted) == len(TABLE1)


def test_each_row_within_ten_percent(predicted):
    for row in predicted:
        error = row["predicted"] / row["published"] - 1
        assert abs(error) <= 0.10, (row["case"], row["predicted"], row["published"])


def test_chosen_layouts_fit_in_memory(predicted):
    from simulator.costmodel import memory as mem

    usable = mem.usable_bytes(80e9)
    for row in predicted:
        assert row["breakdown"]["peak_memory_bytes"] <= usable, row["case"]
