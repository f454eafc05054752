"""The safe JSON reader (domain/json_io.py): what JSON may not hold is reported by path, once per
problem, never raised as RecursionError, ValueError or MemoryError, and in time linear in the text."""

from __future__ import annotations

import json
import time

import pytest

from simulator.domain import json_io
from simulator.domain.json_io import flat_numbers, parse_json, read_json
from simulator.errors import InputError


def _lines(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_json(text, "b.json")
    return info.value.lines()


def test_plain_json_comes_back_as_plain_data():
    data = parse_json('{"a": [1, 2.5, null, true, "x"], "b": {"c": -3e-5}}')
    assert data == {"a": [1, 2.5, None, True, "x"], "b": {"c": -3e-5}}
    assert type(data) is dict and type(data["b"]) is dict  # no decoder helper types leak out


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_named_by_path(constant):
    (line,) = _lines(f'{{"ok": 1, "m": {{"pue_mean": {constant}}}}}')
    assert line.startswith("b.json: m.pue_mean: ")
    assert "not a finite number" in line


def test_a_number_beyond_a_double_is_refused_not_read_as_infinity():
    (line,) = _lines('{"total_usd": 1e400}')
    assert "total_usd: too large for a number" in line


def test_a_thousand_digit_integer_is_refused_without_converting_it():
    (line,) = _lines('{"n": ' + "9" * 5000 + "}")
    assert "n: a number with 5000 digits; at most 100 digits" in line and "overflows" in line


def test_every_problem_is_listed_at_once():
    lines = _lines('{"a": 1, "b": [1, Infinity], "a": 2, "c": NaN}')
    assert len(lines) == 3
    assert any("b[1]:" in line for line in lines)
    assert any("a: duplicate key" in line for line in lines)


def test_nesting_thousands_deep_is_an_input_error_not_a_recursion_error():
    text = "[" * 100_000 + "]" * 100_000
    (line,) = _lines(text)
    assert line == f"b.json: nested 100000 levels deep; at most {json_io.MAX_DEPTH} levels are accepted"


def test_nesting_just_past_the_limit_is_refused_and_at_the_limit_read():
    depth = json_io.MAX_DEPTH + 1
    (line,) = _lines('{"a": ' * depth + "1" + "}" * depth)
    assert f"nested {depth} levels deep" in line
    ok = parse_json('{"a": ' * json_io.MAX_DEPTH + "1" + "}" * json_io.MAX_DEPTH)
    for _ in range(json_io.MAX_DEPTH):
        ok = ok["a"]  # type: ignore[index]
    assert ok == 1


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert json_io.nesting_depth('{"a": "[[[[{{{{\\"[[", "b": [1]}') == 2
    assert parse_json('{"k": "' + "[" * 1000 + '"}') == {"k": "[" * 1000}


def test_is_number_is_finite_and_not_boolean():
    assert json_io.is_number(1) and json_io.is_number(-2.5e-300)
    assert not any(json_io.is_number(v) for v in (True, False, None, "1", float("nan"), float("inf")))


def test_located_folds_the_file_and_line_into_each_path():
    with pytest.raises(InputError) as info:
        parse_json('{"a": NaN,\n "b": 1e999}', "run/summary.json")
    folded = json_io.located(info.value)
    err = InputError(folded)
    assert [line.split(": ")[:2] for line in err.lines()] == [["run/summary.json", "a"],
                                                              ["run/summary.json", "b"]]
    with pytest.raises(InputError) as syntax:
        parse_json("{\n\n]", "x.json")
    assert InputError(json_io.located(syntax.value)).lines()[0].startswith("x.json:3: not valid JSON")


def test_a_long_key_is_refused_with_its_length():
    (line,) = _lines('{"' + "k" * 100_000 + '": 1}')
    assert "a key of 100,000 characters; keys may have at most 256" in line


def test_a_million_item_list_is_refused_quickly_by_count():
    text = "[" + ",".join(["1"] * 1_000_000) + "]"
    start = time.process_time()
    (line,) = _lines(text)
    assert f"more than {json_io.MAX_NODES:,} values" in line
    assert time.process_time() - start < 5  # CPU time: linear, a few hundred ms on one core


def test_syntax_errors_give_line_and_column():
    (line,) = _lines('{\n  "a": 1,\n  "b": \n}')
    assert line.startswith("b.json:4: ")
    assert "not valid JSON" in line and "line 4" in line


def test_a_file_too_large_or_not_utf8_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(" " * 2000, encoding="utf-8")
    with pytest.raises(InputError, match="limited to 1000 bytes"):
        read_json(big, max_bytes=1000)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"caf\xe9": 1}')
    with pytest.raises(InputError, match="not UTF-8"):
        read_json(latin)
    with pytest.raises(InputError, match="is a folder"):
        read_json(tmp_path)
    with pytest.raises(InputError, match="file not found"):
        read_json(tmp_path / "missing.json")


def test_python_writes_nan_but_reads_it_back_only_through_the_reader_as_an_error(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"x": float("nan")}), encoding="utf-8")  # json.dumps writes NaN
    with pytest.raises(InputError, match="x: NaN is not a finite number"):
        read_json(path)


KNOWN = ("pue_mean", "total_usd")


def test_flat_numbers_accepts_numbers_and_null():
    assert flat_numbers({"pue_mean": 1.2, "total_usd": None}, KNOWN) == {"pue_mean": 1.2, "total_usd": None}


@pytest.mark.parametrize(("value", "why"), [(True, "a boolean (true)"), ("1.2", "a string"),
                                            ([1], "a list"), ({"a": 1}, "a mapping")])
def test_flat_numbers_refuses_what_is_not_a_number(value, why):
    with pytest.raises(InputError) as info:
        flat_numbers({"pue_mean": value}, KNOWN, source="b.json")
    (line,) = info.value.lines()
    assert line.startswith("b.json: pue_mean: expected a number or null, got " + why)


def test_flat_numbers_refuses_unknown_names_and_a_mapping_with_none_known():
    with pytest.raises(InputError) as info:
        flat_numbers({"pue": 1.0}, KNOWN)
    assert "pue: unknown metric (known: pue_mean, total_usd)" in str(info.value)
    with pytest.raises(InputError, match="none of the known metrics"):
        flat_numbers({}, KNOWN)
    with pytest.raises(InputError, match="expected a mapping of metric names to numbers, got a list"):
        flat_numbers([1, 2], KNOWN)


def test_a_sweep_cache_entry_is_read_through_the_safe_reader_and_a_bad_one_is_a_miss(tmp_path):
    """A damaged or untrustworthy cache entry is recomputed, never trusted and never a crash."""
    from simulator.sweep.cache import ResultCache

    cache = ResultCache(tmp_path)
    cache.put("k", {"summary": {"pue_mean": 1.2}, "costs": {"total_usd": 3.0}})
    assert cache.get("k") == {"summary": {"pue_mean": 1.2}, "costs": {"total_usd": 3.0}}
    for text in ('{"summary": {"pue_mean": NaN}}', "[" * 10_000, "[1, 2]", '{"a": 1, "a": 2}', "{"):
        (tmp_path / "k.json").write_text(text, encoding="utf-8")
        assert cache.get("k") is None, text
    (tmp_path / "k.json").write_bytes(b"\xff\xfe{}")
    assert cache.get("k") is None
