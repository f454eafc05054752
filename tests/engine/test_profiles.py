"""Hourly temperature, price and carbon profiles; strict CSV reading."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.domain.catalog import shipped_catalog
from simulator.domain.specs import ClimateSpec
from simulator.engine.profiles import (
    ar1_filter,
    ar1_noise,
    hourly_carbon_kg_per_j,
    hourly_price_usd_per_j,
    hourly_temperature_c,
    load_csv_profile,
)
from simulator.errors import InputError
from simulator.scenario.schema import (
    BuiltinClimate,
    ConstantClimate,
    CsvProfile,
    Electricity,
    SolarDipProfile,
    TimeOfUseProfile,
)

YEAR_H = 8760
PER_KWH = 1 / 3.6e6


def rng(seed=0):
    return np.random.default_rng(seed)


def write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def csv_error(path, column="value"):
    with pytest.raises(InputError) as info:
        load_csv_profile(path, column)
    return str(info.value), info.value.problems


# ----------------------------------------------------------------------------- temperature
def quiet_catalog():
    """The shipped catalog plus a noiseless climate with round numbers."""
    spec = ClimateSpec(name="test-quiet", mean=10.0, annual_amplitude=5.0, diurnal_amplitude=3.0,
                       warmest_day=200, warmest_hour=15.0, noise_std=0.0, noise_corr_hours=10.0,
                       source="test")
    return shipped_catalog().with_entries({"climates": [spec]})


def test_constant_climate():
    got = hourly_temperature_c(ConstantClimate(temperature=21.5), 5, 1, 0.0, rng())
    assert got.tolist() == [21.5] * 5


def test_builtin_cosines_peak_and_trough():
    climate, catalog = BuiltinClimate(name="test-quiet"), quiet_catalog()
    # Day 200 at 15:00: both cosines near +1 (annual phase 3 h off noon): 10 + 5 + 3.
    warm = hourly_temperature_c(climate, 1, 200, 15.0, rng(), catalog)
    assert warm[0] == pytest.approx(18.0, abs=1e-3)
    # Day 17 at 03:00 is 183 days and 12 hours away: both cosines near -1: 10 - 5 - 3.
    cold = hourly_temperature_c(climate, 1, 17, 3.0, rng(), catalog)
    assert cold[0] == pytest.approx(2.0, abs=1e-3)
    # Day 109 at 06:00 is a quarter year (91.25 days) before noon on day 200: the annual term is
    # 0 and the diurnal one 3 cos(2 pi (6 - 15) / 24) = -2.1213.
    spring = hourly_temperature_c(climate, 1, 109, 6.0, rng(), catalog)
    assert spring[0] == pytest.approx(7.8787, abs=1e-3)
    # Averaged over whole days the diurnal cosine peaks at 15:00.
    days = hourly_temperature_c(climate, 24 * 30, 1, 0.0, rng(), catalog).reshape(30, 24)
    assert int(np.argmax(days.mean(axis=0))) == 15


def test_same_seed_same_temperatures_different_seed_different():
    climate = BuiltinClimate(name="temperate")
    a = hourly_temperature_c(climate, 1000, 1, 0.0, rng(7))
    b = hourly_temperature_c(climate, 1000, 1, 0.0, rng(7))
    c = hourly_temperature_c(climate, 1000, 1, 0.0, rng(8))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name", [spec.name for spec in shipped_catalog().climates.entries])
def test_builtin_climates_match_catalog_mean_over_a_year(name):
    spec = shipped_catalog().climates.get(name)
    year = hourly_temperature_c(BuiltinClimate(name=name), YEAR_H, 1, 0.0, rng(0))
    assert abs(year.mean() - spec.mean) < 0.5
    # and the season is the right way round: the warmest month is warmer than the coldest
    months = year[: 360 * 24].reshape(12, -1).mean(axis=1)
    assert months.max() - months.min() > spec.annual_amplitude


def test_climate_alias_resolves():
    a = hourly_temperature_c(BuiltinClimate(name="phoenix"), 48, 1, 0.0, rng(3))
    b = hourly_temperature_c(BuiltinClimate(name="hot-dry"), 48, 1, 0.0, rng(3))
    assert np.array_equal(a, b)


def test_ar1_noise_std_and_lag1_autocorrelation():
    x = ar1_noise(200_000, 2.0, 5.0, rng(11))
    phi = math.exp(-1 / 5)  # 0.81873
    assert x.std() == pytest.approx(2.0, rel=0.03)
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert lag1 == pytest.approx(phi, abs=0.005)
    # lag-24 autocorrelation of an AR(1) is phi**24 (~0.0082), i.e. no memory a day later
    assert np.corrcoef(x[:-24], x[24:])[0, 1] == pytest.approx(phi**24, abs=0.01)


def test_ar1_first_value_is_stationary():
    first = np.array([ar1_noise(2, 3.0, 48.0, rng(seed))[0] for seed in range(2000)])
    assert first.std() == pytest.approx(3.0, rel=0.06)


# ----------------------------------------------------------------------------- price and carbon
def test_flat_price_and_carbon():
    elec = Electricity(price=1e-8, carbon=2e-7)
    assert hourly_price_usd_per_j(elec, 3, 1, 0.0).tolist() == [1e-8] * 3
    assert hourly_carbon_kg_per_j(elec, 3, 1, 0.0).tolist() == [2e-7] * 3


def test_time_of_use_weekdays_and_weekend():
    # a unit base price (model_construct: the shape of the profile, not a realistic price)
    elec = Electricity.model_construct(price=1.0, price_profile=TimeOfUseProfile())  # 16-21 h at 2x, else 0.8x
    monday = hourly_price_usd_per_j(elec, 24, 1, 0.0)  # day 1 is a Monday
    assert monday[15:22].tolist() == [0.8, 2.0, 2.0, 2.0, 2.0, 2.0, 0.8]
    assert (monday == 2.0).sum() == 5
    saturday = hourly_price_usd_per_j(elec, 24, 6, 0.0)
    assert saturday.tolist() == [0.8] * 24
    next_monday = hourly_price_usd_per_j(elec, 1, 8, 17.0)
    assert next_monday.tolist() == [2.0]
    every_day = Electricity.model_construct(price=1.0, price_profile=TimeOfUseProfile(weekend_offpeak=False))
    assert hourly_price_usd_per_j(every_day, 1, 6, 17.0).tolist() == [2.0]
    # a week starting on Friday 20:00: the first hour is peak, the weekend is all off-peak
    week = hourly_price_usd_per_j(elec, 168, 5, 20.0)
    assert week[0] == 2.0
    assert (week[4:52] == 0.8).all()


def test_solar_dip_carbon():
    elec = Electricity.model_construct(carbon=1.0, carbon_profile=SolarDipProfile(depth=0.4))
    day = hourly_carbon_kg_per_j(elec, 24, 1, 0.0)
    assert day[12] == pytest.approx(0.6)
    assert day[9] == pytest.approx(0.7171573, rel=1e-6)  # 1 - 0.4 sin(pi / 4)
    assert day[3] == 1.0
    assert day[18] == pytest.approx(1.0)
    assert day[20] == 1.0


def test_csv_price_in_usd_per_kwh_and_carbon_in_g_per_kwh(tmp_path):
    write(tmp_path, "hour,value\n0,0.10\n1,0.20\n", "price.csv")
    write(tmp_path, "hour,g\n0,350\n1,100\n", "carbon.csv")
    elec = Electricity.model_construct(price=1.0, price_profile=CsvProfile(path="price.csv"),
                       carbon=1.0, carbon_profile=CsvProfile(path="carbon.csv", column="g"))
    price = hourly_price_usd_per_j(elec, 3, 1, 0.0, tmp_path)
    assert price.tolist() == pytest.approx([0.10 * PER_KWH, 0.20 * PER_KWH, 0.10 * PER_KWH])
    carbon = hourly_carbon_kg_per_j(elec, 2, 1, 0.0, tmp_path)
    assert carbon.tolist() == pytest.approx([9.7222222e-8, 2.7777778e-8], rel=1e-7)


def test_csv_profile_tiles_by_calendar_hour(tmp_path):
    write(tmp_path, "value\n" + "\n".join(str(h) for h in range(24)) + "\n", "day.csv")
    climate = CsvProfile(path="day.csv")
    got = hourly_temperature_c(climate, 50, 1, 5.0, rng(), base_dir=tmp_path)
    assert got.tolist() == [float((5 + k) % 24) for k in range(50)]
    write(tmp_path, "value\n" + "\n".join(str(h) for h in range(48)) + "\n", "two.csv")
    got = hourly_temperature_c(CsvProfile(path="two.csv"), 3, 2, 23.0, rng(), base_dir=tmp_path)
    assert got.tolist() == [47.0, 0.0, 1.0]  # day 2 23:00 is row 47, then wrap


def test_csv_profile_must_stay_in_scenario_folder(tmp_path):
    inner = tmp_path / "scenario"
    inner.mkdir()
    write(tmp_path, "value\n1\n", "outside.csv")
    with pytest.raises(InputError, match="outside the scenario's folder"):
        hourly_temperature_c(CsvProfile(path="../outside.csv"), 2, 1, 0.0, rng(), base_dir=inner)


def test_csv_temperature_out_of_range_suggests_unit(tmp_path):
    write(tmp_path, "value\n68\n75.5\n", "f.csv")
    with pytest.raises(InputError) as info:
        hourly_temperature_c(CsvProfile(path="f.csv"), 2, 1, 0.0, rng(), base_dir=tmp_path)
    text = str(info.value)
    assert f"{tmp_path / 'f.csv'}:2: column 'value': 68 is outside" in text
    assert "degrees C" in text
    assert len(info.value.problems) == 2


# ----------------------------------------------------------------------------- strict CSV
def test_csv_reads_values_with_bom_crlf_and_blank_lines(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfhour, value\r\n0, 1.5\r\n\r\n1,-2e1\r\n2,.25\r\n")
    assert load_csv_profile(path).tolist() == [1.5, -20.0, 0.25]


def test_csv_non_numeric_value_names_file_line_column_value(tmp_path):
    path = write(tmp_path, "hour,value\n0,1\n1,abc\n2,3\n")
    text, problems = csv_error(path)
    assert text == f"{path}:3: column 'value': 'abc' is not a number"
    assert problems[0].line == 3


def test_csv_nan_and_inf_rejected(tmp_path):
    path = write(tmp_path, "value\n1\n2\n3\nnan\ninf\n1e999\n")
    text, problems = csv_error(path)
    assert [p.path for p in problems] == [f"{path}:5", f"{path}:6", f"{path}:7"]
    assert "'nan' is not a finite number" in text
    assert "'inf' is not a finite number" in text
    assert "'1e999' is not a finite number" in text


def test_csv_missing_column(tmp_path):
    path = write(tmp_path, "hour,temp\n0,1\n")
    text, _ = csv_error(path)
    assert text == f"{path}:1: no column 'value' in the header row (columns found: 'hour', 'temp')"


def test_csv_empty_file_and_header_only(tmp_path):
    text, _ = csv_error(write(tmp_path, "", "empty.csv"))
    assert text.startswith(f"{tmp_path / 'empty.csv'}:1: file is empty")
    text, _ = csv_error(write(tmp_path, "hour,value\n", "header.csv"))
    assert text == f"{tmp_path / 'header.csv'}:2: no data rows after the header"


def test_csv_non_utf8_bytes_name_the_line(tmp_path):
    path = write(tmp_path, b"value\n1\n2\n21.5\xb0C\n")  # latin-1 degree sign on line 4
    text, _ = csv_error(path)
    assert text.startswith(f"{path}:4: not UTF-8: byte 0xb0")


def test_csv_hour_column_must_count_from_zero(tmp_path):
    path = write(tmp_path, "hour,value\n0,1\n1,2\n3,4\n4,5\n")
    text, problems = csv_error(path)
    assert len(problems) == 1  # reported once, not for every later row
    assert text.startswith(f"{path}:4: column 'hour': expected 2")
    assert "got '3'" in text


def test_csv_short_row_and_duplicate_header(tmp_path):
    text, _ = csv_error(write(tmp_path, "hour,value\n0,1\n1\n", "short.csv"))
    assert text.startswith(f"{tmp_path / 'short.csv'}:3: row has 1 field(s)")
    text, _ = csv_error(write(tmp_path, "value,value\n1,2\n", "dup.csv"))
    assert "column 'value' appears more than once" in text


def test_csv_problems_collected_and_capped(tmp_path):
    path = write(tmp_path, "value\n" + "x\n" * 25)
    _, problems = csv_error(path)
    assert len(problems) == 21
    assert [p.line for p in problems[:20]] == list(range(2, 22))
    assert problems[20].message == "5 more problems not listed"


def test_csv_missing_file(tmp_path):
    text, _ = csv_error(tmp_path / "nope.csv")
    assert "cannot read the file" in text


def test_bad_window_arguments():
    with pytest.raises(ValueError, match="hours"):
        hourly_temperature_c(ConstantClimate(temperature=1.0), 0, 1, 0.0, rng())
    with pytest.raises(ValueError, match="start_hour"):
        hourly_price_usd_per_j(Electricity(), 1, 1, 24.0)


def test_ar1_filter_is_the_same_bits_as_scipy_lfilter():
    """The exact recursion that replaced scipy.signal.lfilter (2 s of imports) gives the same bits."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(7)
    for n in (1, 2, 24, 8760):
        for phi in (0.0, 0.5, 0.97):
            e = rng.standard_normal(n) * 3.0
            assert ar1_filter(e, phi).tobytes() == lfilter([1.0], [1.0, -phi], e).tobytes()
    x = ar1_filter(np.array([1.0, 0.0, 0.0]), 0.5)      # by hand: 1, 0.5, 0.25
    assert x.tolist() == [1.0, 0.5, 0.25]
