"""Accuracy, F1 and confusion matrix of an artifact directory, scored by the serving code itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from export.data import LABELS, Examples
from handler.inference import Classifier

BATCH = 32


@dataclass(frozen=True)
class Scored:
    """Every text's class probabilities as the serving code computed them, and what it read of each."""

    probabilities: np.ndarray  # [texts, labels], in the artifact's label order
    labels: tuple[str, ...]
    windows: np.ndarray  # windows scored per text
    truncated: int  # texts with windows beyond max_windows left unread


def score(classifier: Classifier, examples: Examples, desc: str = "evaluate") -> Scored:
    """Score every text through `handler.inference` (windows, and n-grams if the artifact has them).

    The serving code scores each window on its own, so every number here is what an API caller gets for
    that text, whatever else shares its request; batches only pace the progress bar.
    """
    probabilities, windows, truncated = [], [], 0
    for start in tqdm(range(0, len(examples), BATCH), desc=desc, unit="batch"):
        encoded = classifier.encode(examples.texts[start : start + BATCH])
        probabilities.append(classifier.probabilities(encoded))
        windows.append(encoded.counts)
        truncated += int(encoded.truncated.sum())
    return Scored(np.concatenate(probabilities), classifier.labels, np.concatenate(windows), truncated)


def metrics(scored: Scored, examples: Examples) -> dict[str, Any]:
    """The scores of `scores` plus what the windows read, for texts scored in `examples`' order."""
    predicted = np.asarray([LABELS.index(scored.labels[k]) for k in scored.probabilities.argmax(axis=1)])
    return {
        **scores(np.asarray(examples.labels), predicted),
        "windows_mean": float(scored.windows.mean()),
        "truncated": scored.truncated,
    }


def evaluate(model_dir: Path, examples: Examples, desc: str = "evaluate") -> dict[str, Any]:
    """Accuracy, F1, confusion matrix and windows of the artifact in `model_dir` on `examples`."""
    return metrics(score(Classifier.from_dir(model_dir), examples, desc), examples)


def scores(gold: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Accuracy, POSITIVE-class precision/recall/F1, macro F1, and the confusion matrix (rows: gold)."""
    confusion = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    np.add.at(confusion, (gold, predicted), 1)
    f1s = []
    for k in range(len(LABELS)):
        tp = confusion[k, k]
        precision = tp / max(confusion[:, k].sum(), 1)
        recall = tp / max(confusion[k, :].sum(), 1)
        f1s.append(float(2 * precision * recall / max(precision + recall, 1e-12)))
    positive = LABELS.index("POSITIVE")
    return {
        "n": len(gold),
        "accuracy": float((gold == predicted).mean()),
        "f1": f1s[positive],
        "macro_f1": float(np.mean(f1s)),
        "confusion_matrix": {"labels": list(LABELS), "rows_gold_cols_predicted": confusion.tolist()},
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
    confusion = metrics["confusion_matrix"]["rows_gold_cols_predicted"]
    lines = [
        f"# Evaluation of {model_dir} on {data.source}",
        "",
        f"- texts: {metrics['n']}, accuracy: {metrics['accuracy']:.4f}, F1 (POSITIVE): {metrics['f1']:.4f}, "
        f"macro F1: {metrics['macro_f1']:.4f}",
        f"- windows per text (mean): {metrics['windows_mean']:.2f}, texts truncated at max_windows: "
        f"{metrics['truncated']}",
        "",
        "| gold \\ predicted | " + " | ".join(LABELS) + " |",
        "|---|" + "---|" * len(LABELS),
        *(
            f"| {label} | " + " | ".join(str(c) for c in row) + " |"
            for label, row in zip(LABELS, confusion, strict=True)
        ),
    ]
    (reports_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")
    return reports_dir / f"{stem}.json"
