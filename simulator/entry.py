"""The ``dcsim`` console script, before anything heavy is imported: SIGINT (Ctrl-C) and SIGTERM
are handled alike from the first instant (simulator/signals.py; while typer, rich or NumPy load
too): one line, ``interrupted`` or ``terminated``, and exit 130 or 143, never a traceback.

It also picks how the cost model's kernels run for this process (simulator/costmodel/jit.py),
before the command imports them: interpreted (``DCSIM_JIT=0``) for the one command measured
faster that way, compiled otherwise; a ``DCSIM_JIT`` the user set always wins. The variable is
set in this process only (the console script; tests calling the typer app in-process never come
here), and the interpreted command starts no other process."""

from __future__ import annotations

import os
import sys

from simulator import signals

# Options that make ``estimate train`` search (layouts, micro-batches or GPU counts): interpreted,
# a search costs in proportion to the layouts it tries (a 512-GPU MoE search already costs more
# than loading the compiled kernels), so searches stay compiled.
_SEARCHES = frozenset({"--layout", "--gpu-hour-cost"})


def interpreted_is_faster(args: list[str]) -> bool:
    """Whether the command line ``args`` runs faster with interpreted kernels: ``estimate train``
    of one given layout and micro-batch. Importing Numba and loading its cached kernels costs
    about 0.7 s CPU, more than evaluating one layout in plain Python (benchmarks/test_cli_speed.py
    measures both modes). Layout, micro-batch and cheapest-size searches stay compiled, and so do
    ``estimate prefill`` and ``decode``: their interpreted cost grows with the batch and prompt (a
    1x2048 prefill takes 3 s interpreted, 1.2 s compiled). A wrong guess costs time, never
    output: both modes give the same bytes."""
    if args[:2] != ["estimate", "train"]:
        return False
    flags = [arg for arg in args[2:] if arg.startswith("-")]
    long_names = {arg.split("=", 1)[0] for arg in flags if arg.startswith("--")}
    micro_batch = "--micro-batch" in long_names or any(
        arg.startswith("-b") for arg in flags if not arg.startswith("--"))
    return micro_batch and not long_names & _SEARCHES


def main() -> None:
    signals.install()
    if "DCSIM_JIT" not in os.environ and interpreted_is_faster(sys.argv[1:]):
        os.environ["DCSIM_JIT"] = "0"
    try:
        from simulator.cli.commands import app

        app()
    except KeyboardInterrupt as err:
        sys.stderr.write(signals.message_of(err) + "\n")
        sys.exit(signals.exit_code_of(err))
    except Exception:  # while typer loads: an import an interrupt broke ("initialization failed")
        interrupt = signals.take_pending()
        if interrupt is None:
            raise
        sys.stderr.write(interrupt.message + "\n")
        sys.exit(interrupt.exit_code)


if __name__ == "__main__":
    main()
