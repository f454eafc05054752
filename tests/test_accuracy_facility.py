"""The facility targets `make accuracy` prints (benchmarks/accuracy_facility.py) hold: annual PUE
of the shipped hot-dry air and nordic liquid sites, the DGX H100 at full load, IT power per GPU
with storage and service nodes, the network's share of capex, and water use."""

from __future__ import annotations

from benchmarks.accuracy_facility import in_range, rows


def test_every_facility_target_is_met():
    found = rows()
    assert len(found) == 8
    missed = [(r["case"], r["predicted"], r["low"], r["high"]) for r in found if not in_range(r)]
    assert not missed, missed
    assert all(r["source"] for r in found)
