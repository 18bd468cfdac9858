"""The artifact's model card: README.md in the Hugging Face format, written from the manifest.

YAML metadata first (base model, data sets, license, and the dev scores as `model-index` results, which the
Hub renders as an evaluation table), then what a reader needs before using the model: what it is for, its
labels, how long texts are read, its limits, and how it was built. huggingface_hub writes the metadata, so
the card is what the Hub itself would accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from export.evaluate import REPORTED  # the manifest's metrics that become model-index results
from export.identity import Licence
from handler.manifest import Manifest, Metrics, Source, Sources

CARD_FILE = "README.md"


def write_model_card(directory: Path, manifest: Manifest, licence: Licence) -> Path:
    """Write `directory/README.md` for the int8 artifact whose manifest is `manifest`, under `licence`;
    return its path."""
    data = ModelCardData(
        language="en",
        license=licence.id,
        license_name=licence.name,
        license_link=licence.link,
        library_name="onnx",
        pipeline_tag="text-classification",
        tags=["sentiment-analysis", "onnx", "int8", "aws-lambda"],
        base_model=manifest.base_model,
        datasets=[data_name(source.path) for source in sources(manifest.data.train)] or None,
        model_name=manifest.name,
        eval_results=eval_results(manifest) or None,
    )
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + body(manifest, licence))
    path = directory / CARD_FILE
    card.save(path)
    return path


def sources(provenance: Source | Sources | None) -> list[Source]:
    """The data files of a provenance entry (one source, or several under "sources")."""
    if provenance is None:
        return []
    return provenance.sources if isinstance(provenance, Sources) else [provenance]


def eval_results(manifest: Manifest) -> list[EvalResult]:
    """One model-index result per dev set and metric, int8 as served."""
    results = []
    for name, scores in dev_scores(manifest).items():
        for key, title in REPORTED.items():
            if key in scores:
                results.append(
                    EvalResult(
                        task_type="text-classification",
                        dataset_type=data_name(name),
                        dataset_name=data_name(name),
                        dataset_split="dev",
                        metric_type=key,
                        metric_name=title,
                        metric_value=round(scores[key], 4),
                    )
                )
    return results


def gated(manifest: Manifest) -> Metrics:
    """The int8 artifact's metrics; the fp32 export, which has none, gets no card.

    Raises:
        ValueError: `manifest` has no metrics.
    """
    if manifest.metrics is None:
        raise ValueError(f"{manifest.name}: a model card is written for a gated int8 artifact only")
    return manifest.metrics


def dev_scores(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """int8 scores by dev set (the keys each has): each source's when the dev data had several, else the
    one set's; none for a model gated on parity alone."""
    metrics = gated(manifest)
    if by_source := metrics.int8_by_dev_source:
        return {name: scores.model_dump() for name, scores in by_source.items()}
    dev = manifest.data.dev
    if metrics.int8 is None:
        return {}
    return {dev.path if isinstance(dev, Source) else "dev": metrics.int8.model_dump()}


def gate_lines(manifest: Manifest) -> list[str]:
    """The card's scores and gate: the int8 scores per dev set and the points quantization cost, or, for a
    model gated on parity alone, how often int8 answers as fp32 and why no scores."""
    metrics = gated(manifest)
    scheme = manifest.quantization.scheme if manifest.quantization else "none"
    if (parity := metrics.parity_gate) is not None:
        return [
            "## Gate (int8 against fp32)",
            "",
            f"Gated on parity alone: {parity.reason} was at hand, so no accuracy is reported. Quantized "
            f"({scheme}), the model answers as fp32 does on {100 * parity.agreement:.2f} % of "
            f"{parity.texts} texts (at least {100 * parity.min_agreement:.2f} % required). Measure it on "
            "data labelled with its labels before relying on it (`make eval DATA=...`).",
        ]
    found = dev_scores(manifest)
    shown = [key for key in REPORTED if any(key in scores for scores in found.values())]
    rows = [
        f"| `{data_name(name)}` | {scores['n']} | "
        + " | ".join(f"{100 * scores[key]:.2f} %" if key in scores else "" for key in shown)
        + " |"
        for name, scores in found.items()
    ]
    return [
        "## Scores (int8, as served)",
        "",
        "| dev set | n | " + " | ".join(REPORTED[key] for key in shown) + " |",
        "|---|---|" + "---|" * len(shown),
        *rows,
        "",
        f"Quantization ({scheme}) changed the gated metric by "
        f"{-(metrics.quantization_drop_points or 0):+.2f} points against fp32.",
    ]


