"""The binary view of star-rated reviews, as docs/models.md reports it for every model: which labels count
for which side, and the table the command prints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.binary_view import main, sides
from export.errors import DataError
from handler.inference import Classifier


@pytest.mark.parametrize(
    ("labels", "negative", "positive"),
    [
        (("NEGATIVE", "POSITIVE"), [True, False], [False, True]),
        (("negative", "neutral", "positive"), [True, False, False], [False, False, True]),
        (
            ("1 star", "2 stars", "3 stars", "4 stars", "5 stars"),
            [True, True, False, False, False],
            [False, False, False, True, True],
        ),
    ],
)
def test_each_stars_presets_labels_fall_on_their_side(labels, negative, positive):
    found = sides(labels)
    np.testing.assert_array_equal(found[0], negative)
    np.testing.assert_array_equal(found[1], positive)


def test_a_model_without_star_labels_is_refused_naming_them():
    with pytest.raises(DataError, match=r"\['joy'\]"):
        sides(("joy", "POSITIVE"))


def test_the_table_reads_every_star_of_the_binary_view(tiny_artifact, tmp_path, capsys):
    reviews = ["Great kettle, love it.", "Awful, broke at once.", "Fine I guess.", "Not bad", "Terrible"]
    rows = [{"text": text, "stars": stars} for text in reviews for stars in (1, 2, 3, 4, 5)]
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    main([str(tiny_artifact), "--data", str(data)])
    header, _, row = capsys.readouterr().out.splitlines()
    assert header == "| model | binary view | 1 star | 2 stars | 4 stars | 5 stars |"
    cells = [float(cell.rstrip(" %")) for cell in row.strip("|").split("|")[1:]]
    # every text read at each star but 3: a star's share is the model's right answers on its 5 rows
    served = Classifier.from_dir(tiny_artifact, threads=1).classify(reviews)
    right = np.array([p.label == "POSITIVE" for p in served])
    assert cells == pytest.approx([100 * 0.5, *(100 * (~right).mean(),) * 2, *(100 * right.mean(),) * 2])
