"""benchmarks/accuracy_scale.py and accuracy_korthikanti.py: predicted vs published at-scale
training, Korthikanti et al. 2022 Table 5 and Figure 1, within the errors the README quotes."""

from __future__ import annotations

import pytest

from benchmarks.accuracy_korthikanti import memory_rows, step_rows
from benchmarks.accuracy_scale import CASES, eval_batches, megatron_flops, mlperf_calibration, palm_flops, rows, summary


@pytest.fixture(scope="module")
def scale():
    return rows()


def test_megatron_flops_is_korthikanti_eq7_for_gpt():
    # Korthikanti et al. 2022 eq. 7: 72 B L s h^2 (1 + s/6h + V/12hL) for a GPT layer (MHA, 4h MLP)
    from simulator.domain.specs import ModelSpec

    m = ModelSpec(name="g", layers=96, hidden=12288, heads=96, vocab=51200)
    b, s = 1536, 2048
    expected = 72 * b * 96 * s * 12288**2 * (1 + s / (6 * 12288) + 51200 / (12 * 12288 * 96))
    assert megatron_flops(m, b, s) == pytest.approx(expected, rel=1e-12)


def test_palm_flops_by_hand():
    from simulator.costmodel.transformer import param_count
    from simulator.domain.catalog import shipped_catalog

    m = shipped_catalog().models.get("llama3-405b")
    expected = 2048 * 8192 * (6 * param_count(m) + 12 * 126 * 128 * 128 * 8192)
    assert palm_flops(m, 2048, 8192) == pytest.approx(expected, rel=1e-12)


def test_at_scale_rows_cover_every_source(scale):
    ids = [r["id"] for r in scale]
    assert len(ids) == len(CASES) >= 8
    for prefix in ("llama3_405b", "mcore_weak", "nemo2407", "mlperf_v3.0", "mlperf_v4.0"):
        assert any(i.startswith(prefix) for i in ids), prefix
    assert any(i.endswith(".ttt") for i in ids)


def test_mlperf_evaluation_is_whole_padded_global_batches():
    # 5,662 validation sequences (config_common.sh), the last global batch padded: GBS 2,048 and
    # 2,688 both take 3 batches, GBS 3,072 takes 2
    assert [eval_batches(g) for g in (2048, 2688, 3072, 5662, 5661)] == [3, 3, 2, 1, 2]


def test_mlperf_run_overhead_is_the_calibration_logs_residual():
    # v3.0 dgxh100_n64 logs (mlperf_gpt3.csv): 60 x time to train - steps x median step - eval total
    runs = [(64.288, 12.0827, 365.28), (64.264, 12.0713, 367.81), (64.254, 12.0741, 364.5)]
    expected = sum(60 * t - 288 * s - e for t, s, e in runs) / 3
    assert mlperf_calibration("mlperf-2023")[1] == pytest.approx(expected, rel=1e-9)


def test_at_scale_errors_within_readme(scale):
    # README accuracy table: at-scale training, mean 5% and every predicted row within 10%
    mean, worst, n = summary(scale)
    assert n >= 8
    assert mean <= 0.05 and worst <= 0.10, (mean, worst)
    # MLPerf time to train, evaluations included, within 10% at every scale (issue 11's target)
    ttt = [r for r in scale if r["id"].endswith(".ttt")]
    assert len(ttt) >= 3 and all(abs(r["error"]) <= 0.10 for r in ttt), ttt
    # the Llama 3 405B rows with the real 126-layer model and 7 + 14 x 8 + 7 layout: within 5%
    for r in scale:
        if r["id"].startswith("llama3_405b"):
            assert "f7l7" in r["layout"] and abs(r["error"]) <= 0.05, r


def test_calibration_rows_are_matched(scale):
    # each fitted stack reproduces the run it was fitted to (benchmarks/calibrate_stacks.py)
    for r in scale:
        if r["calibrated"]:
            assert abs(r["error"]) <= 0.005, r


def test_korthikanti_table5_within_targets():
    errors = [abs(r["predicted"] / r["published"] - 1) for r in step_rows()]
    assert len(errors) == 8
    assert sum(errors) / len(errors) <= 0.04 and max(errors) <= 0.09


def test_korthikanti_figure1_activation_memory_within_5_percent():
    for r in memory_rows():
        assert abs(r["predicted"] / r["published"] - 1) <= 0.05, r
