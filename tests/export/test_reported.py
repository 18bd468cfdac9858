"""The headline scores are named once (export/evaluate.py REPORTED): `make eval`'s table and headline and the
model card's model-index results read them, and each is a score the manifest records."""

from __future__ import annotations

from export.evaluate import REPORTED, headline, table
from handler.manifest import Scores

EVERY_SCORE = {"n": 10, **dict.fromkeys(REPORTED, 0.5), "f1": 0.5}


def test_every_reported_score_is_one_the_manifest_records():
    assert set(REPORTED) <= set(Scores.model_fields)


def test_make_eval_shows_the_reported_scores_in_their_order():
    assert (
        table([("dev.jsonl", EVERY_SCORE)]).splitlines()[0] == "| data | n | " + " | ".join(REPORTED) + " |"
    )
    assert headline(EVERY_SCORE) == ", ".join(f"{key} 0.5000" for key in (*REPORTED, "f1")) + " on 10 texts"
    # A model shows only the scores its problem yields: a multi-label one has no accuracy.
    multi = {key: EVERY_SCORE[key] for key in ("n", "macro_f1", "micro_f1", "exact_match")}
    assert table([("dev.jsonl", multi)]).splitlines()[0] == "| data | n | macro_f1 | micro_f1 | exact_match |"
