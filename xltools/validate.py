"""Validating plan workbooks: read each safely, run a rule pack over many at once.

``validate`` is the library call behind ``xltools validate``; ``consolidate``
uses the same two steps. Findings are data; an unreadable file becomes a
report with status ``unreadable`` and one finding saying why, so one bad file
never stops the others.

Reading always happens in reader processes, never in the process that runs the
command: the Rust reader can abort its whole process on a damaged file (an
allocation failure no ``try`` can catch), and that must cost only the file. A
few files go to one reader process; many are shared among one per core, in
chunks: each reads its chunk and validates it in one pandera pass, and leaves the
reports in a file for the main process. When a reader dies (the out-of-memory
killer, a crash in a parser) its chunk is read again one file to a process, so
only a file that kills its reader is lost, and it becomes an ``unreadable``
report. Readers end with the main process (see :mod:`xltools.workers`). The
findings are the same however the work is shared.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from xltools import catalogue
from xltools.errors import UnreadableWorkbook, XltoolsError
from xltools.findings import FileReport, ValidationReport
from xltools.gcpause import paused_gc
from xltools.read import DEFAULT_LIMITS, Limits, PlanTable, discover, read_plan
from xltools.rules import RulePack, load_pack, report_for, run_pack
from xltools.workers import start_reader

log = logging.getLogger(__name__)
# Below this many files, reading in one process is quicker than starting workers.
PARALLEL_FROM_FILES = 150
# On Linux, fork shares the libraries already imported; elsewhere (macOS, where fork
# is unsafe, and Windows, where it is missing) each worker starts afresh.
START_METHOD = "fork" if sys.platform == "linux" else "spawn"
# At most this many files to a worker's task.
CHUNK_FILES = 50


def unreadable_report(path: Path, error: UnreadableWorkbook) -> FileReport:
    finding = catalogue.finding("unreadable", reason=error.message)
    return FileReport(Path(path), "unreadable", [finding], [], error=error.message)


def validate_tables(
    tables: list[PlanTable], pack: RulePack, reporting_date: dt.date | None = None
) -> list[FileReport]:
    """Validate plans already read; the reporting date defaults to each plan's own, then today."""
    dates = [reporting_date or t.reporting_date or dt.date.today() for t in tables]
    results = run_pack(pack, tables, dates)
    return [
        report_for(table.path, table, [*table.notes, *findings], runs, date)
        for table, (findings, runs), date in zip(tables, results, dates, strict=True)
    ]


def validate(
    paths: Iterable[str | Path],
    rules: str | Path | RulePack = "default",
    reporting_date: dt.date | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ValidationReport:
    """Validate plan workbooks (files, or folders searched recursively).

    No workbook found is an :class:`~xltools.errors.XltoolsError`; when every
    file found was skipped (lock files, say), or none can be read, the report's
    outcome is ``CANNOT_RUN``.
    """
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    paths = [Path(path) for path in paths]
    for path in paths:
        if not path.exists() and not path.is_symlink():
            # A name mistyped is a bad argument, not a file with problems.
            raise XltoolsError("no such file or folder", path)
    discovery = discover(paths)
    if not discovery.workbooks and not discovery.skipped:
        # As in consolidate: nothing to check is a wrong path far more often than not.
        if len(paths) != 1:
            raise XltoolsError("no plan workbooks (.xlsx, .xlsm) in " + ", ".join(map(str, paths)))
        where = "in this folder" if paths[0].is_dir() else "here"
        raise XltoolsError(f"no plan workbooks (.xlsx, .xlsm) {where}", paths[0])
    reports = list(iter_reports(discovery.workbooks, pack, reporting_date, limits))
    return ValidationReport(reports, pack.name, discovery.skipped)


def iter_reports(
    paths: list[Path],
    pack: RulePack,
    reporting_date: dt.date | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[Path], None] | None = None,
    workers: int | None = None,
) -> Iterator[FileReport]:
    """Read every workbook (an unreadable one becomes its report) and validate them, handing
    each report over, in the order of ``paths``, as soon as its chunk is done.

    Files are read in reader processes (``workers``: default one for a few files, one per
    core for many), in chunks; each chunk is read and validated in one pandera pass, so
    the findings are the same whichever way the work is shared.
    """
    paths = list(paths)
    if not paths:
        return
    workers = _worker_count(workers, len(paths))
    if workers > 1 or START_METHOD != "fork":
        yield from _parallel(paths, pack, reporting_date, limits, progress, workers)
        return
    # One reader: forked afresh for each chunk (a few milliseconds: it shares everything
    # already loaded), reading only; the validation is done here.
    for start in range(0, len(paths), CHUNK_FILES):
        chunk = paths[start : start + CHUNK_FILES]
        results = _read_in_reader(chunk, limits)
        if progress:
            for path in chunk:
                progress(path)
        yield from _validated(results, pack, reporting_date)


