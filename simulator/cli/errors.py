"""How the command line reports problems: one ``error:`` line per problem, exit code 2 for bad
input (a bad flag included), 1 for a model that does not fit, 130 on Ctrl-C (SIGINT), 143 on
SIGTERM, 3 for an internal error; never a traceback unless DCSIM_DEBUG=1. Every line goes
through ``safe`` (cli/output.py): a name or value holding control characters or ANSI escapes
is shown escaped, never sent to the terminal raw (docs/cli.md#exit-codes)."""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - typer on click
    from click import exceptions as _cx  # type: ignore[no-redef]

from simulator import signals
from simulator.cli.output import safe
from simulator.errors import DcsimError, InputError, Problem


def _usage_line(err: _cx.ClickException, args: list[str]) -> str:
    """A bad flag or argument as one line: ``--flag: what is wrong (got 'value'); see ... --help``."""
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    if isinstance(err, _cx.NoSuchOption):
        near = sorted(err.possibilities or ())
        tip = f"; did you mean {near[0]}?" if len(near) == 1 else (
            f" (possible options: {', '.join(near)})" if near else "")
        return f"{err.option_name}: unknown option{tip}{hint}"
    param = getattr(err, "param", None)
    message = err.message if isinstance(err, _cx.BadParameter) else err.format_message()
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.replace(prefix, "")
    message = message[:1].lower() + message[1:]
    if param is None:
        where = getattr(err, "option_name", None) or "usage"
        message = message.removeprefix(f"option '{where}' ")
        return f"{where}: {message.rstrip('.')}{hint}"
    names = [o for o in param.opts if o.startswith("--")] or list(param.opts)
    if param.param_type_name == "option" and names:
        where = names[0]
    else:
        where = str(getattr(param, "metavar", None) or param.name or "argument").upper()
    if isinstance(err, _cx.MissingParameter):
        return f"{where}: missing {param.param_type_name}{hint}"
    value = _raw_value(param, args)
    shown = f" (got {value!r})" if value is not None and repr(value) not in message else ""
    return f"{where}: {message.rstrip('.')}{shown}{hint}"


def _raw_value(param, args: list[str]) -> str | None:
    """The text given on the command line for option ``param``, as typed."""
    if param.param_type_name != "option":
        return None
    for i, token in enumerate(args):
        for opt in param.opts:
            if token == opt and i + 1 < len(args):
                return args[i + 1]
            if token.startswith(opt + "="):
                return token[len(opt) + 1:]
    return None


class DcsimGroup(TyperGroup):
    """Usage errors (a bad flag, a missing argument) print as one ``error:`` line like every other
    dcsim error, with exit code 2, instead of a usage panel."""

    def _report(self, err: _cx.ClickException, args: list[str]):
        if isinstance(err, _cx.NoArgsIsHelpError):
            raise err
        _err(f"error: {_usage_line(err, args)}")
        raise typer.Exit(err.exit_code) from None

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, list(args), parent=parent, **extra)
        except _cx.ClickException as err:
            self._report(err, list(args))

    def invoke(self, ctx):
        args = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        try:
            return super().invoke(ctx)
        except _cx.ClickException as err:
            self._report(err, args)


def _err(text: str) -> None:
    """One line on stderr, through the one escaping function (a newline inside is shown as \\x0a)."""
    sys.stderr.write(safe(text.rstrip("\n")) + "\n")


def handle_errors(func):
    """Turn dcsim errors into messages and exit codes; no tracebacks for users."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        as_json = str(getattr(kwargs.get("fmt"), "value", kwargs.get("fmt"))) == "json"
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except InputError as err:
            for line in err.lines():
                _err(f"error: {line}")
            if as_json:
                _json_error(err, err.lines())
            raise typer.Exit(err.exit_code) from None
        except DcsimError as err:
            _err(f"error: {err}")
            if as_json:
                _json_error(err, [str(err)])
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt as err:  # SIGINT or SIGTERM (simulator/signals.py)
            _err(signals.message_of(err))
            raise typer.Exit(signals.exit_code_of(err)) from None
        except BrokenPipeError:
            raise  # the reader went away (| head): typer exits quietly
        except Exception as err:
            if (interrupt := signals.take_pending()) is not None:  # the error an interrupt caused
                _err(interrupt.message)
                raise typer.Exit(interrupt.exit_code) from None
            if os.environ.get("DCSIM_DEBUG"):
                raise
            _err(f"internal error: {type(err).__name__}: {err} (set DCSIM_DEBUG=1 for a traceback)")
            raise typer.Exit(3) from None

    return wrapper


def _json_error(err: DcsimError, lines: list[str]) -> None:
    """With ``--format json`` an error is also a JSON document on stdout, so a script reading
    stdout always gets one: ``{"error": first line, "exit_code": N, "problems": [{path, message,
    value, line, source}]}`` (a problem per line; the exit code is the same as without JSON)."""
    import json

    problems = [{"path": p.path, "message": p.message, "value": None if p.value is None else str(p.value),
                 "line": p.line, "source": getattr(err, "source", None)}
                for p in getattr(err, "problems", ())] or [{"path": "", "message": str(err), "value": None,
                                                             "line": None, "source": None}]
    doc = {"error": lines[0] if lines else type(err).__name__, "exit_code": err.exit_code, "problems": problems}
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def _under_flag(err: InputError, flag: str) -> InputError:
    """``err`` with every line led by ``flag``, so the user sees which option held the bad input."""
    return InputError([Problem(flag, p.format(err.source)) for p in err.problems])


@contextmanager
def _blame(flag: str):
    """Report any bad input found inside the block under the command-line ``flag``."""
    try:
        yield
    except InputError as err:
        raise _under_flag(err, flag) from None


def _attempt(problems: list[Problem], func, *args):
    """``func(*args)``, or None with its input problems added to ``problems`` (to report all at once)."""
    try:
        return func(*args)
    except InputError as err:
        problems.extend(err.problems)
        return None


def _quantity_flag(flag: str, text: str, kind: str) -> float:
    """A flag's value with its unit, or the flag named in the error."""
    from simulator.domain.units import parse_quantity
    from simulator.errors import UnitError

    try:
        return parse_quantity(text, kind)
    except UnitError as err:
        raise InputError([Problem(flag, str(err))]) from None
