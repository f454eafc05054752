"""Context parallelism and TP communication overlap in the layout kernel (costmodel/parallel.py):
CP splits every sequence, so activations per GPU halve at cp 2; its ring passes of keys and
values hide behind attention on NVLink; TP overlap leaves the first of tp chunks exposed."""

from __future__ import annotations

import pytest

from simulator.costmodel.comm import CommModel
from simulator.costmodel.device import DeviceModel
from simulator.costmodel.parallel import evaluate
from simulator.costmodel.precision import Recipe
from simulator.domain.catalog import shipped_catalog
from simulator.domain.layout import ParallelLayout


@pytest.fixture(scope="module")
def setup():
    cat = shipped_catalog()
    h100 = DeviceModel.from_name("h100-sxm")
    dgx = CommModel.for_node(cat.nodes.get("dgx-h100"), cat.accelerators.get("h100-sxm"))
    model = cat.models.get("gpt3-1.3b")
    recipe = Recipe("bf16-amp", "none", "adamw-foreach")

    def run(gpus, global_batch, seq, **degrees):
        layout = ParallelLayout.from_degrees(gpus, 1, **degrees)
        return evaluate(model, h100, gpus, global_batch, seq, layout, recipe, dgx)

    return run


def test_cp_halves_activation_memory_per_gpu(setup):
    # With flash attention every saved activation is linear in the sequence (Korthikanti et
    # al. 2022 eq. 2 without the 5as/h term), so a rank holding s/2 tokens keeps half.
    data = setup(2, 8, 8192, dp=2)
    context = setup(2, 8, 8192, cp=2, dp=1)
    assert context["activations_bytes"] == pytest.approx(0.5 * data["activations_bytes"], rel=1e-9)
    assert data["cp_comm_s"] == 0.0


def test_cp_ring_hides_behind_attention_on_nvlink(setup):
    # One ring step moves a rank's K and V (2 x 4096 tokens x 2048 x 2 bytes = 32 MiB): about
    # 75 us at NVLink's ~450 GB/s, under the ~0.7 ms of a layer's attention forward over
    # 4096 x 8192 tokens (4 x 4096 x 8192 x 2048 = 275 GFLOP at ~400 TFLOP/s).
    assert setup(2, 8, 8192, cp=2, dp=1)["cp_comm_s"] == 0.0


def test_tp_overlap_leaves_the_first_chunk_exposed(setup):
    plain = setup(8, 8, 2048, tp=8, dp=1, tp_comm_overlap=False)
    overlap = setup(8, 8, 2048, tp=8, dp=1, tp_comm_overlap=True)
    # exposed = first chunk (1/tp) + whatever of the rest outlasts the layer's GEMMs
    assert plain["tp_comm_s"] / 8 <= overlap["tp_comm_s"] < plain["tp_comm_s"]
    assert overlap["step_time_s"] < plain["step_time_s"]
    assert plain["step_time_s"] - overlap["step_time_s"] == pytest.approx(
        plain["tp_comm_s"] - overlap["tp_comm_s"], rel=0.2)
