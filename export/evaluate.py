"""Scores of an artifact directory on labelled data, computed by the serving code itself: accuracy, macro-F1,
per-class scores and the confusion matrix (single-label), micro/macro-F1 and exact match (multi-label)."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import metrics as metrics_lib
from tqdm.auto import tqdm

from export.data import DEV_SETS, Examples, fit_problem, load_examples, relabelling, shared_data
from export.errors import DataError
from export.labels import LabelOptions
from handler.artifact import read_manifest
from handler.inference import Classifier
from handler.manifest import Manifest
from handler.sessions import available_cpus

BATCH = 32
# The headline scores (entries of a `metrics` dict, the manifest's Scores), in the order every report gives
# them: `make eval`'s table and headline, and the model card's model-index results, under these names. A
# model has those its problem yields: accuracy and macro-F1 for one label, micro-F1 and exact match for
# multi-label, within one star for star ratings.
REPORTED = {
    "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
    "within_one": "Within one star",
    "micro_f1": "Micro F1",
    "exact_match": "Exact match",
}


@dataclass(frozen=True)
class Scored:
    """Every text's class probabilities as the serving code computed them, and what it read of each."""

    probabilities: np.ndarray  # [texts, labels], in the artifact's label order
    labels: tuple[str, ...]
    windows: np.ndarray  # windows scored per text
    truncated: np.ndarray  # per text: windows beyond max_windows left unread

    def take(self, rows: slice) -> Scored:
        """The scores of some texts (a dev source's share of several)."""
        return Scored(self.probabilities[rows], self.labels, self.windows[rows], self.truncated[rows])


def scoring_classifier(model_dir: Path, manifest: Manifest | None = None) -> Classifier:
    """The artifact's Classifier as evaluations load it: one ORT thread a run, the CPUs going to batches
    of texts scored side by side instead (`score`): a window of a review is too small for two threads to
    split well (`make eval`'s time shows it)."""
    return Classifier.from_dir(model_dir, threads=1, manifest=manifest)


