"""Benchmark: consolidate N generated plans, against a naive baseline in the same process.

Prints ratios, not verdicts: no test fails on wall-clock time. Run:

    python bench/bench_consolidate.py            # 1,000 plans of 60-150 actions
    python bench/bench_consolidate.py --plans 100

It generates the plans once (deterministically, seed 2003) under bench/out/,
then times, in one process (end to end first, before anything else is read):

* xltools: ``consolidate`` (python-calamine reading and a pandera pass per chunk
  of plans, in one worker process per core) plus ``write_register`` (xlsxwriter
  for the workbook, the big sheets' rows streamed in two processes);
* reading alone, in one process and as consolidate does it (the workers);
* validation alone: ``validate_tables`` over all plans, against pandera run
  plan by plan (the issue's "pandera per file");
* the baseline a hand-written script would do: ``pandas.read_excel`` with
  openpyxl per file, a pandera schema validated per file, ``DataFrame.to_excel``;
* the unzip floor: inflating every sheet's XML and nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import os
import random
import resource
import sys
import time
import zipfile
from pathlib import Path

from xltools import model
from xltools.consolidate import consolidate
from xltools.read import read_plan
from xltools.register import write_register
from xltools.rules import RulePack, load_pack, register_checks, run_pack
from xltools.template import write_plan
from xltools.validate import iter_reports

HERE = Path(__file__).resolve().parent
REPORTING_DATE = dt.date(2003, 11, 24)
WORDS = [
    "review",
    "commissioning",
    "care",
    "assessment",
    "carers",
    "strategy",
    "training",
    "staff",
    "budget",
    "service",
    "users",
    "quality",
    "framework",
    "monitoring",
    "partnership",
    "consultation",
    "standards",
    "plan",
    "audit",
]
# Statuses with grades that fit them, so generated plans look like returned ones:
# mostly valid, a few with findings.
STATUS_GRADES = [
    ("Not started", ""),
    ("On track", "A"),
    ("On track", ""),
    ("At risk", "B"),
    ("Off track", "C"),
    ("Complete", "A"),
    ("Withdrawn", "D"),
]


def generate(
    folder: Path, plans: int, seed: int = 2003, sizes: tuple[int, int] = (60, 150)
) -> list[Path]:
    """Write N plan workbooks of ``sizes`` actions (60-150), the same every time for a seed."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f".complete-{plans}-{seed}-{sizes[0]}-{sizes[1]}"
    paths = [folder / f"plan-{index:04d}.xlsx" for index in range(plans)]
    if marker.exists():
        return paths
    rng = random.Random(seed)
    for index, path in enumerate(paths):
        actions = []
        for number in range(1, rng.randint(*sizes) + 1):
            status, grade = rng.choice(STATUS_GRADES)
            due = dt.date(2003, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
            if status == "On track" and due < REPORTING_DATE:
                due += dt.timedelta(days=365)
            actions.append(
                {
                    model.REF: f"{number // 10 + 1}.{number % 10}",
                    model.AREA: " ".join(rng.choices(WORDS, k=4)).capitalize(),
                    model.ACTION: " ".join(rng.choices(WORDS, k=14)).capitalize() + ".",
                    model.LEAD: rng.choice(["S Greer", "J Smith", "A Patel", "M Jones"]),
                    model.LEAD_EMAIL: "lead@example.gov.uk",
                    model.DUE_DATE: due,
                    model.TIMESCALE: due.strftime("%B %Y"),
                    model.OUTCOME: " ".join(rng.choices(WORDS, k=10)),
                    model.PROGRESS: " ".join(rng.choices(WORDS, k=20)),
                    model.STATUS: status,
                    model.GRADE: grade,
                    model.LAST_UPDATED: dt.date(2003, 11, 1),
                }
            )
        write_plan(
            path,
            {
                model.ORGANISATION: f"Council {index % 50}",
                model.PLAN_TITLE: f"Improvement plan {index}",
                model.REPORTING_DATE: REPORTING_DATE,
            },
            actions,
        )
    marker.write_text("done")
    return paths


def timed(label: str, function):
    gc.collect()
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    print(f"  {label:<52} {seconds:8.2f} s", flush=True)
    return seconds, result


class MemorySampler:
    """Peak memory of this process and its workers together (Linux: summed PSS).

    PSS shares each page among the processes mapping it, so forked workers' pages
    still shared with this process are not counted twice. The sampling runs in a
    process of its own, so it takes nothing from the run it measures.
    """

    def __init__(self, interval: float = 0.25) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._peak = context.Value("d", 0.0)
        self._stop = context.Event()
        self._process = context.Process(
            target=_sample, args=(os.getpid(), interval, self._peak, self._stop), daemon=True
        )

    @property
    def peak_mb(self) -> float:
        return self._peak.value

    def __enter__(self) -> MemorySampler:
        self._process.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._process.join()


def _sample(root: int, interval: float, peak, stop) -> None:
    while not stop.wait(interval):
        pss_mb = _tree_pss_kb(root, exclude=os.getpid()) / 1024
        peak.value = max(peak.value, pss_mb)


def _tree_pss_kb(root: int, exclude: int | None = None) -> int:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    tree, added = {root}, True
    while added:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        added = bool(more)
    total = 0
    for pid in tree - {exclude}:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def unzip_floor(paths: list[Path], shared_strings: bool = False) -> int:
    """Inflate every sheet's XML (and, if asked, the shared strings that hold its text)."""
    total = 0
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/") or (
                    shared_strings and name == "xl/sharedStrings.xml"
                ):
                    total += len(archive.read(name))
    return total