def _worker_count(workers: int | None, files: int) -> int:
    if workers is None:
        # Starting workers costs more than reading a handful of plans.
        workers = 1 if files < PARALLEL_FROM_FILES else os.cpu_count() or 1
    return max(1, min(workers, files))


def _read_all(
    paths: list[Path], limits: Limits, progress: Callable[[Path], None] | None = None
) -> list[FileReport | PlanTable]:
    """Read files in turn: each a table, or the report saying why it could not be read."""
    results: list[FileReport | PlanTable] = []
    for path in paths:
        if progress:
            progress(path)
        try:
            results.append(read_plan(path, limits))
        except UnreadableWorkbook as error:
            results.append(unreadable_report(path, error))
        except Exception as error:
            # Whatever goes wrong reading one file is that file's problem, never the run's.
            log.warning("reading %s failed", path, exc_info=True)
            results.append(unreadable_report(path, unexpected_failure(path, error)))
    return results


def _read_in_reader(paths: list[Path], limits: Limits) -> list[FileReport | PlanTable]:
    """Read files in a forked reader process, so that a reader that aborts costs only
    the file it was reading: then the files are read again, one to a process."""
    results = _fork_and_read(paths, limits)
    if results is not None:
        return results
    if len(paths) > 1:
        log.warning("a reading process stopped; reading %s to %s one by one", paths[0], paths[-1])
        return [result for path in paths for result in _read_in_reader([path], limits)]
    log.warning("the reading process stopped on %s", paths[0])
    return [reader_stopped(paths[0])]


