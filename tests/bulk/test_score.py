"""`make score` end to end on the tiny artifact: bad rows reported with their row numbers, the same output
for any number of workers, atomic writes, one-line errors, and memory that does not grow with the file."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from handler.artifact import read_manifest, read_tokenizer

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "The kettle boils fast, pours cleanly and the lid stays shut; the handle gets warm. "
LONG_REVIEW = (SENTENCE * (50_000 // len(SENTENCE) + 1))[:50_000]  # 5 times the API's limit
ROWS = [
    {"id": "a", "text": "Crisp screen, great battery, arrived early."},
    {"id": "b", "text": "   "},
    {"id": "c", "title": "no text"},
    {"id": "d", "text": LONG_REVIEW},
    {"id": "e", "text": "Stopped working after a week."},
    {"id": "f", "text": "Lovely kettle. " * 200},  # several windows
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + "{broken\n")
    return path


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`make ARGS` outside the parent make's environment (MAKEFLAGS, MODEL_DIR from the handler tests)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MODEL_DIR")}
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def score(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bulk", "score", *args], cwd=ROOT, capture_output=True, text=True
    )


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_make_score_reports_bad_rows_by_row_number(tiny_artifact, tmp_path):
    source = write_jsonl(tmp_path / "reviews.jsonl", ROWS)
    out = tmp_path / "scored.jsonl"
    done = make("score", f"IN={source}", f"OUT={out}", f"MODEL_DIR={tiny_artifact}", "ID_COLUMN=id")
    assert done.returncode == 0, done.stderr
    assert "scored 4 of 7 rows" in done.stdout
    assert "reviews/s" in done.stderr
    scored = lines(out)
    assert [(r["row"], r["id"]) for r in scored] == [(1, "a"), (4, "d"), (5, "e"), (6, "f")]
    assert scored[3]["windows"] > 1
    assert "scores" not in scored[0]
    assert {r["model"] for r in scored} == {read_manifest(tiny_artifact).model_id}
    bad = lines(tmp_path / "scored.errors.jsonl")
    assert [(r["row"], r["id"]) for r in bad] == [(2, "b"), (3, "c"), (7, None)]
    assert all(set(r) == {"row", "id", "error"} and "\n" not in r["error"] for r in bad)
    errors = {r["row"]: r["error"] for r in bad}
    assert errors[3] == "no column 'text'"
    assert errors[7].startswith("not JSON")


def test_same_input_same_output_whatever_the_workers(tiny_artifact, tmp_path):
    """520 rows are 9 chunks: more than the 6 two workers keep in flight, so the window really slides."""
    rows = [
        {"text": f"Review {i}: {'great' if i % 3 else 'awful'} product, {'really ' * (i % 40)}so"}
        for i in range(520)
    ]
    source = write_jsonl(tmp_path / "many.jsonl", rows)
    outputs = []
    for workers in ("1", "2", "2"):
        out = tmp_path / f"w{workers}-{len(outputs)}.jsonl"
        done = score(
            str(source), str(out), "--model", str(tiny_artifact), "--workers", workers, "--no-progress"
        )
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert [r["row"] for r in lines(tmp_path / "w1-0.jsonl")] == list(range(1, 521))


def test_csv_and_parquet_with_every_score(tiny_artifact, tmp_path):
    table = pa.table({"review": ["Great value.", "", "Broke at once."], "sku": [10, 11, 12]})
    pq.write_table(table, tmp_path / "reviews.parquet")
    (tmp_path / "reviews.csv").write_text('sku,review\n10,Great value.\n11,\n12,"Broke,\nat once."\n13\n')
    for name in ("reviews.parquet", "reviews.csv"):
        out = tmp_path / f"{name}.jsonl"
        args = ["--text-column", "review", "--id-column", "sku", "--all-scores", "--no-progress"]
        done = score(str(tmp_path / name), str(out), "--model", str(tiny_artifact), *args)
        assert done.returncode == 0, done.stderr
        scored = lines(out)
        assert [r["row"] for r in scored] == [1, 3]
        assert [r["id"] for r in scored] in ([10, 12], ["10", "12"])  # Parquet keeps the type, CSV is text
        assert all(set(r["scores"]) == {"NEGATIVE", "POSITIVE"} for r in scored)
    csv_errors = {r["row"]: r["error"] for r in lines(tmp_path / "reviews.csv.errors.jsonl")}
    assert csv_errors[4] == "no column 'review'"  # a short row: its fields are missing, not blank


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_50000_character_review_is_read_in_windows(tiny_artifact, tmp_path, suffix):
    """Bulk has no request body to protect: a review over the API's 10,000 characters is scored, in its
    first max_windows windows as the API reads a long text, and the row says so."""
    source = tmp_path / f"long{suffix}"
    if suffix == ".csv":
        source.write_text(f'id,text\nlong,"{LONG_REVIEW}"\n')
    else:
        source.write_text(json.dumps({"id": "long", "text": LONG_REVIEW}) + "\n")
    out = tmp_path / "scored.jsonl"
    done = score(str(source), str(out), "--model", str(tiny_artifact), "--id-column", "id", "--no-progress")
    assert done.returncode == 0, done.stderr
    (row,) = lines(out)
    max_windows = read_manifest(tiny_artifact).max_windows
    needed = 1 + len(read_tokenizer(tiny_artifact).encode(LONG_REVIEW).overflowing)
    assert needed > max_windows > 1
    assert (row["id"], row["windows"], row["truncated"]) == ("long", max_windows, True)
    assert row["label"] in read_manifest(tiny_artifact).labels


def test_ids_json_has_no_type_for_are_written_as_text(tiny_artifact, tmp_path):
    """A Parquet id column of dates: each row, scored or bad, still names its id."""
    days = [datetime.datetime(2026, 12, day) for day in (1, 2)]
    pq.write_table(pa.table({"text": ["Great value.", " "], "day": days}), tmp_path / "r.parquet")
    out = tmp_path / "scored.jsonl"
    done = score(str(tmp_path / "r.parquet"), str(out), "--model", str(tiny_artifact), "--id-column", "day")
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in lines(out)] == ["2026-12-01 00:00:00"]
    assert [r["id"] for r in lines(tmp_path / "scored.errors.jsonl")] == ["2026-12-02 00:00:00"]


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda p: p / "none.jsonl", "No such file"),
        (lambda p: (p / "r.txt").write_text("x") and p / "r.txt", "unknown file type '.txt'"),
        (
            lambda p: (p / "r.csv").write_text("title\nx\n") and p / "r.csv",
            "no column 'text' (columns: title)",
        ),
        (lambda p: (p / "r.jsonl").write_bytes(b'{"text": "\xff"}\n') and p / "r.jsonl", "not UTF-8"),
    ],
)
def test_bad_files_are_one_line_errors_and_write_nothing(tiny_artifact, tmp_path, make_input, message):
    out = tmp_path / "out" / "scored.jsonl"
    done = score(str(make_input(tmp_path)), str(out), "--model", str(tiny_artifact), "--no-progress")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: "), done.stderr
    assert message in line
    assert "Traceback" not in done.stderr
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no output, no temp file left


def test_a_broken_model_keeps_the_previous_output(tmp_path):
    source = write_jsonl(tmp_path / "r.jsonl", ROWS[:1])
    out = tmp_path / "scored.jsonl"
    out.write_text("previous run\n")
    (tmp_path / "model").mkdir()
    done = score(str(source), str(out), "--model", str(tmp_path / "model"), "--workers", "2", "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "r.jsonl", "scored.jsonl"]


def test_out_must_be_jsonl(tiny_artifact, tmp_path):
    source = write_jsonl(tmp_path / "r.jsonl", ROWS[:1])
    done = score(str(source), str(tmp_path / "scored.csv"), "--model", str(tiny_artifact))
    assert done.returncode == 2
    assert "must end in .jsonl" in done.stderr


def test_make_score_names_missing_variables(tiny_artifact):
    done = make("score", "OUT=x.jsonl", f"MODEL_DIR={tiny_artifact}")
    assert done.returncode != 0
    assert "make score needs IN=" in done.stderr


@pytest.mark.slow
def test_100k_rows_in_constant_memory(tiny_artifact, tmp_path, record_property):
    """Peak RSS of the parent and of the largest worker on 100,000 rows, against 5,000 rows: the file is
    streamed, so ten times the rows (a 20 MB file) does not raise the parent's peak."""
    peaks = {}
    for count in (5_000, 100_000):
        review = "Solid blender, a little loud, but it crushes ice and the jug is easy to clean. " * 3
        rows = ({"text": f"{i} {review}"} for i in range(count))
        source = tmp_path / f"{count}.jsonl"
        with source.open("w") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        out = tmp_path / f"{count}.scored.jsonl"
        done = score(str(source), str(out), "--model", str(tiny_artifact), "--workers", "2", "--no-progress")
        assert done.returncode == 0, done.stderr
        assert sum(1 for _ in out.open()) == count
        peaks[count] = _peaks(done.stdout)
        record_property(f"peak_rss_mb_{count}", peaks[count])
        print(f"{count:,} rows ({source.stat().st_size / 1e6:.0f} MB): {done.stdout.strip()}")
    assert peaks[100_000]["parent"] < peaks[5_000]["parent"] + 30
    assert peaks[100_000]["worker"] < peaks[5_000]["worker"] + 30


