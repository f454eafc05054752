"""``python -m simulator.cli``."""

from simulator.entry import main

main()
