"""A Hub classifier exported as it is keeps its own name and licence, and is gated on data of its own labels:
the default dev sets only when their labels are its own (NEGATIVE / POSITIVE), else on how often its int8
answers are fp32's alone, which the manifest, the model card and the build log say. A fine-tuned build stays
`amazon-sentiment`, Apache-2.0. The default dev sets here are a layout of the fixture reviews in
SENTIMENT_SHARED_DATA."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import standins
from huggingface_hub import ModelCard
from pydantic import ValidationError
from standins import STAND_INS

from export.__main__ import main
from export.config import ExportConfig
from export.data import SHARED_DATA_VARIABLE
from export.errors import GateError
from export.gate import answer_agreement, check_agreement
from export.identity import artifact_licence, artifact_name
from handler.inference import Classifier
from handler.manifest import Metrics

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FIXTURES = Path(__file__).parents[1] / "fixtures"
CARD = "---\nlicense: cc-by-4.0\nlanguage: en\n---\n\n# A sentiment classifier\n"
DEV_ROWS = standins.csv_rows(FIXTURES / "reviews-dev.csv")  # NEGATIVE / POSITIVE, as the default dev sets


class Lines(logging.Handler):
    """The build log's lines, as `python -m export build` prints them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def default_dev(tmp_path_factory: pytest.TempPathFactory):
    """The default dev sets (amazon-reviews/dev.jsonl: the fixture reviews) in SENTIMENT_SHARED_DATA."""
    root = tmp_path_factory.mktemp("shared")
    (root / "amazon-reviews").mkdir()
    standins.write_jsonl(root / "amazon-reviews" / "dev.jsonl", DEV_ROWS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SHARED_DATA_VARIABLE, str(root))
        yield root


def as_is(spec, root: Path, make_config, card: str | None = None):
    """(config, manifest, build log) of `spec` exported as it is, with the default dev data."""
    lines = Lines()
    logging.getLogger("export").addHandler(lines)
    try:
        config, manifest = standins.export_as_is(spec, root, make_config, card=card, dev_data="default")
    finally:
        logging.getLogger("export").removeHandler(lines)
    return config, manifest, lines.lines


@pytest.fixture(scope="module")
def three_class(default_dev, tmp_path_factory, make_tiny_config):
    """The 3-class Twitter RoBERTa's layout with a cc-by-4.0 card: no dev set has its labels."""
    return as_is(STAND_INS[1], tmp_path_factory.mktemp("three"), make_tiny_config, CARD)


@pytest.fixture(scope="module")
def binary(default_dev, tmp_path_factory, make_tiny_config):
    """The SST-2 DistilBERT's layout (NEGATIVE / POSITIVE), without a card."""
    return as_is(STAND_INS[0], tmp_path_factory.mktemp("binary"), make_tiny_config)


def test_an_as_is_export_keeps_its_own_name(three_class):
    config, manifest, _ = three_class
    assert manifest["name"] == STAND_INS[1].name  # its directory's name
    assert Classifier.from_dir(config.output).model_id.startswith(f"{STAND_INS[1].name}@")


def test_an_as_is_export_keeps_its_cards_licence(three_class):
    config, _, _ = three_class
    card = ModelCard.load(config.output / "README.md")
    assert card.data.license == "cc-by-4.0"
    assert f"from {config.base_model}'s model card" in card.text


def test_without_a_dev_set_of_its_labels_it_is_gated_on_parity_alone(three_class, default_dev):
    config, manifest, log = three_class
    gate = manifest["metrics"]["parity_gate"]
    reason = "no dev set with labels ['negative', 'neutral', 'positive']"
    assert gate["reason"] == reason
    assert gate["texts"] == len(DEV_ROWS)  # the default dev set's texts, its labels unused
    assert 0 <= gate["min_agreement"] <= gate["agreement"] <= 1
    assert not {"fp32", "int8", "quantization_drop_points"} & manifest["metrics"].keys()
    assert manifest["data"]["dev"]["path"] == str(default_dev / "amazon-reviews" / "dev.jsonl")
    assert manifest["problem_type"] == "single_label_classification"
    assert any(line.startswith(f"gated on parity alone: {reason}; int8 answers as fp32 on") for line in log)
    card = ModelCard.load(config.output / "README.md")
    assert f"Gated on parity alone: {reason} was at hand" in card.text
    assert not card.data.eval_results  # no accuracy claimed
    answer = Classifier.from_dir(config.output).classify(["Fine."])[0]  # the handler starts on it
    assert set(answer.scores) == set(STAND_INS[1].labels)


