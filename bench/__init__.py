"""Benchmarks: ratios against baselines measured in the same run (python -m bench.<name>).

The benchmarks are programs: they set their process up as blend's own programs do, before
anything imports Keras (quiet TensorFlow logs, oneDNN rewrites off; see blend.console).
"""

from blend.console import setup_console

setup_console()