def _fork_and_read(paths: list[Path], limits: Limits) -> list[FileReport | PlanTable] | None:
    """The results of reading ``paths`` in a forked process, or None if it died.

    The reader sends its results' length first: once they are all here there is no
    need to wait for it to finish exiting (tearing down a copy of a big process takes
    longer than the fork); it is reaped on the next call.
    """
    import python_calamine  # noqa: F401  (loaded here once, not in every reader)

    _reap(block=False)
    parent = os.getpid()
    receive, send = os.pipe()
    pid = os.fork()
    if pid == 0:  # the reader
        status = 1
        try:
            os.close(receive)
            start_reader(parent)
            data = pickle.dumps(_read_all(paths, limits), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(send, "wb") as pipe:
                pipe.write(len(data).to_bytes(8, "little") + data)
            status = 0
        finally:
            os._exit(status)  # never back into the caller's code (tests, the CLI)
    os.close(send)
    with os.fdopen(receive, "rb") as pipe:
        data = pipe.read(8)
        size = int.from_bytes(data, "little") if len(data) == 8 else -1
        data = pipe.read(size) if size >= 0 else b""
    _READERS.append(pid)
    if size < 0 or len(data) != size:
        _reap(block=True)
        return None  # the reader died before it had sent everything
    # From our own reader, through our own pipe: safe to unpickle.
    return pickle.loads(data)


_READERS: list[int] = []  # reader processes that have sent their results, to be reaped


def _reap(block: bool) -> None:
    for pid in list(_READERS):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _READERS.remove(pid)


def reader_stopped(path: Path) -> FileReport:
    return unreadable_report(
        path,
        UnreadableWorkbook(
            "reading it stopped the reader (out of memory, or a crash): the file may be "
            "damaged; ask for it to be saved and sent again",
            path,
        ),
    )


def unexpected_failure(path: Path, error: Exception) -> UnreadableWorkbook:
    """A failure the reader did not foresee, in words for the person who sent the file."""
    if isinstance(error, MemoryError):
        reason = "reading it needed more memory than this computer has"
    elif isinstance(error, OSError):
        reason = f"it could not be opened ({(error.strerror or 'an error').lower()})"
    else:
        reason = "it is damaged or incomplete and could not be read"
    return UnreadableWorkbook(f"{reason}: ask for it to be saved and sent again", path)


def _validated(
    results: list[FileReport | PlanTable], pack: RulePack, reporting_date: dt.date | None
) -> list[FileReport]:
    tables = [r for r in results if isinstance(r, PlanTable)]
    validated = iter(validate_tables(tables, pack, reporting_date))
    return [r if isinstance(r, FileReport) else next(validated) for r in results]


def _chunk_to_file(
    folder: str, number: int, paths: list[Path], pack, reporting_date, limits
) -> str:
    """In a worker: read and validate a chunk, and leave the reports in a file.

    A worker killed while sending a big result down the pool's pipe leaves the
    pool waiting for the rest of the message for ever; a file name is too small
    to be cut in half, and a killed worker's half-written file is never renamed.
    """
    with paused_gc():
        reports = _validated(_read_all(paths, limits), pack, reporting_date)
    target = Path(folder) / f"chunk-{number}.pickle"
    partial = target.with_suffix(".partial")
    with partial.open("wb") as handle:
        pickle.dump(reports, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(target)
    return str(target)


def _parallel(paths, pack, reporting_date, limits, progress, workers) -> Iterator[FileReport]:
    import multiprocessing

    from xltools.fileio import scratch_folder

    # Chunks small enough to balance the workers and move the progress bar, large
    # enough that each pandera pass covers many plans.
    size = max(1, min(CHUNK_FILES, -(-len(paths) // (workers * 4))))
    chunks = [paths[start : start + size] for start in range(0, len(paths), size)]
    context = multiprocessing.get_context(START_METHOD)
    with scratch_folder("chunks") as folder:
        task = _Task(folder, pack, reporting_date, limits, context)
        done = 0
        while done < len(chunks):
            # A pool that breaks is replaced for the chunks after the one it broke on.
            for reports in task.run_pool(chunks[done:], workers):
                for report in reports:
                    if progress:
                        progress(report.path)
                    yield report
                done += 1


class _Task:
    """Reading and validating chunks in worker processes, for :func:`_parallel`."""

    def __init__(self, folder, pack, reporting_date, limits, context) -> None:
        self.folder, self.context = folder, context
        self.arguments = (pack, reporting_date, limits)
        self.numbers = itertools.count()

    def run_pool(self, chunks: list[list[Path]], workers: int) -> Iterator[list[FileReport]]:
        """Each chunk's reports, in order; stops after the chunk a broken pool failed."""
        from concurrent.futures.process import BrokenProcessPool

        with self._pool(workers) as pool:
            futures = [self._submit(pool, chunk) for chunk in chunks]
            for chunk, future in zip(chunks, futures, strict=True):
                try:
                    yield self._load(future.result())
                except BrokenProcessPool:
                    # A worker died: out of memory, or a parser crashed on some file. Read
                    # this chunk's files one to a process, so only that file is lost.
                    log.warning(
                        "a reading process stopped; reading %s to %s one by one",
                        chunk[0].name,
                        chunk[-1].name,
                    )
                    yield [self._alone(path) for path in chunk]
                    return

    def _pool(self, workers: int):
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            workers, self.context, initializer=start_reader, initargs=(os.getpid(),)
        )

    def _submit(self, pool, chunk: list[Path]):
        return pool.submit(_chunk_to_file, self.folder, next(self.numbers), chunk, *self.arguments)

    @staticmethod
    def _load(path: str) -> list[FileReport]:
        # Our own worker's file, in our own temporary folder: safe to unpickle.
        with open(path, "rb") as handle:
            return pickle.load(handle)

    def _alone(self, path: Path) -> FileReport:
        from concurrent.futures.process import BrokenProcessPool

        with self._pool(1) as pool:
            try:
                return self._load(self._submit(pool, [path]).result())[0]
            except BrokenProcessPool:
                log.warning("the reading process stopped on %s", path)
                return reader_stopped(path)