def body(manifest: Manifest, licence: Licence) -> str:
    """The card's Markdown: use, labels, long texts, scores or gate, limits, licence, build."""
    labels = ", ".join(f"`{name}`" for name in manifest.labels)
    answer = (
        f"every label whose probability reaches {manifest.threshold} (sigmoid per label), and the top one"
        if manifest.multi_label
        else "the most probable label and its probability (softmax over the labels)"
    )
    config = manifest.config
    trained = manifest.fine_tuned
    ngrams = manifest.ngrams
    blend = (
        f"An n-gram model (`{ngrams.file}`, {ngrams.features} token-id unigrams and bigrams, logistic "
        f"regression) reads the whole text and is blended with the transformer's windows at weight "
        f"{ngrams.weight}."
        if ngrams
        else f"No n-gram model ({manifest.ngrams_skipped or 'none'})."
    )
    parity_only = gated(manifest).parity_gate is not None
    on_reviews = "" if parity_only else " (the dev sets below are Amazon reviews)"
    training = (
        f"{config.get('epochs')} epochs at learning rate {config.get('learning_rate')}, seed {manifest.seed}"
        if trained
        else "not trained here"
    )
    refused = (
        f"answers differently from fp32 on more than {config.get('max_accuracy_drop')} % of the dev texts"
        if parity_only
        else f"loses more than {config.get('max_accuracy_drop')} points against fp32 on dev"
    )
    return "\n".join(
        [
            f"# {manifest.name}",
            "",
            "Sentiment of product reviews, int8 ONNX, served by a torch-free AWS Lambda handler. Base "
            f"model: `{manifest.base_model}`, {'fine-tuned' if trained else 'exported as it is'}.",
            "",
            "## Intended use",
            "",
            f"Scoring English product reviews{on_reviews} over the API or in bulk. Not for decisions about "
            "people, and not for other languages or domains without checking on their data first.",
            "",
            "## Labels",
            "",
            f"{labels}. The API answers {answer}.",
            "",
            "## How long texts are read",
            "",
            f"In windows of {manifest.max_length} tokens overlapping by {manifest.window_stride}, up "
            f"to {manifest.max_windows} per text, each scored alone and their probabilities averaged; a "
            f"text longer than that is answered with `truncated: true`. {blend}",
            "",
            *gate_lines(manifest),
            "",
            "## Limitations",
            "",
            "Star ratings are noisy labels: some reviews argue with their own rating. Sarcasm, comparisons "
            "and mixed reviews are read less well than plain praise or complaint. The dev scores hold for "
            "data like the dev sets; measure on your own before relying on them.",
            "",
            "## Licence",
            "",
            f"`{licence.id}`{f' ({licence.name})' if licence.name else ''}: {licence.source}.",
            "",
            "## How it was built",
            "",
            f"`python -m export build` (make model): train data {describe(manifest.data.train)}; "
            f"dev data {describe(manifest.data.dev)}; {training}. The build refuses an int8 model that "
            f"{refused}. "
            "`manifest.json` beside this card records every setting, file hash and library version.",
            "",
        ]
    )


def data_name(source: str) -> str:
    """A data set's name: a Hub id as it is, a local file by its folder (`amazon-stars/dev.jsonl` ->
    `amazon-stars`), which is how ../shared/data and most users' exports are laid out."""
    path = Path(source)
    if not path.suffix:
        return source
    return path.parent.name or path.stem


def describe(provenance: Source | Sources | None) -> str:
    """`path (rows)` for each source of a provenance entry."""
    return ", ".join(f"`{source.path}` ({source.rows} rows)" for source in sources(provenance)) or "none"
