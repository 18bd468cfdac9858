"""Accuracy on the dev sets: int8 as served, fp32, the PyTorch peer and the VADER lexicon baseline.

The ONNX rows are export's own evaluation, which scores through `handler.inference` (windowing and
averaging included), so they measure exactly what the API answers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.config import DEV_SETS
from bench.errors import BenchError
from export.data import Examples, load_examples
from export.errors import DataError
from export.evaluate import BATCH, evaluate, label_scores
from export.labels import BINARY
from handler.errors import ArtifactError

# A predictor maps texts to label indices (0 = NEGATIVE, 1 = POSITIVE), the dev sets' convention.
Predictor = Callable[[list[str]], list[int]]


def peer_predictor(checkpoint_dir: Path) -> Predictor:
    """The transformers pipeline (imported here, so torch loads only when the peer is measured)."""
    from bench.peer import classify, load_classifier

    classifier = load_classifier(checkpoint_dir)
    return lambda texts: [BINARY.index(p["label"]) for p in classify(classifier, texts)]


def vader_predictor() -> Predictor:
    """VADER's compound score, positive at >= 0 (the lexicon has no trained two-class threshold)."""
    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: [int(analyzer.polarity_scores(t)["compound"] >= 0) for t in texts]


def predictor_scores(predict: Predictor, examples: Examples, desc: str) -> dict:
    """Accuracy, F1 and confusion of `predict`, batched by text length so padded batches waste little."""
    order = sorted(range(len(examples)), key=lambda i: len(examples.texts[i]))
    predicted = np.zeros(len(examples), dtype=int)
    for start in tqdm(range(0, len(order), BATCH), desc=desc, unit="batch", leave=False):
        rows = order[start : start + BATCH]
        predicted[rows] = predict([examples.texts[i] for i in rows])
    return label_scores(np.asarray(examples.labels), predicted, examples.names)


def dev_sets(data_dir: Path, limit: int) -> dict[str, Examples]:
    """The dev sets present under `data_dir` (`<set>/dev.jsonl`), first `limit` rows each (0 = all).

    Raises:
        BenchError: none is there, or one cannot be read.
    """
    paths = {name: data_dir / name / "dev.jsonl" for name in DEV_SETS}
    try:
        found = {
            name: load_examples(str(path), limit=limit) for name, path in paths.items() if path.is_file()
        }
    except DataError as err:
        raise BenchError(str(err)) from err
    if not found:
        raise BenchError(
            f"no dev set under {data_dir}: expected <set>/dev.jsonl for one of {', '.join(DEV_SETS)}"
        )
    return found


def accuracy_table(model_dir: Path, fp32_dir: Path, checkpoint_dir: Path, sets: dict[str, Examples]) -> dict:
    """`{system: {set: {"accuracy": ..., "f1": ..., "n": rows, ...}}}` for int8, fp32, peer and VADER.

    Raises:
        BenchError: an ONNX artifact directory is missing or broken.
    """
    table: dict[str, dict] = {}
    try:
        for system, directory in (("int8", model_dir), ("fp32", fp32_dir)):
            table[system] = {
                name: {**evaluate(directory, data, f"{system} {name}"), "n": len(data)}
                for name, data in sets.items()
            }
    except ArtifactError as err:
        raise BenchError(str(err)) from err
    for system, predict in (("peer", peer_predictor(checkpoint_dir)), ("vader", vader_predictor())):
        table[system] = {
            name: {**predictor_scores(predict, data, f"{system} {name}"), "n": len(data)}
            for name, data in sets.items()
        }
    return table
