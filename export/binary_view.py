"""`python -m export.binary_view MODEL_DIR [MODEL_DIR ...] [--data FILE]`: how artifacts read the binary view
of star-rated reviews (1-2 stars negative, 4-5 positive, 3 left out), overall and per star.

Why: it answers whether a model trained further on the star reviews (`make model-stars-3`, `-5`) reads
negative from positive better than the binary default does (docs/models.md, "Why amazon-stars (binary)
stays near 92 %"). A star model's probabilities are summed into the two sides (a neutral class left out);
each text is scored by the serving code, windows and n-gram blend included (`export.evaluate.score`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from export.data import load_examples, shared_data
from export.errors import DataError
from export.evaluate import score, scoring_classifier
from export.labels import PRESETS, LabelOptions, parse_label_map

STARS_DEV = Path("amazon-stars", "dev.jsonl")  # under the shared data
STARS = (1, 2, 4, 5)  # the binary view's stars


def sides(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Masks over `labels`: the negative side (the stars presets' names for 1-2 stars only) and the
    positive one (4-5 stars only); a label of 3 stars, or of both sides, is on neither.

    Raises:
        DataError: a label no stars preset names (the model does not answer in stars).
    """
    stars: dict[str, set[int]] = {}
    for preset in PRESETS:
        for value, name in parse_label_map(preset).entries.items():
            if name is not None:
                stars.setdefault(name.casefold(), set()).add(int(value))
    unknown = [label for label in labels if label.casefold() not in stars]
    if unknown:
        raise DataError(f"labels {unknown} are none of the stars presets' ({', '.join(PRESETS)})")
    read = [stars[label.casefold()] for label in labels]
    return np.array([max(s) <= 2 for s in read]), np.array([min(s) >= 4 for s in read])


def binary_view(model_dir: Path, data: Path | None = None) -> dict[str, float]:
    """Accuracy on the 1-2 vs 4-5 star rows of `data` (a `stars` column; default: the shared data's
    amazon-stars dev set), overall and per star."""
    examples = load_examples(str(data or shared_data() / STARS_DEV), labels=LabelOptions(label_map="stars-5"))
    star = np.asarray(examples.labels) + 1  # stars-5's classes are 1 star ... 5 stars, in order
    kept = np.flatnonzero(star != 3)
    examples, star = examples.take(kept.tolist()), star[kept]
    classifier = scoring_classifier(model_dir)
    negative, positive = sides(classifier.labels)
    probabilities = score(classifier, examples, desc=model_dir.name).probabilities
    right = (probabilities[:, positive].sum(axis=1) > probabilities[:, negative].sum(axis=1)) == (star >= 4)
    return {"binary": float(right.mean())} | {_star(s): float(right[star == s].mean()) for s in STARS}


def _star(stars: int) -> str:
    return f"{stars} star" if stars == 1 else f"{stars} stars"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.binary_view", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="artifact directories (build/model, ...)")
    parser.add_argument(
        "--data",
        type=Path,
        help=f"star-rated reviews (a `stars` column; default: {STARS_DEV} under ../shared/data or "
        "SENTIMENT_SHARED_DATA)",
    )
    args = parser.parse_args(argv)
    try:
        rows = [(model, binary_view(model, args.data)) for model in args.models]
    except DataError as exc:
        parser.exit(2, f"error: {exc}\n")
    print("| model | binary view | " + " | ".join(_star(s) for s in STARS) + " |")
    print("| --- " * (len(STARS) + 2) + "|")
    for model, found in rows:
        print(f"| `{model}` | " + " | ".join(f"{100 * v:.2f} %" for v in found.values()) + " |")


if __name__ == "__main__":
    main()
