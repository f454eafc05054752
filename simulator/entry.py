"""The ``dcsim`` console script, before anything heavy is imported: SIGINT (Ctrl-C) and SIGTERM
are handled alike from the first instant (simulator/signals.py; while typer, rich or NumPy load
too): one line, ``interrupted`` or ``terminated``, and exit 130 or 143, never a traceback."""

from __future__ import annotations

import sys

from simulator import signals


def main() -> None:
    signals.install()
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
