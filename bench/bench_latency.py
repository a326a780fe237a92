"""Benchmark: how long staff wait for one command, as whole processes.

Prints figures and ratios, not verdicts: no test fails on wall-clock time. Run:

    python bench/bench_latency.py            # 7 runs of each command
    python bench/bench_latency.py --runs 15

A member of staff who checks one plan waits for a whole process: Python
starting, the libraries importing, the plan read and validated. This measures,
as separate processes (median of several runs, wall clock and CPU time):

* the floor: ``python -c "import pandas, pandera"``, what any pandera
  validation costs before it does anything (the baseline, run in turn with the
  others so that a busy machine slows all of them alike);
* ``xltools --help`` (target: under 0.3 s);
* ``xltools validate PLAN.xlsx`` on a generated 30-action plan (target: under 1 s);
* ``xltools import PLAN.txt`` on a shipped 30-odd-action legacy plan text (target: under 1 s).

Run it with the Python of a plain install (``pip install xltools``) for the figure
staff see: with the test extras installed, pandera imports hypothesis when our
checks are registered, which costs about 0.2 s that a user's install never pays.
The CPU column is the steadier figure on a busy machine; the wall column is what
a person waits on an idle one.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_consolidate import generate  # noqa: E402

# The shared legacy plans sit beside the checkout (../shared), as on the team's machines and CI.
LEGACY_PLAN = HERE.parent.parent / "shared" / "legacy-plans" / "salford-joint-review-2003.txt"


def xltools_command() -> list[str]:
    """The console script beside this Python if installed there, else ``python -m xltools``."""
    script = Path(sys.executable).with_name("xltools")
    return [str(script)] if script.exists() else [sys.executable, "-m", "xltools"]


def run_once(command: list[str], cwd: Path) -> tuple[float, float]:
    """One whole process: (wall seconds, CPU seconds of the child)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--legacy", type=Path, default=LEGACY_PLAN, help="a legacy text plan")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="xltools-latency-"))
    try:
        (plan,) = generate(HERE / "out" / "latency", 1, seed=30, sizes=(30, 30))
        xltools = xltools_command()
        commands = {
            "floor: import pandas, pandera": [sys.executable, "-c", "import pandas, pandera"],
            "xltools --help": [*xltools, "--help"],
            "xltools validate (30 actions)": [*xltools, "validate", str(plan)],
        }
        if args.legacy.exists():
            # {run} gives each run an output name of its own: import will not overwrite.
            commands["xltools import (legacy text plan)"] = [
                *xltools,
                "import",
                str(args.legacy),
                "-o",
                str(work / "imported-{run}.xlsx"),
            ]
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for run in range(args.runs + 1):  # interleaved, so a busy moment costs all alike
            for label, command in commands.items():
                sample = run_once([part.format(run=run) for part in command], work)
                if run:  # run 0 warms the file cache and is not counted
                    samples[label].append(sample)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    floor_wall = statistics.median(wall for wall, _ in samples["floor: import pandas, pandera"])
    print(f"{'command':38} {'wall (median)':>14} {'CPU (median)':>13} {'x floor':>8}")
    for label, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{label:38} {wall:12.3f} s {cpu:11.3f} s {wall / floor_wall:8.2f}")
    python = sys.version.split()[0]
    print(f"({args.runs} runs each, interleaved; Python {python}, {os.cpu_count()} cores)")
    if importlib.util.find_spec("hypothesis") is not None:
        print(
            "note: hypothesis is installed (a test extra), and pandera imports it when checks "
            "are registered (about 0.2 s that a plain install does not pay)"
        )


if __name__ == "__main__":
    main()
