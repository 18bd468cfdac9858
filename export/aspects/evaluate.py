"""Scores of an aspect artifact on aspect data, computed by the serving code (handler/aspects.py): what
`make eval` prints for an aspect model, and what the build records and gates on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from export.aspects.config import AspectConfig
from export.aspects.data import Part, read_part
from export.aspects.score import aspect_scores
from export.aspects.splits import dev_parts
from handler.aspects import AspectTagger, TaggedText, read_aspect_manifest

POOLED = "all"
DEV_KEYS = ("dev_split_from", "dev_data", "dev_fraction", "seed")


def part_name(part: Part) -> str:
    """A data set's name in scores: the file's stem, and `(dev split)` for a share carved from it."""
    stem = Path(part.path).stem
    return f"{stem} (dev split)" if part.carved else stem


def tag_all(tagger: AspectTagger, texts: Sequence[str], desc: str) -> list[TaggedText]:
    return [tagged for text in tqdm(texts, desc=desc, unit="text") for tagged in tagger.tag([text])]


def score_parts(tagger: AspectTagger, parts: Sequence[Part], desc: str) -> dict[str, dict[str, Any]]:
    """Scores on each part, and on all of them pooled (`all`) when there are several."""
    found: dict[str, dict[str, Any]] = {}
    every: list[tuple[Any, TaggedText]] = []
    for part in parts:
        tagged = tag_all(tagger, [s.text for s in part.sentences], f"{desc} {part_name(part)}")
        found[part_name(part)] = scores_of(part.sentences, tagged)
        every += zip(part.sentences, tagged, strict=True)
    if len(parts) > 1:
        found[POOLED] = scores_of([s for s, _ in every], [t for _, t in every])
    return found


def scores_of(sentences: Sequence[Any], tagged: Sequence[TaggedText]) -> dict[str, Any]:
    return aspect_scores(
        sentences, [t.aspects for t in tagged], [t.windows for t in tagged], [t.truncated for t in tagged]
    )


def pooled(scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The scores the gate reads: all dev sets pooled, or the only one."""
    return scores.get(POOLED) or next(iter(scores.values()))


def evaluate_aspects(model_dir: Path, sources: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Scores of the artifact in `model_dir` on `sources` (JSONL aspect files), or by default on the dev
    data its build judged it on (the same carved split: the manifest records how it was carved).

    Raises:
        ArtifactError: no aspect model there. DataError: a file is missing or unreadable.
    """
    manifest = read_aspect_manifest(model_dir)
    if sources:
        parts = [read_part(Path(source)) for source in sources]
    else:
        settings = {key: manifest.config[key] for key in DEV_KEYS if key in manifest.config}
        parts, _ = dev_parts(AspectConfig(**settings))
    return score_parts(AspectTagger.from_dir(model_dir, manifest=manifest), parts, "aspects")


def table(scores: dict[str, dict[str, Any]]) -> str:
    """The Markdown table `make eval` prints for an aspect model."""
    lines = [
        "| data | sentences | pair F1 | pair P / R | extraction F1 | implicit dropped | conflict dropped |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, found in scores.items():
        pair, terms = found["pair"], found["extraction"]
        lines.append(
            f"| {name} | {found['sentences']} | {100 * pair['f1']:.2f} | {100 * pair['precision']:.1f} / "
            f"{100 * pair['recall']:.1f} | {100 * terms['f1']:.2f} | {found['implicit_dropped']} | "
            f"{found['conflict_dropped']} |"
        )
    return "\n".join(lines)
