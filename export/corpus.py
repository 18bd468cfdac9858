"""The build's corpus: what it learns from and is judged on, read from the configured sources, and the
provenance the manifest records of them."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, NamedTuple

from export.config import DEFAULT, ExportConfig
from export.data import Examples, combine, fit_problem, load_examples, resolve_sources, shuffled, split
from export.errors import DataError
from export.labels import BINARY
from export.train import BasePlan

log = logging.getLogger(__name__)


class Data(NamedTuple):
    """What a build learns from and is judged on."""

    train: Examples | None  # the train sources, their titles and the extra source, shuffled; None: as-is
    dev: Examples
    provenance: dict[str, Any]
    reviews: Examples | None  # the train sources' own texts: what the n-gram model is fitted on
    # Why dev's labels are not the model's (an as-is classifier, no dev set of its labels given): its texts
    # then gate int8 on its answers' agreement with fp32 alone. None: dev is labelled as the model answers.
    parity_only: str | None = None


def load_data(cfg: ExportConfig, plan: BasePlan) -> Data:
    """Train and dev examples and their provenance for the manifest: for an as-is classifier, the dev data
    alone, read against its labels (the default dev sets' texts alone when their labels are not the
    model's: `parity_only`); else the train sources (each shuffled with the seed and capped, with
    their titles, then the extra source) and the dev data, read against the train data's classes.

    Raises:
        DataError: unreadable data, labels that do not fit, a class without train or dev rows.
    """
    names = plan.labels if not plan.fine_tune else ()
    if not plan.fine_tune and cfg.dev_data == DEFAULT and not default_dev_fits(plan):
        parts = load_dev(cfg, ())  # its texts, read against their own labels
        reason = f"no dev set with labels {list(plan.labels)}" + (
            " (multi-label)" if plan.multi_label else ""
        )
        return Data(None, combine(parts), {"dev": provenance_of(parts)}, None, reason)
    if not plan.fine_tune and cfg.dev_data != "split":
        parts = load_dev(cfg, names)
        return Data(None, fit_problem(combine(parts), plan.multi_label), {"dev": provenance_of(parts)}, None)
    sources = resolve_sources(cfg.train_data, "train")
    loaded = [load_train_source(cfg, source, cap, names) for source, cap in sources]
    train = combine([examples for examples, _ in loaded])
    titles = combine([found if found is not None else blank(rows) for rows, found in loaded])
    kept = list(range(len(train)))
    if cfg.dev_data == "split":
        kept, held = split(train, cfg.dev_fraction, cfg.seed)
        train, dev = train.take(kept), train.take(held)
        dev_provenance = dev.provenance()
    else:
        parts = load_dev(cfg, train.names)
        dev, dev_provenance = combine(parts), provenance_of(parts)
    if not plan.fine_tune:
        return Data(None, fit_problem(dev, plan.multi_label), {"dev": dev_provenance}, None)
    dev = fit_problem(dev, train.multi_label)
    check_classes(train, dev)
    provenance: dict[str, Any] = {"train": provenance_of([rows for rows, _ in loaded]), "dev": dev_provenance}
    extras = []
    if any(found is not None for _, found in loaded):
        extras.append(titles.take([i for i in kept if titles.texts[i].strip()]))
        provenance["train"]["title_column"] = cfg.title_column
    if extra := [
        load_examples(source, seed=cfg.seed, limit=cfg.extra_train_samples, names=train.names)
        for source in extra_sources(cfg, train)
    ]:
        extras += extra
        provenance["extra_train"] = provenance_of(extra)
    reviews = train
    for more in extras:
        train = train.plus(more)
    return Data(train.take(shuffled(len(train), cfg.seed)) if extras else train, dev, provenance, reviews)


def default_dev_fits(plan: BasePlan) -> bool:
    """Whether the default dev sets (NEGATIVE / POSITIVE reviews) have an as-is classifier's labels: a
    single-label model of those two classes, named in any case and order."""
    return not plan.multi_label and sorted(n.casefold() for n in plan.labels) == sorted(
        n.casefold() for n in BINARY
    )


def load_dev(cfg: ExportConfig, names: tuple[str, ...]) -> list[Examples]:
    """The dev sources, each read against `names` (a Hub set's random rows when `default` falls back to
    one); the build judges on them together."""
    options: dict[str, Any] = {"labels": cfg.label_options, "names": names}
    return [
        load_examples(source, seed=cfg.seed if cap else None, limit=cap, **options)
        for source, cap in resolve_sources(cfg.dev_data, "dev")
    ]


def load_train_source(
    cfg: ExportConfig, resolved: str, cap: int, names: tuple[str, ...]
) -> tuple[Examples, Examples | None]:
    """One train source, shuffled with the seed and capped, and its titles in the same order (None when
    titles are off or the data has no such column: titles are optional)."""
    options: dict[str, Any] = {
        "seed": cfg.seed,
        "limit": cfg.max_train_samples or cap,
        "labels": cfg.label_options,
    }
    examples = load_examples(resolved, **options, names=names)
    if not cfg.title_column:
        return examples, None
    try:
        titles = load_examples(resolved, **options, names=examples.names, text_column=cfg.title_column)
    except DataError as exc:  # the texts loaded from the same source, so only the column can be missing
        log.info("no title examples in %s: %s", resolved, exc)
        return examples, None
    return examples, titles


def blank(examples: Examples) -> Examples:
    """`examples` with every text emptied: the titles of a source that has none, so rows stay aligned."""
    return replace(examples, texts=[""] * len(examples))


def provenance_of(parts: list[Examples]) -> dict[str, Any]:
    """The manifest's record of one source, or of several (each listed, and their rows in all)."""
    if len(parts) == 1:
        return parts[0].provenance()
    return {"sources": [part.provenance() for part in parts], "rows": sum(map(len, parts))}


def extra_sources(cfg: ExportConfig, train: Examples) -> list[str]:
    """The extra train sources, none for ''. `default` (SST-2 phrases, positive or negative) is mixed
    only into a NEGATIVE/POSITIVE model: its labels say nothing of other classes."""
    if not cfg.extra_train_data:
        return []
    if cfg.extra_train_data == "default" and (
        train.multi_label or [name.casefold() for name in train.names] != ["negative", "positive"]
    ):
        log.info("no default extra train data (SST-2 phrases are binary): classes %s", list(train.names))
        return []
    return [source for source, _ in resolve_sources(cfg.extra_train_data, "extra")]


def check_classes(train: Examples, dev: Examples) -> None:
    """Every class must have train rows (or it cannot be learnt) and dev rows (or it cannot be judged).

    Raises:
        DataError: naming the first class without rows and where.
    """
    if len(train.names) < 2 and not train.multi_label:
        raise DataError(
            f"{train.source} has one class only ({list(train.names)}): a classifier needs two or more"
        )
    for examples in (train, dev):
        for name, count in zip(examples.names, examples.counts(), strict=True):
            if not count:
                raise DataError(
                    f"class {name!r} has no rows in {examples.source} (classes: {list(examples.names)}): a "
                    "fine-tuned model needs every class in its train and dev data"
                )
