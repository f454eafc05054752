"""The ``dcsim`` console script, before anything heavy is imported: Ctrl-C from the first
instant (while typer, rich or NumPy load) prints ``interrupted`` and exits 130 like an interrupt
anywhere else, never a KeyboardInterrupt traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from simulator.cli.commands import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