def baseline_schema():
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            model.REF: pa.Column(str, nullable=False, unique=True, coerce=True),
            model.ACTION: pa.Column(str, nullable=False, coerce=True),
            model.LEAD: pa.Column(str, nullable=False, coerce=True),
            model.STATUS: pa.Column(str, pa.Check.isin(model.STATUSES), nullable=False),
            model.DUE_DATE: pa.Column("datetime64[ns]", nullable=True, coerce=True),
        },
        strict=False,
    )


def baseline(paths: list[Path], output: Path) -> int:
    """What a hand-written script would do: pandas + openpyxl + pandera, file by file."""
    import pandas as pd
    import pandera.errors

    schema = baseline_schema()
    frames = []
    for path in paths:
        frame = pd.read_excel(path, sheet_name=model.ACTIONS_SHEET, engine="openpyxl")
        frame = frame.dropna(how="all")
        with contextlib.suppress(pandera.errors.SchemaErrors):
            schema.validate(frame, lazy=True)  # the baseline only pays for the check
        frame["Source file"] = path.name
        frames.append(frame)
    register = pd.concat(frames, ignore_index=True)
    register.to_excel(output, index=False, engine="openpyxl")
    return len(register)


def validation_per_file(tables, pack) -> int:
    failures = 0
    for table in tables:
        for findings, _ in run_pack(pack, [table], [REPORTING_DATE]):
            failures += len(findings)
    return failures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)
    out = HERE / "out"
    print(f"generating {args.plans} plans (cached under {out})...", flush=True)
    paths = generate(out / f"plans-{args.plans}", args.plans)
    inbox = paths[0].parent
    history = out / "history.sqlite"
    history.unlink(missing_ok=True)

    print("timings:")
    # End to end first, in a process that has read nothing yet, as the CLI would be.
    register_checks()  # importing pandas and pandera is a one-off cost, not throughput
    before_mb = _tree_pss_kb(os.getpid()) / 1024
    with MemorySampler() as memory:
        ours, _ = timed(
            "xltools consolidate + write register (end to end)",
            lambda: (
                write_register(
                    consolidate(inbox, REPORTING_DATE, history=history), out / "register.xlsx"
                )
                and None
            ),
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gc.collect()
    # The floor is the least of three runs: a low floor makes our ratios no better.
    floor, inflated = min(
        timed("unzip floor (inflate sheet XML)", lambda: unzip_floor(paths)) for _ in range(3)
    )
    text_floor, _ = min(
        timed("unzip floor with the shared strings", lambda: unzip_floor(paths, True))
        for _ in range(3)
    )
    read_seconds, tables = timed(
        "xltools read, one process (inspect + calamine)", lambda: [read_plan(p) for p in paths]
    )
    actions = sum(len(t.records) for t in tables)
    pack = load_pack("default")
    no_checks = RulePack("none", "", (), "", "bench")
    workers = os.cpu_count() or 1
    shared_seconds, _ = timed(
        f"xltools read as consolidate does ({workers} worker processes)",
        lambda: list(iter_reports(paths, no_checks, REPORTING_DATE)),
    )
    together, _ = timed(
        "xltools validate, all plans in one pandera pass",
        lambda: run_pack(pack, tables, [REPORTING_DATE] * len(tables)),
    )
    per_file, _ = timed("pandera run plan by plan", lambda: validation_per_file(tables, pack))
    print()
    print(f"plans: {len(paths)}, actions: {actions:,}, sheet XML inflated: {inflated / 1e6:.0f} MB")
    print(
        f"validation throughput: {actions / together:,.0f} actions/s in one pass, "
        f"{actions / per_file:,.0f} actions/s plan by plan ({per_file / together:.1f}x)"
    )
    print(
        f"reading: {read_seconds / floor:.1f}x the unzip floor in one process, "
        f"{shared_seconds / floor:.1f}x as consolidate reads ({workers} workers); "
        f"against the floor with shared strings {read_seconds / text_floor:.1f}x and "
        f"{shared_seconds / text_floor:.1f}x"
    )
    print(
        f"peak memory of the end-to-end run, all processes (PSS): {memory.peak_mb:,.0f} MB "
        f"({before_mb:,.0f} MB before it started); main process peak RSS {peak_mb:,.0f} MB"
    )
    if not args.skip_baseline:
        base, _ = timed(
            "baseline: pandas+openpyxl, pandera per file, to_excel",
            lambda: baseline(paths, out / "baseline.xlsx"),
        )
        print(f"end to end: xltools is {base / ours:.1f}x faster than the baseline")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
