"""Nothing from the user reaches the terminal raw: names, keys and values with control
characters, ANSI escape sequences or Rich markup go through the one escaping function
(cli/output.safe) in every command's output and error lines.

The property tests feed arbitrary Unicode through validate, run, compare and estimate (CliRunner,
a few dozen examples each so they stay fast): every command exits 0 or 2 (never 3, never a
MarkupError), and no output line holds a control character but the line breaks."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simulator.cli import app
from simulator.cli.output import OutputFormat, print_rows, print_table, safe

ROOT = Path(__file__).resolve().parents[2]
VALID = (ROOT / "tests" / "bad_inputs" / "_valid.yaml").read_text(encoding="utf-8")
SHORT = VALID.replace("horizon: 1d, sample_interval: 1h", "horizon: 2h, sample_interval: 1h")
runner = CliRunner()
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # every control character but the newline


def _named(tmp: Path, name: str, text: str = SHORT) -> Path:
    path = tmp / "s.yaml"
    path.write_text(text.replace("name: bad-input", f"name: {json.dumps(name)}"), encoding="utf-8")
    return path


def _clean(output: str) -> None:
    assert not CONTROL.search(output), repr(output)
    assert "Traceback" not in output and "internal error" not in output and "MarkupError" not in output


# ----------------------------------------------------------------------------- the function
def test_safe_shows_control_characters_and_ansi_escaped():
    assert safe("a\x1b[31mred\x1b[0m") == "a\\x1b[31mred\\x1b[0m"
    assert safe("two\nlines\rand\ttab\x00") == "two\\x0alines\\x0dand\\x09tab\\x00"
    assert safe("c1 csi \x9b2J del \x7f") == "c1 csi \\x9b2J del \\x7f"
    assert safe("rtl \u202eevil\u2066 zw\u200b bom\ufeff") == "rtl \\u202eevil\\u2066 zw\\u200b bom\\ufeff"
    assert safe("plain é ß 💥 ∞ [1] a/b") == "plain é ß 💥 ∞ [1] a/b"  # printable text unchanged


def test_safe_escapes_rich_markup_only_when_asked():
    assert safe("[/oops] [bold]x") == "[/oops] [bold]x"
    assert safe("[/oops] [bold]x", markup=True) == "\\[/oops] \\[bold]x"
    assert safe("ends with \\", markup=True) == "ends with \\\\"


def test_rich_tables_print_markup_and_escapes_as_written(capsys):
    print_rows("title [/oops] \x1b[2J", [("[bold]k[/bold]", "v\x1b[31m")], OutputFormat.table)
    print_table("t [/x]", ["[c]"], [["[/d] :fire:"]], OutputFormat.table)
    out = capsys.readouterr().out
    _clean(out)
    assert "title [/oops] \\x1b[2J" in out and "[bold]k[/bold]" in out and "v\\x1b[31m" in out
    assert "[/d] :fire:" in out  # no markup, no emoji code replaced


def test_markdown_tables_escape_too(capsys):
    print_rows("t\x1b", [("a|b", "c\nd\x07")], OutputFormat.md)
    out = capsys.readouterr().out
    _clean(out)
    assert "| a\\|b | c d\\x07 |" in out and "### t\\x1b" in out


# ----------------------------------------------------------------------------- the commands
def test_a_name_with_markup_does_not_crash_run_and_is_shown_as_written(tmp_path):
    scenario = _named(tmp_path, "x\x1b[31m[/oops]")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(scenario), "-o", str(out)])
    assert result.exit_code == 0, result.output
    _clean(result.output)
    assert "x\\x1b[31m[/oops]" in result.output
    assert json.loads((out / "summary.json").read_text())["scenario"] == "x\x1b[31m[/oops]"  # files keep it
    checked = runner.invoke(app, ["validate", str(scenario)])
    assert checked.exit_code == 0 and checked.output.startswith("ok: x\\x1b[31m[/oops]: ")


def test_run_with_markdown_output_escapes_the_name(tmp_path):
    scenario = _named(tmp_path, "n\x1b]0;title\x07")
    result = runner.invoke(app, ["run", str(scenario), "-o", str(tmp_path / "out"), "--format", "md"])
    assert result.exit_code == 0, result.output
    _clean(result.output)
    assert "n\\x1b\\]0;title\\x07" in result.output  # the Markdown report escapes the bracket


def test_error_lines_escape_what_the_user_wrote(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(VALID.replace("node: dgx-h100", 'node: "dgx\\e[2J\\nerror: forged"'), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 2
    _clean(result.output)
    assert all(line.startswith("error: ") for line in result.output.splitlines())
    assert len(result.output.splitlines()) == 1  # the newline did not forge a second error line


NAMES = st.text(min_size=1, max_size=40)
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PROPERTY
@given(name=NAMES)
def test_any_name_through_validate_is_ok_or_bad_input_and_printed_safely(tmp_path, name):
    result = runner.invoke(app, ["validate", str(_named(tmp_path, name))])
    assert result.exit_code in (0, 2), result.output
    _clean(result.output)
    if result.exit_code == 0:
        assert result.output.startswith(f"ok: {safe(name)}: ")


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=NAMES)
def test_any_name_through_run_is_printed_safely(tmp_path, name):
    out = Path(tempfile.mkdtemp(dir=tmp_path)) / "out"  # one folder per example
    result = runner.invoke(app, ["run", str(_named(out.parent, name)), "-o", str(out)])
    assert result.exit_code in (0, 2), result.output
    _clean(result.output)
    if result.exit_code == 0:  # complete, with its marker; a refusal wrote nothing
        assert (out / "summary.json").is_file() and (out / ".dcsim-output").is_file()
    else:
        assert not out.exists()


@PROPERTY
@given(name=NAMES, key=st.text(min_size=1, max_size=20))
def test_any_names_through_compare_are_printed_safely(tmp_path, name, key):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "summary.json").write_text(json.dumps({"scenario": name, "pue_mean": 1.2}), encoding="utf-8")
    (run / "costs.json").write_text(json.dumps({"total_usd": 10.0}), encoding="utf-8")
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"pue_mean": 1.2, key: 1.0}), encoding="utf-8")
    result = runner.invoke(app, ["compare", str(base), str(run)])
    assert result.exit_code in (0, 1, 2), result.output
    _clean(result.output)


@PROPERTY
@given(text=st.text(min_size=1, max_size=30))
def test_any_model_or_flag_text_through_estimate_is_printed_safely(text):
    result = runner.invoke(app, ["estimate", "train", "--model", text, "--accelerator", "h100-sxm", "--seq", "2048"])
    assert result.exit_code in (0, 2), result.output
    _clean(result.output)


@pytest.mark.parametrize("command", ["sweep", "plan"])
def test_sweep_and_plan_errors_escape_the_name(tmp_path, command):
    scenario = _named(tmp_path, "s\x1b[1m[/oops]")
    result = runner.invoke(app, [command, str(scenario), "-o", str(tmp_path / "out"), "--axis", "nope=1,2"]
                           if command == "sweep" else [command, str(scenario), "-o", str(tmp_path / "out")])
    assert result.exit_code in (0, 2), result.output
    _clean(result.output)


@PROPERTY
@given(path=st.text(min_size=1, max_size=30).filter(lambda t: "=" not in t), name=NAMES)
def test_any_axis_path_through_sweep_and_any_name_through_plan_print_safely(tmp_path, path, name):
    """Axis paths are user text in sweep's errors; plan reports a scenario without a plan block."""
    scenario = _named(tmp_path, name)
    out = Path(tempfile.mkdtemp(dir=tmp_path)) / "out"
    swept = runner.invoke(app, ["sweep", str(scenario), "-o", str(out), "--axis", f"{path}=1,2"])
    assert swept.exit_code in (0, 2), swept.output
    _clean(swept.output)
    planned = runner.invoke(app, ["plan", str(scenario), "-o", str(out.parent / "plan")])
    assert planned.exit_code == 2, planned.output
    _clean(planned.output)