def test_make_eval_says_a_parity_gated_model_recorded_no_figures(three_class, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(SHARED_DATA_VARIABLE, str(tmp_path / "none"))
    assert main(["evaluate", "--model", str(three_class[0].output)]) == 0
    out = capsys.readouterr().out
    assert "recorded no dev figures (gated on parity alone: no dev set with labels" in out
    assert "make eval DATA=my_dev.jsonl" in out


def test_a_classifier_of_the_default_labels_is_gated_on_the_default_dev_sets(binary, default_dev):
    _, manifest, _ = binary
    metrics = manifest["metrics"]
    assert "parity_gate" not in metrics
    assert metrics["int8"]["n"] == len(DEV_ROWS)
    assert manifest["data"]["dev"]["path"] == str(default_dev / "amazon-reviews" / "dev.jsonl")


def test_a_classifier_whose_card_names_no_licence_is_unknown_never_apache(binary):
    config, _, log = binary
    card = ModelCard.load(config.output / "README.md")
    assert card.data.license == "unknown"
    assert "states no licence in its model card or config: check its terms first" in card.text
    assert any("states no licence" in line for line in log)


def test_a_multi_label_classifier_is_gated_on_parity_of_its_label_sets(
    default_dev, tmp_path, make_tiny_config
):
    _, manifest, _ = as_is(STAND_INS[4], tmp_path, make_tiny_config)
    assert manifest["problem_type"] == "multi_label_classification"  # its own, not the dev texts'
    assert manifest["threshold"] == 0.5
    assert manifest["metrics"]["parity_gate"]["reason"].endswith("(multi-label)")


def test_a_fine_tuned_build_keeps_the_projects_name_and_licence(tmp_path):
    config = ExportConfig(checkpoint_dir=tmp_path)
    assert (
        artifact_name(config, "sentence-transformers/all-MiniLM-L6-v2", fine_tuned=True) == "amazon-sentiment"
    )
    assert (
        artifact_licence(config, "sentence-transformers/all-MiniLM-L6-v2", tmp_path, True).id == "apache-2.0"
    )
    named = ExportConfig(name="mine", license="mit")
    assert (
        artifact_name(named, "cardiffnlp/twitter-roberta-base-sentiment-latest", fine_tuned=False) == "mine"
    )
    assert artifact_licence(named, "x", tmp_path, False).id == "mit"
    hub = "cardiffnlp/twitter-roberta-base-sentiment-latest"
    assert artifact_name(config, hub, fine_tuned=False) == "twitter-roberta-base-sentiment-latest"


@pytest.mark.parametrize(
    ("agreement", "max_drop", "refused"),
    [(0.995, 0.5, False), (0.9949, 0.5, True), (1.0, 0.0, False), (0.999, 0.0, True), (0.0, 100.0, False)],
)
def test_the_parity_gate_allows_as_many_different_answers_as_accuracy_points(agreement, max_drop, refused):
    if refused:
        with pytest.raises(GateError, match=r"^int8 answers differently from fp32 on 0\.\d+ % of 200 texts"):
            check_agreement(agreement, 200, max_drop)
    else:
        assert check_agreement(agreement, 200, max_drop) == pytest.approx(1 - max_drop / 100)


def test_answers_agree_on_the_top_label_or_on_the_whole_label_set():
    fp32 = np.array([[0.6, 0.4], [0.3, 0.7], [0.55, 0.6]])
    int8 = np.array([[0.7, 0.3], [0.6, 0.4], [0.55, 0.4]])
    assert answer_agreement(fp32, int8, None) == pytest.approx(1 / 3)  # rows 2, 3 change their top label
    assert answer_agreement(fp32, int8, 0.5) == pytest.approx(1 / 3)  # row 1 keeps {0}, 2 and 3 change sets


def test_the_manifest_holds_dev_scores_or_a_parity_gate_not_both(three_class, tiny_build):
    parity_gated = three_class[1]["metrics"]
    dev_gated = tiny_build.manifest["metrics"]
    with pytest.raises(ValidationError, match="or a parity_gate"):
        Metrics.model_validate({key: dev_gated[key] for key in ("fp32", "parity")})
    with pytest.raises(ValidationError, match="a parity_gate means no dev scores"):
        Metrics.model_validate(dev_gated | {"parity_gate": parity_gated["parity_gate"]})