def _peaks(stdout: str) -> dict[str, float]:
    """The MB figures of the summary's `peak RSS: parent X MB, largest worker Y MB`."""
    tail = stdout.split("peak RSS: ", 1)[1]
    parent, worker = (float(part.split()[-2]) for part in tail.split(", ")[:2])
    return {"parent": parent, "worker": worker}


def test_explain_writes_each_rows_words_and_weights(tiny_artifact, tmp_path):
    """--explain (EXPLAIN=1): a short row gets its words with their offsets and weights, the same whatever
    the workers; a row whose explanation would cost more than its max_windows says why it has none."""
    rows = [
        {"text": "Great value, love it 😍"},
        {"text": "Lovely kettle. " * 200},
        {"text": "Broke at once."},
    ]
    source = write_jsonl(tmp_path / "reviews.jsonl", rows)
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"explained-{workers}.jsonl"
        done = score(str(source), str(out), "--model", str(tiny_artifact), "--explain", "--workers", workers)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    first, long, last = lines(tmp_path / "explained-1.jsonl")
    for row, scored in ((rows[0], first), (rows[2], last)):
        assert [row["text"][c["start"] : c["end"]] for c in scored["explanation"]] == [
            c["text"] for c in scored["explanation"]
        ]
        assert all(set(c) == {"text", "start", "end", "weight"} for c in scored["explanation"])
    assert [c["text"] for c in first["explanation"]] == ["Great", "value", "love", "it", "😍"]
    assert "explanation" not in long
    assert long["explanation_skipped"].endswith("(the model's max_windows): explain it through the API")
