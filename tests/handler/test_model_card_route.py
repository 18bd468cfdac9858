"""GET /model/card: the artifact's model card as Markdown; an artifact without one has none to serve."""

from __future__ import annotations

import shutil

from tests.handler.conftest import answer


def test_the_card_is_served_as_markdown(app, make_event, context, tiny_artifact):
    status, headers, body = answer(app, make_event("GET", "/model/card"), context)
    assert status == 200
    assert headers["content-type"].startswith("text/markdown")
    assert body == (tiny_artifact / "README.md").read_text(encoding="utf-8")


def test_an_artifact_built_before_cards_has_none(tiny_artifact, tmp_path):
    from handler.service import model_card

    older = tmp_path / "model"
    shutil.copytree(tiny_artifact, older)
    (older / "README.md").unlink()
    assert model_card(older) is None
    assert model_card(tiny_artifact).startswith("---\n")
