"""`make score`: score a local file with the serving code, on every core, in constant memory.

Rows go in chunks to worker processes, each with its own model and one onnxruntime thread: scoring is one
unpadded ONNX run per window (handler/inference.py), too small for intra-op threads to pay off, so
separate processes scale with the cores (measured: README, "Bulk scoring"). At most a few chunks per
worker are in flight, and answers are written in input order as they come back, so memory does not grow
with the file and the output does not depend on the number of workers.

Both files (scores, and bad rows with their reasons) are written beside their destination and renamed
into place at the end: an interrupted run leaves no half-written output, and a finished one replaces the
previous run's files together.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from bulk.read import BadLine, count_rows, rows
from handler.errors import ArtifactError
from handler.inference import Classifier
from handler.rows import Columns, error_row, score_rows
from handler.sessions import available_cpus

CHUNK_ROWS = 64  # rows per task: enough to amortise the inter-process hop, small enough to keep cores busy
IN_FLIGHT_PER_WORKER = 3

Chunk = list[tuple[int, Any]]
Scored = tuple[list[dict[str, Any]], float]  # a chunk's answers, and the peak RSS (MB) of who scored it


@dataclass(frozen=True)
class Report:
    """What a run wrote: row counts, where, and how long it took."""

    rows: int
    bad_rows: int
    seconds: float
    output: Path
    errors: Path
    parent_rss_mb: float  # peak resident memory of this process
    worker_rss_mb: float  # of the largest worker process (this one's when scoring in process)

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def errors_path(output: Path) -> Path:
    """scored.jsonl -> scored.errors.jsonl, beside it."""
    return output.with_name(f"{output.stem}.errors{output.suffix}")


def score_chunk(classifier: Classifier, chunk: Chunk, columns: Columns) -> list[dict[str, Any]]:
    """One answer per row of the chunk, in order: handler.rows' answers, and unreadable lines as errors."""
    answers = iter(score_rows(classifier, [(n, r) for n, r in chunk if not isinstance(r, BadLine)], columns))
    return [
        error_row(number, None, columns, record.reason) if isinstance(record, BadLine) else next(answers)
        for number, record in chunk
    ]


def score_file(
    source: Path,
    output: Path,
    *,
    model_dir: Path,
    columns: Columns,
    workers: int | None = None,
    threads: int = 1,
    progress: bool = True,
) -> Report:
    """Score every row of `source` into `output` (JSONL) and its errors file.

    Args:
        source: a .jsonl, .csv or .parquet file.
        output: where the scores go; bad rows go to errors_path(output).
        model_dir: the artifact directory (build/model).
        columns: the text and id columns, and whether every label's score is written.
        workers: processes; default: the CPUs this process may use. 1 scores in this process.
        threads: onnxruntime intra-op threads per worker.
        progress: show a progress bar with reviews/s on stderr.

    Raises:
        InputError: the file cannot be read as a whole (bulk.read).
        ArtifactError: the model directory is not a valid artifact.
    """
    workers = workers or available_cpus()
    started = time.perf_counter()
    bar = tqdm(total=count_rows(source), unit=" reviews", desc=f"scoring {source.name}", disable=not progress)
    with bar, _atomic(output) as scored, _atomic(errors_path(output)) as errors:
        chunks = _answers(_chunks(rows(source, columns)), model_dir, columns, workers, threads)
        total, bad, worker_peak = _write(chunks, scored, errors, bar)
    seconds = time.perf_counter() - started
    return Report(total, bad, seconds, output, errors_path(output), peak_rss_mb(), worker_peak)


def _write(chunks: Iterator[Scored], scored: IO[str], errors: IO[str], bar: tqdm) -> tuple[int, int, float]:
    """Write each answer to the scores or the errors file; returns rows, bad rows, the workers' peak RSS."""
    total = bad = 0
    worker_peak = 0.0
    for answers, peak in chunks:
        for answer in answers:
            failed = "error" in answer
            # default=str: a Parquet id may be a date or a decimal, which JSON has no type for.
            (errors if failed else scored).write(json.dumps(answer, ensure_ascii=False, default=str) + "\n")
            bad += failed
        total += len(answers)
        worker_peak = max(worker_peak, peak)
        bar.update(len(answers))
    return total, bad, worker_peak


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not getrusage: ru_maxrss survives exec, so a
    process started by a big one (pytest with torch loaded) would report its parent's peak."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: ru_maxrss is in bytes on macOS
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    (line,) = (line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


def _chunks(numbered: Iterable[tuple[int, Any]]) -> Iterator[Chunk]:
    iterator = iter(numbered)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        yield chunk


def _answers(
    chunks: Iterator[Chunk], model_dir: Path, columns: Columns, workers: int, threads: int
) -> Iterator[Scored]:
    """Each chunk's answers, in input order, with the scoring process's peak RSS; scored here (1 worker)
    or in a process pool."""
    if workers == 1:
        classifier = Classifier.from_dir(model_dir, threads=threads)
        for chunk in chunks:
            yield score_chunk(classifier, chunk, columns), peak_rss_mb()
        return
    with ProcessPoolExecutor(workers, initializer=_load, initargs=(model_dir, threads)) as pool:
        yield from _ordered(lambda chunk: pool.submit(_score, chunk, columns), chunks, workers)


def _ordered(submit: Callable[[Chunk], Future], chunks: Iterator[Chunk], workers: int) -> Iterator[Scored]:
    """Results in submission order with a bounded window: the reader never runs ahead of the workers."""
    pending: deque[Future] = deque()
    for chunk in chunks:
        pending.append(submit(chunk))
        if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


_worker: Classifier | ArtifactError | None = None


def _load(model_dir: Path, threads: int) -> None:
    """Worker initializer: one model per process, loaded once. A broken artifact is kept and raised by
    the first task, so the caller gets its message instead of a broken pool."""
    global _worker
    try:
        _worker = Classifier.from_dir(model_dir, threads=threads)
    except ArtifactError as error:
        _worker = error


def _score(chunk: Chunk, columns: Columns) -> Scored:
    if not isinstance(_worker, Classifier):
        raise _worker or RuntimeError("the pool initializer did not run")
    return score_chunk(_worker, chunk, columns), peak_rss_mb()


@contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    """A text file written beside `path` and renamed onto it when the block ends without an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            yield handle
        os.chmod(name, 0o666 & ~_umask())  # as open() would have made it; mkstemp makes it 0600
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
