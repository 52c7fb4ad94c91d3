"""``python -m bench``: the one-command benchmark suite (see :mod:`bench.suite`)."""

from bench.suite import main

main()
