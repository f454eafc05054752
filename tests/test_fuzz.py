"""A bounded-time fuzz of the scenario loader: mutated copies of the shipped scenarios either load
or raise ``InputError`` (exit code 2 in the CLI), never any other exception.

Mutations work on the YAML text: flipped characters, deleted and duplicated spans and lines,
values swapped between keys, random unicode (control characters, surrogates, right-to-left
marks), random numbers and units (huge, negative, NaN, a power where a duration belongs), shifted
indentation and random YAML syntax. The RNG seed is fixed, so CI replays the same inputs; the
loop runs exactly MAX_INPUTS inputs (work, not seconds, bounds it: it passes the same way under
coverage or on a loaded machine), and a crash prints the input that caused it.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from pathlib import Path

import pytest

from simulator.errors import InputError
from simulator.scenario.sites_load import load_any as load_scenario  # one site or several

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
SEED = 20240601
MAX_INPUTS = 1500

NUMBERS = ["0", "-1", "1e400", "-1e400", ".nan", ".inf", "-.inf", "1e-320", "9" * 40, "0x1F",
           "1_000", "2.5", "-0", "1e16", "18446744073709551617", "4.2e-7", "+12", "1:30:00"]
UNITS = ["", "W", "kW", "MW", "GW", "s", "min", "h", "d", "y", "Gb/s", "GB/s", "GiB", "%", "C",
         "F", "K", "parsecs", "tokens", "B", "T", "/kWh", "g/kWh", "FLOP/s", "$", " USD", "ms"]
SYNTAX = ["&a", "*a", "!!python/object:os.system", "!!binary", "? ", "- ", "{", "}", "[", "]",
          "|", ">", "---", "...", "#", "%YAML 1.1", "<<: *a", "!!set", "'", '"', "\t", ": ", ","]
CHARS = ["\x00", "\x07", "\x1b", "\u200f", "\u202e", "\ufeff", "\ud800", "\U0001f525", "é", "ß",
         "\u0000", "\x85", "\u2028", "\r", "\\", "💥", "∞", "Ω"]
KEY_VALUE = re.compile(r"^(\s*-?\s*[\w.-]+:\s+)(\S.*)$")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?[a-zA-Z%/$]*")


def _flip(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text))
    return text[:i] + chr(rng.randrange(0x20, 0x7F) if rng.random() < 0.7 else rng.randrange(0x110000)) + text[i + 1:]


def _delete(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text))
    return text[:i] + text[i + rng.randint(1, 40):]


def _duplicate(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    block = lines[i:i + rng.randint(1, 4)]
    at = rng.randrange(len(lines) + 1)
    return "".join(lines[:at] + block * rng.randint(1, 3) + lines[at:])


def _swap_values(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    pairs = [(i, m) for i, line in enumerate(lines) if (m := KEY_VALUE.match(line.rstrip("\n")))]
    if len(pairs) < 2:
        return text
    (i, a), (j, b) = rng.sample(pairs, 2)
    lines[i] = a[1] + b[2] + "\n"
    lines[j] = b[1] + a[2] + "\n"
    return "".join(lines)


def _unicode(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + "".join(rng.choice(CHARS) for _ in range(rng.randint(1, 3))) + text[i:]


def _number(rng: random.Random, text: str) -> str:
    spots = list(NUMBER.finditer(text))
    if not spots:
        return text
    spot = rng.choice(spots)
    value = rng.choice(NUMBERS) + rng.choice(UNITS)
    return text[:spot.start()] + value + text[spot.end():]


def _indent(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    lines[i] = " " * rng.choice([1, 2, 3, 4, 8]) + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
    return "".join(lines)


def _syntax(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(SYNTAX) + text[i:]


MUTATIONS = [_flip, _delete, _duplicate, _swap_values, _unicode, _number, _indent, _syntax]


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
        text = rng.choice(MUTATIONS)(rng, text) or "\n"
    return text if "\n" in text else text + "\n"  # text with a newline is YAML, not a path


def test_shipped_scenarios_load():
    assert SHIPPED, "no shipped scenarios to mutate"
    for path in SHIPPED:
        load_scenario(path.read_text(encoding="utf-8"), base_dir=path.parent)


def test_mutated_scenarios_load_or_raise_input_error(request):
    rng = random.Random(SEED)
    sources = [(p.read_text(encoding="utf-8"), p.parent) for p in SHIPPED]
    counts = {"inputs": 0, "accepted": 0, "rejected": 0, "crashes": 0}
    crashes: list[str] = []
    start = time.perf_counter()
    while counts["inputs"] < MAX_INPUTS:
        text, folder = rng.choice(sources)
        mutated = mutate(rng, text)
        counts["inputs"] += 1
        try:
            load_scenario(mutated, base_dir=folder, source="<fuzz>")
        except InputError as err:
            counts["rejected"] += 1
            assert err.lines() and all(line.strip() for line in err.lines())
            assert all("\n" not in line for line in err.lines()), err.lines()
        except Exception:  # any other exception is the finding
            counts["crashes"] += 1
            if len(crashes) < 3:
                crashes.append(f"--- input {counts['inputs']}:\n{mutated!r}\n{traceback.format_exc()}")
        else:
            counts["accepted"] += 1
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\nloader fuzz: " + ", ".join(f"{v} {k}" for k, v in counts.items())
              + f" in {time.perf_counter() - start:.1f} s; by exit code: 0: {counts['accepted']}, "
              f"2: {counts['rejected']}, 3: {counts['crashes']}")
    assert counts["crashes"] == 0, "exit-3 internal errors:\n" + "\n".join(crashes)
    assert counts["inputs"] == MAX_INPUTS, counts
    assert counts["accepted"] > 0 and counts["rejected"] > 0, counts


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__.strip("_"))
def test_each_mutation_changes_the_text(mutation):
    rng = random.Random(SEED)
    text = SHIPPED[0].read_text(encoding="utf-8")
    assert any(mutation(rng, text) != text for _ in range(20))


JSON_INSERTS = ["NaN", "-Infinity", "1e400", "9" * 120, "true", "null", '"1.2"', "[" * 200, "]", "{",
                '"\\u001b[31m"', '"[/oops]"', ",", ":", '"pue_mean": 1', "\x00", "\udc80", "-", "0x10", "1_0"]


def test_mutated_baselines_are_compared_or_refused_never_crash(request, tmp_path):
    """The compare baseline reader (domain/json_io.py through report/compare.py) on mutated
    baselines: each one reads (exit 0 in the CLI) or is refused as bad input (exit 2), never
    anything else (exit 3); counts by exit code are printed."""
    from simulator.report.compare import read_baseline

    rng = random.Random(SEED)
    good = '{"pue_mean": 1.25, "total_usd": 1234.5, "gpus": 16, "slo_attainment": null}'
    counts = {0: 0, 2: 0, 3: 0}
    crashes: list[str] = []
    path = tmp_path / "b.json"
    for n in range(400):
        text = good
        for _ in range(rng.choice([1, 1, 2, 3])):
            i = rng.randrange(len(text) + 1)
            if rng.random() < 0.5:
                text = text[:i] + rng.choice(JSON_INSERTS) + text[i:]
            else:
                text = text[:i] + text[i + rng.randint(1, 8):]
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            read_baseline(path)
            counts[0] += 1
        except InputError:
            counts[2] += 1
        except Exception:
            counts[3] += 1
            if len(crashes) < 3:
                crashes.append(f"--- input {n}: {text!r}\n{traceback.format_exc()}")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\nbaseline fuzz by exit code: " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    assert counts[3] == 0, "\n".join(crashes)
    assert counts[0] > 0 and counts[2] > 0, counts
