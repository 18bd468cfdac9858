"""The aspect artifact's model card: README.md in the Hugging Face format, written from its manifest, as
export/model_card.py writes the sentence model's (huggingface_hub writes the metadata, the dev scores
become `model-index` results)."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from export.model_card import CARD_FILE, data_name
from handler.aspect_manifest import AspectManifest, AspectScores, SplitGroup
from handler.aspect_tags import read_scheme

REPORTED = {"pair": "Aspect-sentiment pair F1", "extraction": "Aspect term extraction F1"}


def dev_scores(manifest: AspectManifest) -> dict[str, AspectScores]:
    """int8 scores by dev set, as served.

    Raises:
        ValueError: the manifest has no metrics (the fp32 export gets no card).
    """
    if manifest.metrics is None:
        raise ValueError(f"{manifest.name}: a model card is written for a gated int8 artifact only")
    return manifest.metrics.int8


def eval_results(manifest: AspectManifest) -> list[EvalResult]:
    return [
        EvalResult(
            task_type="token-classification",
            dataset_type=name,
            dataset_name=name,
            dataset_split="dev",
            metric_type=f"{key}_f1",
            metric_name=title,
            metric_value=round(getattr(scores, key).f1, 4),
        )
        for name, scores in dev_scores(manifest).items()
        for key, title in REPORTED.items()
    ]


def describe(group: SplitGroup | None) -> str:
    if group is None:
        return "none"
    parts = [
        f"`{Path(s.path).name}` ({s.sentences} sentences{f', {s.carved}' if s.carved else ''})"
        for s in group.splits
    ]
    return ", ".join(parts) + f": {group.purpose}"


def body(manifest: AspectManifest) -> str:
    """The card's Markdown: use, tags, answers, implicit aspects, long texts, scores, limits, build."""
    sentiments = read_scheme(manifest.labels).sentiments or ("none (extraction only)",)
    rows = [
        f"| `{name}` | {s.sentences} | {100 * s.pair.f1:.2f} | {100 * s.extraction.f1:.2f} |"
        for name, s in dev_scores(manifest).items()
    ]
    config = manifest.config
    metrics = manifest.metrics
    drop = -metrics.quantization_drop_points if metrics else 0.0
    train = manifest.data.train
    return "\n".join(
        [
            f"# {manifest.name}",
            "",
            "Aspect-based sentiment of product reviews: the aspect terms a review names (character spans) "
            "and the sentiment it gives each, int8 ONNX, served by a torch-free AWS Lambda handler. Base "
            f"model: `{manifest.base_model}`, {'fine-tuned' if manifest.fine_tuned else 'exported as is'}.",
            "",
            "## Intended use",
            "",
            'Finding what English laptop and electronics reviews praise and fault ("Great screen, but the '
            'battery died in a week": `screen` positive, `battery` negative), over the API or in bulk. Not '
            "for decisions about people; check on your own data before relying on it in another domain.",
            "",
            "## Tags and answers",
            "",
            f"Labels {', '.join(f'`{label}`' for label in manifest.labels)}: {manifest.tag_scheme}, one tag "
            "per word (its first sub-token). A span is a run of tagged words (an I- after O starts one); its "
            "sentiment is the one with the most probability over its words, its score that sentiment's mean "
            f"probability. Sentiments: {', '.join(sentiments)}. Offsets index the text exactly as sent.",
            "",
            'Implicit aspects (a review that faults the weight by saying "too heavy") have no span, so no '
            "answer names them; the sentence model's label still carries their sentiment.",
            "",
            "## How long texts are read",
            "",
            f"In windows of {manifest.max_length} tokens overlapping by {manifest.window_stride}, up to "
            f"{manifest.max_windows} per text; a word in two windows is read from the one where it has the "
            "most context, so an aspect in the overlap is answered once.",
            "",
            "## Scores (int8, as served; exact span match, micro-F1, `conflict` dropped)",
            "",
            "| dev set | sentences | pair F1 | extraction F1 |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Quantization changed the gated {metrics.gated if metrics else 'metric'} by {drop:+.2f} points "
            "against fp32.",
            "",
            "## Limitations",
            "",
            "Trained on laptop reviews: other products' aspect vocabulary is read less well. Neutral aspects "
            "are rare in the data and the least well found. Comparisons and sarcasm are hard.",
            "",
            "## How it was built",
            "",
            f"`python -m export.aspects build` (make model-aspects). Train: {describe(train)}. Validation: "
            f"{describe(manifest.data.validation)}. Dev: {describe(manifest.data.dev)}. "
            f"{config.get('epochs')} epochs at learning rate {config.get('learning_rate')}, seed "
            f"{manifest.seed}; the int8 model may lose at most {config.get('max_f1_drop')} pair-F1 points "
            "against fp32 on dev. `manifest.json` records every setting, file hash and library version.",
            "",
        ]
    )


def write_model_card(directory: Path, manifest: AspectManifest, license_id: str) -> Path:
    """Write `directory/README.md` for the int8 aspect artifact; return its path."""
    train = manifest.data.train
    data = ModelCardData(
        language="en",
        license=license_id,
        library_name="onnx",
        pipeline_tag="token-classification",
        tags=["aspect-based-sentiment-analysis", "absa", "onnx", "int8", "aws-lambda"],
        base_model=manifest.base_model,
        datasets=sorted({data_name(s.path) for s in train.splits}) if train else None,
        model_name=manifest.name,
        eval_results=eval_results(manifest),
    )
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + body(manifest))
    path = directory / CARD_FILE
    card.save(path)
    return path
