"""The benchmark suite: ``python -m bench [--quick] [--only SECTION ...]``.

Runs every section of :mod:`bench.bench_scale` (which reuses the area scripts' functions),
prints one markdown table and writes ``bench/RESULTS.md`` with the machine (cores, memory,
load) and library versions. Each row is a ratio of two numbers measured in the same run.

``--quick`` uses small data and small members (minutes on 2 cores): it checks the plumbing and
gives rough ratios; the full mode uses the sizes the targets refer to (diamonds in full, tuned
members) and takes about an hour on 2 idle cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from bench import bench_scale as bs

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
LIBRARIES = (
    "numpy", "pandas", "scikit-learn", "scipy", "xgboost-cpu", "xgboost", "tensorflow-cpu",
    "tensorflow", "keras", "jax", "jaxlib", "joblib", "dask", "distributed", "psutil",
)  # fmt: skip

# sizes per mode: quick checks plumbing in minutes; full is what the targets refer to.
# Row 4's fits are short (~17 s), and the hand-written baseline's best of 2 ranged 20.8-23.5 s
# CPU over idle runs (ratio 0.88-1.12): best of 4 keeps that noise out of the ratio.
CONFIG = {
    True: {
        "diamonds": {"rows": 4000, "scale": 0.1},
        "clothing": {"n": 1500, "epochs": 5},
        "deep": {"n": 500, "repeat": 50, "overhead_n": 1000, "epochs": 2, "rounds": 1},
        "memory": {"n": 300, "factor": 4, "epochs": 1},
        "architecture": {"n": 1500, "epochs": 6},
    },
    False: {
        "diamonds": {"rows": None, "scale": 1.0},
        "clothing": {"n": 6000, "epochs": 100},
        "deep": {"n": 2000, "repeat": 200, "overhead_n": 4000, "epochs": 4, "rounds": 4},
        "memory": {"n": 2000, "factor": 4, "epochs": 1},
        "architecture": {"n": 6000, "epochs": 60},
    },
}


def _section(name: str, quick: bool, state: dict) -> list[dict]:
    cfg = CONFIG[quick].get("deep" if name == "backends" else name, {})
    if name == "coldstart":
        return bs.coldstart()
    if name == "diamonds":
        rows = bs.diamonds(cfg["rows"], cfg["scale"])
        one_row = [r for r in rows if r["row"].startswith("2a.")]
        state["blend_ms"] = one_row[0]["ours"] if one_row else None
        return rows
    if name == "clothing":
        return bs.clothing_quality(cfg["n"], cfg["epochs"])
    if name == "deep":
        return bs.deep_latency(cfg["n"], cfg["repeat"], state.get("blend_ms")) + bs.deep_overhead(
            cfg["overhead_n"], cfg["epochs"], cfg["rounds"]
        )
    if name == "backends":  # row 4 on JAX (issue 26); skipped when JAX is not installed
        import importlib.util

        if importlib.util.find_spec("jax") is None:
            return [bs.row("4j. JAX backend", None, None, None, "", None, "jax not installed")]
        return bs.backend_overhead(cfg["overhead_n"], cfg["epochs"], cfg["rounds"], "jax")
    if name == "memory":
        return bs.streaming_memory(cfg["n"], cfg["factor"], cfg["epochs"])
    if name == "architecture":
        return bs.architecture(cfg["n"], cfg["epochs"])
    if name == "budget":  # time_limit: fit seconds and quality (bench/bench_budget.py)
        from bench.bench_budget import budget_rows

        return budget_rows(quick)
    if name == "predict":  # one-row serving speed of whole blends (bench/bench_predict.py)
        from bench.bench_predict import predict_rows

        return predict_rows(data=("diamonds",) if quick else ("diamonds", "clothing"))
    if name == "uncertainty":  # intervals, sets, calibration (bench/bench_uncertainty.py)
        from bench.bench_uncertainty import uncertainty

        return uncertainty(2000 if quick else 6000, 2 if quick else 5)
    if name == "explain":  # explain cost and additivity (bench/bench_explain.py)
        from bench.bench_explain import suite_rows

        return suite_rows(quick)
    if name == "multitask":  # multi-task network and text branches (bench/bench_multitask.py)
        from bench.bench_multitask import suite_rows as multitask_rows

        return multitask_rows(quick)
    raise ValueError(f"unknown section {name!r}; choose from {bs.SECTIONS}")


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "/")


def markdown_table(rows: list[dict]) -> str:
    cols = ["row", "ours", "baseline", "ratio", "target", "ok", "note"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> dict:
    import psutil

    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load": os.getloadavg(),
        "busy": busy_percent(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "device": _keras_device(),
    }


def _keras_device() -> str:
    """Where the deep rows train: Keras' default device on the suite's backend."""
    try:
        from blend.members.deep.devices import training_device

        return training_device()
    except ImportError:  # no Keras backend installed
        return "unknown"


def busy_percent(seconds: float = 2.0) -> float:
    """CPU use of the whole machine over a short window while this suite is idle (percent).

    Sampled before the first section and after the last: the load average would count the
    suite's own work (and jobs that finished just before it started).
    """
    import psutil

    return float(psutil.cpu_percent(interval=seconds))


def header(info: dict, quick: bool, seconds: float, load_after, busy_after=None) -> str:
    cores = info["cores"] or 1
    busy = max(info["busy"], busy_after if busy_after is not None else 0.0)
    lines = [
        "# Benchmark results",
        "",
        "This file is generated by `python -m bench` (`--quick` for a short run); do not edit it "
        "by hand, rerun the suite.",
        "",
        f"Generated by `python -m bench{' --quick' if quick else ''}` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} min "
        f"({'quick mode: small data and members; ratios are rough' if quick else 'full mode'}).",
        "",
        f"- Machine: {cores} cores, {info['memory_gib']} GiB memory, {info['platform']}, "
        f"Python {info['python']}",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- Keras backend of the deep rows: {info['backend']} on {info['device']} "
        "(row 4j: JAX, CPU unless an accelerator is visible)",
        f"- Load average (1, 5, 15 min) at start: {', '.join(f'{x:.1f}' for x in info['load'])}; "
        f"at end: {', '.join(f'{x:.1f}' for x in load_after)} (these count the suite's own "
        "work)",
        f"- CPU busy with other work, sampled while the suite was idle: {info['busy']:.0f}% "
        "before the first section"
        + (f", {busy_after:.0f}% after the last" if busy_after is not None else ""),
    ]
    if busy > 25:
        lines += [
            "",
            f"> **Measured under load** (up to {busy:.0f}% of {cores} cores busy with other "
            "jobs). Absolute times are inflated and noisy; the ratios compare "
            "two runs made under the same load, but parallel speed-ups (row 5) and fit-time "
            "ratios that rely on idle cores are understated. Rerun on an idle machine for "
            "release numbers.",
        ]
    lines += [
        "",
        "Each row: `ours` and `baseline` measured in this run, `ratio = ours / baseline` "
        "(row 3: throughput ratio, higher is better; row 5: speed-up). Targets are from issue 8.",
        "",
    ]
    return "\n".join(lines)


def run_sections(sections, quick: bool, write: bool = True) -> list[dict]:
    info = machine()
    start = time.perf_counter()
    rows, state = [], {}
    for name in sections:
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            new = _section(name, quick, state)
        except Exception as exc:  # one broken section must not hide the others
            traceback.print_exc()
            new = [bs.row(f"{name}: FAILED", None, None, None, "", False, f"{exc!r}"[:300])]
        print(f"[bench] {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        print(markdown_table(new), flush=True)
        rows += new
        if write:  # after every section, so an interrupted run still leaves its numbers
            done = len(rows) and name == sections[-1]
            text = header(info, quick, time.perf_counter() - start, os.getloadavg(), busy_percent())
            if not done:
                text += f"**Partial run**: sections so far of {list(sections)}.\n\n"
            RESULTS.write_text(text + markdown_table(rows) + "\n")
    text = header(info, quick, time.perf_counter() - start, os.getloadavg(), busy_percent())
    print()
    print(text + markdown_table(rows))
    if write:
        print(f"wrote {RESULTS}", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, minutes")
    more = ["backends", "budget", "predict", "uncertainty", "explain", "multitask"]
    sections = [*bs.SECTIONS, *more]
    parser.add_argument("--only", nargs="+", choices=sections, default=sections)
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args(argv)
    run_sections(args.only, quick=args.quick, write=not args.no_write)


if __name__ == "__main__":
    main()