def score(classifier: Classifier, examples: Examples, desc: str = "evaluate") -> Scored:
    """Score every text through `handler.inference` (windows, and n-grams if the artifact has them).

    The serving code scores each window on its own, so every number here is what an API caller gets for
    that text, whatever else shares its request: batches of texts only pace the progress bar and, for a
    classifier of one thread a run (`scoring_classifier`), run one per CPU at once.
    """
    threads = classifier.session.get_session_options().intra_op_num_threads or available_cpus()
    batches = [examples.texts[start : start + BATCH] for start in range(0, len(examples), BATCH)]

    def scored(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        encoded = classifier.encode(texts)
        return classifier.probabilities(encoded), encoded.counts, encoded.truncated

    with ThreadPoolExecutor(max(1, available_cpus() // threads)) as pool:  # in order, whatever finishes first
        parts = list(tqdm(pool.map(scored, batches), total=len(batches), desc=desc, unit="batch"))
    probabilities, windows, truncated = (np.concatenate(part) for part in zip(*parts, strict=True))
    return Scored(probabilities, classifier.labels, windows, truncated)


def primary_metric(multi_label: bool) -> str:
    """The metric that picks the epoch and gates quantization: accuracy, or micro-F1 for multi-label data
    (exact match is too strict with many labels: one label wrong of 28 fails a text)."""
    return "micro_f1" if multi_label else "accuracy"


def metrics(scored: Scored, examples: Examples, threshold: float = 0.5) -> dict[str, Any]:
    """The scores of `scored` against `examples` (texts in the same order), plus what the windows read."""
    return {
        **scores(examples, scored.probabilities, threshold, scored.labels),
        "windows_mean": float(scored.windows.mean()),
        "truncated": int(scored.truncated.sum()),
    }


def by_source(scored: Scored, examples: Examples, provenance: dict[str, Any], threshold: float) -> dict:
    """Each dev source's scores when the dev data joined several ({} for one): the combined dev set is
    their rows in order, as `provenance` lists them."""
    found, start = {}, 0
    for source in provenance.get("sources", []):
        rows = slice(start, start + source["rows"])
        found[source["path"]] = metrics(
            scored.take(rows), examples.take(list(range(rows.start, rows.stop))), threshold
        )
        start = rows.stop
    return found


def evaluate(model_dir: Path, examples: Examples, desc: str = "evaluate") -> dict[str, Any]:
    """Accuracy (or multi-label F1s), per-class scores, confusion matrix and windows of the artifact in
    `model_dir` on `examples`."""
    classifier = scoring_classifier(model_dir)
    return metrics(score(classifier, examples, desc), examples, classifier.threshold)


def scores(
    examples: Examples, probabilities: np.ndarray, threshold: float, labels: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The scores of [texts, labels] probabilities (columns in `labels` order, default the examples')."""
    labels = labels or examples.names
    into = relabelling(examples.names, labels, examples.source)
    if not examples.multi_label:
        gold = np.asarray([into[y] for y in examples.labels], dtype=int)
        return label_scores(gold, probabilities.argmax(axis=1), labels)
    gold = np.zeros((len(examples), len(labels)), dtype=int)
    for row, ids in enumerate(examples.labels):
        gold[row, [into[k] for k in ids]] = 1
    return multi_label_scores(gold, (probabilities >= threshold).astype(int), labels, threshold)


def label_scores(gold: np.ndarray, predicted: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """Single-label scores of class ids: accuracy, macro-F1, per-class precision/recall/F1, the N x N
    confusion matrix (rows: gold); F1 of POSITIVE for a sentiment model that has one; for star ratings
    (labels that start with a digit), the share predicted within one star."""
    ids = list(range(len(labels)))
    per_class = per_class_scores(gold, predicted, labels)
    found: dict[str, Any] = {
        "n": len(gold),
        "accuracy": float(metrics_lib.accuracy_score(gold, predicted)),
        "macro_f1": float(
            metrics_lib.f1_score(gold, predicted, labels=ids, average="macro", zero_division=0)
        ),
        "per_class": per_class,
        "confusion_matrix": {
            "labels": list(labels),
            "rows_gold_cols_predicted": metrics_lib.confusion_matrix(gold, predicted, labels=ids).tolist(),
        },
    }
    if positive := [name for name in labels if name.casefold() == "positive"]:
        found["f1"] = per_class[positive[0]]["f1"]
    if all(re.match(r"\d", name) for name in labels):
        found["within_one"] = float((np.abs(gold - predicted) <= 1).mean())
    return found


def multi_label_scores(
    gold: np.ndarray, predicted: np.ndarray, labels: tuple[str, ...], threshold: float
) -> dict[str, Any]:
    """Multi-label scores of [texts, labels] 0/1 matrices: micro- and macro-F1, exact match (every label of
    a text right), per-class precision/recall/F1."""
    return {
        "n": len(gold),
        "micro_f1": float(metrics_lib.f1_score(gold, predicted, average="micro", zero_division=0)),
        "macro_f1": float(metrics_lib.f1_score(gold, predicted, average="macro", zero_division=0)),
        "exact_match": float(metrics_lib.accuracy_score(gold, predicted)),
        "threshold": threshold,
        "per_class": per_class_scores(gold, predicted, labels),
    }


def per_class_scores(gold: np.ndarray, predicted: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """{label: {precision, recall, f1, support}} from sklearn's classification report."""
    ids = list(range(len(labels)))
    report = metrics_lib.classification_report(
        gold, predicted, labels=ids, target_names=list(labels), output_dict=True, zero_division=0
    )
    return {
        name: {
            "precision": float(report[name]["precision"]),
            "recall": float(report[name]["recall"]),
            "f1": float(report[name]["f1-score"]),
            "support": int(report[name]["support"]),
        }
        for name in labels
    }


def write_report(metrics: dict[str, Any], model_dir: Path, data: Examples, reports_dir: Path) -> Path:
    """Write `<reports_dir>/eval-<model dir>-<data name>.json` and a Markdown twin for humans; return the JSON
    path. The model directory is in the name so that the int8 artifact's report and the fp32 export's on
    the same data do not overwrite each other."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    source = Path(data.source)
    stem = f"eval-{Path(model_dir).name}-{source.parent.name}-{source.stem}".replace(":", "-")
    report = {"model": str(model_dir), "data": data.provenance(), "metrics": metrics}
    (reports_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (reports_dir / f"{stem}.md").write_text("\n".join(report_lines(metrics, model_dir, data.source)) + "\n")
    return reports_dir / f"{stem}.json"


def headline(metrics: dict[str, Any]) -> str:
    """One line of the scores that matter: what `make eval` prints."""
    keys = (*REPORTED, "f1")  # and the F1 of POSITIVE, for a model that has that label
    return (
        ", ".join(f"{key} {metrics[key]:.4f}" for key in keys if key in metrics) + f" on {metrics['n']} texts"
    )


def report_lines(metrics: dict[str, Any], model_dir: Path, source: str) -> list[str]:
    """The Markdown report: the headline, per-class scores and (single-label) the confusion matrix."""
    per_class = metrics["per_class"]
    lines = [
        f"# Evaluation of {model_dir} on {source}",
        "",
        f"- {headline(metrics)}",
        f"- windows per text (mean): {metrics['windows_mean']:.2f}, texts truncated at max_windows: "
        f"{metrics['truncated']}",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['support']} |"
            for name, row in per_class.items()
        ),
    ]
    if confusion := metrics.get("confusion_matrix"):
        labels = confusion["labels"]
        lines += [
            "",
            "| gold \\ predicted | " + " | ".join(labels) + " |",
            "|---|" + "---|" * len(labels),
            *(
                f"| {label} | " + " | ".join(str(c) for c in row) + " |"
                for label, row in zip(labels, confusion["rows_gold_cols_predicted"], strict=True)
            ),
        ]
    return lines


def evaluate_sets(
    model_dir: Path, sources: list[str] | None, reports_dir: Path, label_column: str = "", label_map: str = ""
) -> list[tuple[str, dict[str, Any] | str]]:
    """Score the artifact on each source (default: every dev set of `DEV_SETS` this machine has under the
    shared data; none: []), each read against the model's labels and written as a report; a set whose
    labels do not fit the model is listed with the reason (a named source that does not fit is an error).

    Raises:
        DataError: a named source cannot be read or does not fit.
    """
    manifest = read_manifest(model_dir)
    names, multi_label = tuple(manifest.labels), manifest.multi_label
    options = LabelOptions(column=label_column, label_map=label_map)
    defaults = [shared_data() / name / "dev.jsonl" for name in DEV_SETS]
    paths = sources or [str(path) for path in defaults if path.is_file()]
    if not paths:
        return []
    classifier = scoring_classifier(model_dir, manifest)
    rows: list[tuple[str, dict[str, Any] | str]] = []
    for source in paths:
        try:
            data = fit_problem(load_examples(source, labels=options, names=names), multi_label)
        except DataError as exc:
            if sources is not None:
                raise
            rows.append((source, f"skipped: {exc}"))
            continue
        found = metrics(score(classifier, data, Path(source).parent.name), data, classifier.threshold)
        rows.append((source, found | {"report": str(write_report(found, model_dir, data, reports_dir))}))
    return rows


def table(rows: list[tuple[str, dict[str, Any] | str]]) -> str:
    """The Markdown table `make eval` prints: one row per data set."""
    shown = [key for key in REPORTED if any(isinstance(m, dict) and key in m for _, m in rows)]
    lines = ["| data | n | " + " | ".join(shown) + " |", "|---|---|" + "---|" * len(shown)]
    for source, found in rows:
        if isinstance(found, str):
            lines.append(f"| {source} | | {found} |" + " |" * (len(shown) - 1))
            continue
        cells = [f"{100 * found[key]:.2f} %" if key in found else "" for key in shown]
        lines.append(f"| {source} | {found['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
