"""The bounded two-column CSV reader (domain/csvfile.load_csv_pairs) behind a service's
``lengths_csv``: every problem by file line and column, and the row and size limits checked
while reading, not after."""

from __future__ import annotations

import pytest

from simulator.costmodel.serving_workload import read_lengths_csv
from simulator.domain import csvfile
from simulator.domain.csvfile import load_csv_pairs
from simulator.errors import InputError

NAMES = ("prompt", "output")


def _lines(path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_csv_pairs(path, NAMES, (1.0, 1e7))
    return info.value.lines()


def test_pairs_with_or_without_a_header(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("prompt,output\n512,64\n\n2048,256\n", encoding="utf-8")
    assert load_csv_pairs(path, NAMES, (1.0, 1e7)).tolist() == [[512.0, 64.0], [2048.0, 256.0]]
    path.write_text("\ufeff7,9\n", encoding="utf-8")  # a byte-order mark, no header
    assert load_csv_pairs(path, NAMES, (1.0, 1e7)).tolist() == [[7.0, 9.0]]


def test_every_bad_row_is_named_by_line_and_column(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("512,64\n0,5\n3.5,1\n1,2,3\n9,1e8\n", encoding="utf-8")
    lines = _lines(path)
    assert lines == [f"{path}:2: column 'prompt': 0 is not a whole number from 1 to 10,000,000",
                     f"{path}:3: column 'prompt': 3.5 is not a whole number from 1 to 10,000,000",
                     f"{path}:4: row has 3 field(s); expected 2 (prompt, output)",
                     f"{path}:5: column 'output': 1e+08 is not a whole number from 1 to 10,000,000"]


def test_the_row_limit_stops_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfile, "MAX_CSV_ROWS", 3)
    path = tmp_path / "l.csv"
    path.write_text("1,1\n" * 10, encoding="utf-8")
    assert _lines(path) == [f"{path}:4: more than 3 data rows"]


def test_the_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfile, "MAX_CSV_BYTES", 10)
    path = tmp_path / "l.csv"
    path.write_text("1,1\n" * 10, encoding="utf-8")
    (line,) = _lines(path)
    assert "a CSV input may be at most" in line


def test_read_lengths_csv_puts_problems_under_the_yaml_path(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("512,x\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_lengths_csv(path, "workloads.inference[0].lengths_csv")
    assert info.value.lines() == [f"workloads.inference[0].lengths_csv: {path}:1: column 'output': 'x' is "
                                  "not a number"]
    path.write_text("512,64\n100,10\n", encoding="utf-8")
    work = read_lengths_csv(path, "w")
    assert work.prompts.tolist() == [512.0, 100.0] and work.outputs.tolist() == [64.0, 10.0]
