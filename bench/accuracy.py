"""Accuracy on the dev sets: int8 as served, fp32, the PyTorch peer and the VADER lexicon baseline.

The ONNX rows go through `handler.inference.Classifier` (windowing and averaging included), so they
measure exactly what the API answers. fp32 reuses the served tokenizer and labels with the fp32 weights.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tqdm import tqdm
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.config import DEV_SETS
from bench.errors import BenchError
from bench.inputs import Labelled, load_jsonl
from handler.inference import Classifier

POSITIVE = "POSITIVE"
CHUNK = 32  # texts per model call: bounded memory, and the peer's and ours batch alike

# A predictor maps texts to 0/1 (1 = positive), the dev sets' label convention.
Predictor = Callable[[list[str]], list[int]]


def onnx_predictor(classifier: Classifier) -> Predictor:
    """0/1 predictions from the serving code's averaged window probabilities."""
    positive = classifier.labels.index(POSITIVE)
    return lambda texts: [
        int(i == positive) for i in classifier.predict_proba(texts, batch_size=CHUNK).argmax(1)
    ]


def fp32_classifier(served: Classifier, fp32_dir: Path) -> Classifier:
    """The served tokenizer, manifest and labels in front of the fp32 export's weights.

    Raises:
        BenchError: the fp32 export is missing.
    """
    model = fp32_dir / "model.onnx"
    if not model.is_file():
        raise BenchError(f"fp32 model not found: {model} (written by `make model`)")
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return Classifier(served.tokenizer, session, served.manifest, served.labels)


def peer_predictor(checkpoint_dir: Path) -> Predictor:
    """0/1 predictions of the transformers pipeline (imported here: torch stays out of the other rows)."""
    from bench.peer import classify, load_classifier

    classifier = load_classifier(checkpoint_dir)
    return lambda texts: [int(p["label"] == POSITIVE) for p in classify(classifier, texts)]


def vader_predictor() -> Predictor:
    """VADER's compound score, positive at >= 0 (the lexicon has no trained threshold for two classes)."""
    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: [int(analyzer.polarity_scores(t)["compound"] >= 0) for t in texts]


def accuracy(predict: Predictor, data: Labelled, desc: str) -> float:
    """Share of correct labels, predicted CHUNK texts at a time behind a progress bar."""
    predicted: list[int] = []
    for start in tqdm(range(0, len(data.texts), CHUNK), desc=desc, unit="batch", leave=False):
        predicted += predict(data.texts[start : start + CHUNK])
    return float(np.mean(np.asarray(predicted) == np.asarray(data.labels)))


def dev_sets(data_dir: Path, limit: int) -> dict[str, Labelled]:
    """The dev sets present under `data_dir` (each `<set>/dev.jsonl`).

    Raises:
        BenchError: none of them is there.
    """
    found = {
        name: load_jsonl(data_dir / name / "dev.jsonl", limit)
        for name in DEV_SETS
        if (data_dir / name / "dev.jsonl").is_file()
    }
    if not found:
        raise BenchError(
            f"no dev set under {data_dir} (expected <set>/dev.jsonl for one of {', '.join(DEV_SETS)})"
        )
    return found


def accuracy_table(predictors: dict[str, Predictor], sets: dict[str, Labelled]) -> dict[str, dict]:
    """`{system: {set: {"accuracy": a, "n": rows}}}` for every predictor on every set."""
    return {
        system: {
            name: {"accuracy": accuracy(predict, data, f"accuracy {system} {name}"), "n": len(data.texts)}
            for name, data in sets.items()
        }
        for system, predict in predictors.items()
    }
