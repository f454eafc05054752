"""Server fans: the DGX H100 at full load lands on its user guide's 10.2 kW maximum at the
highest allowed inlet, and liquid or immersion cooling sheds the fans."""

from __future__ import annotations

import pytest

from simulator.domain.catalog import shipped_catalog
from simulator.engine.fans import fan_power_w, fan_speed

DGX = shipped_catalog().nodes.get("dgx-h100")


def test_dgx_h100_fans_at_full_load():
    # 1105 CFM at 80% PWM = 0.5215 m3/s; x 620 Pa / 0.32 = 1010 W at 80% speed (cube law).
    assert float(fan_power_w(DGX.fans, 1.0, 25.0)) == pytest.approx(0.5215 * 620 / 0.32, rel=2e-3)
    node_25 = 8 * 700 + DGX.host_power + float(fan_power_w(DGX.fans, 1.0, 25.0))
    node_30 = 8 * 700 + DGX.host_power + float(fan_power_w(DGX.fans, 1.0, 30.0))
    assert 10_000 <= node_25 <= 10_200
    assert node_30 == pytest.approx(10_200, abs=10)        # the guide's maximum, at its 30 C limit


def test_fan_speed_follows_load_and_inlet_and_is_bounded():
    fans = DGX.fans
    assert float(fan_speed(fans, 0.0, 25.0)) == pytest.approx(0.3)
    assert float(fan_speed(fans, 0.5, 25.0)) == pytest.approx(0.55)
    assert float(fan_speed(fans, 1.0, 35.0)) == pytest.approx(0.8 + 10 * 0.0092)
    assert float(fan_speed(fans, 1.0, 60.0)) == 1.0
    assert float(fan_speed(fans, 0.0, 10.0)) == pytest.approx(0.3)      # never below idle


def test_server_power_sensitivity_to_inlet_matches_coroama():
    # Coroama (2025): 0.35-0.5% of server power per degree C between 23 and 30 C.
    low = 8 * 700 + DGX.host_power + float(fan_power_w(DGX.fans, 1.0, 24.0))
    high = 8 * 700 + DGX.host_power + float(fan_power_w(DGX.fans, 1.0, 30.0))
    per_c = (high / low - 1.0) / 6.0
    assert 0.003 <= per_c <= 0.005


def test_liquid_and_immersion_shed_the_fans():
    full = float(fan_power_w(DGX.fans, 1.0, 25.0))
    # Cold plates take 80%: the fans move a fifth of the air, floored at idle speed.
    liquid = float(fan_power_w(DGX.fans, 1.0, 25.0, "liquid", 0.2))
    assert liquid == pytest.approx(DGX.fans.max_power * 0.3 ** 3)
    assert liquid < 0.06 * full
    assert float(fan_power_w(DGX.fans, 1.0, 25.0, "immersion")) == 0.0
    assert float(fan_power_w(DGX.fans, 1.0, 25.0, "rear-door")) == full
    assert float(fan_power_w(None, 1.0, 25.0)) == 0.0
