"""The n-gram model: TF-IDF of the tokenizer's unigrams and bigrams, a logistic regression, and its ONNX form.

Why a second model: the transformer reads at most `max_windows` windows, and every fine-tuning recipe tried
fails on much the same reviews (README, "What was tried"). A linear model over the whole text's n-grams is
weaker alone but errs elsewhere; the handler blends the two (`handler.probabilities.blend`) with a weight
chosen here on dev log loss, so that a model that does not help gets weight 0 and is not shipped.

The features are the serving tokenizer's own token ids (`handler.ngram_reference.ngram_ids`), so the image
needs nothing beyond tokenizer.json to read them, and ONNX's standard TfIdfVectorizer op counts them: the
handler runs `ngrams.onnx` with onnxruntime like the transformer. `check_parity` proves the ONNX graph
computes what scikit-learn fitted.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV
from tokenizers import Tokenizer

from export.data import Examples
from export.errors import ParityError
from handler.ngram_reference import ngram_ids, ngram_tokenizer
from handler.probabilities import blend, softmax
from handler.sessions import available_cpus

log = logging.getLogger(__name__)

MIN_DOCUMENTS = 2  # an n-gram seen in one training text only is noise, and a row of the ONNX pool
# The most frequent n-grams kept: bounds ngrams.onnx (about 20 bytes an n-gram) and its per-text cost, which
# is dense over them, however large the train data. The default data has 120,870 and keeps them all.
MAX_FEATURES = 200_000
# Inverse L2 strengths, chosen by cross-validated log loss.
REGULARISATION = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
FOLDS = 5  # cross-validation folds choosing the regularisation
WEIGHTS = np.round(np.arange(0.0, 1.0001, 0.05), 2)  # blend weights tried on dev
OPSET = 17
PARITY_ATOL = 1e-4  # largest |probability diff| allowed between ngrams.onnx and scikit-learn


@dataclass(frozen=True)
class NgramFit:
    """The fitted vectorizer and classifier, and the tokenizer whose ids they count."""

    vectorizer: TfidfVectorizer
    classifier: LogisticRegressionCV
    tokenizer: Tokenizer

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """scikit-learn's class probabilities [texts, labels]: the reference `check_parity` holds ONNX to."""
        return self.classifier.predict_proba(self.vectorizer.transform(ngram_ids(self.tokenizer, texts)))

    def describe(self) -> dict[str, float | int]:
        """What the manifest records of the fit."""
        return {
            "features": len(self.vectorizer.vocabulary_),
            "min_documents": MIN_DOCUMENTS,
            "inverse_regularisation": float(self.classifier.C_),
        }


def features(ids: list[int]) -> list[str]:
    """A text's unigrams and bigrams of token ids, as scikit-learn's analyzer: "17" and "17 2204"."""
    return [str(i) for i in ids] + [f"{a} {b}" for a, b in itertools.pairwise(ids)]


def fit(
    tokenizer_json: Path, train: Examples, labels: int, seed: int, max_features: int = MAX_FEATURES
) -> NgramFit | None:
    """Fit TF-IDF (sublinear term frequency, L2-normalised) + logistic regression on the train texts.

    Returns None, with the reason logged, when the data cannot support it: a class with fewer than two
    texts (no cross-validation), or no n-gram in two texts.
    """
    smallest = min(np.bincount(train.labels, minlength=labels))
    if smallest < 2:
        log.info("n-gram model skipped: a label has %d train text(s), too few to cross-validate", smallest)
        return None
    tokenizer = ngram_tokenizer(Tokenizer.from_file(str(tokenizer_json)))
    vectorizer = TfidfVectorizer(
        analyzer=features,
        min_df=MIN_DOCUMENTS,
        max_features=max_features,
        sublinear_tf=True,
        dtype=np.float32,
    )
    try:
        matrix = vectorizer.fit_transform(ngram_ids(tokenizer, train.texts))
    except ValueError as exc:  # "empty vocabulary": no n-gram occurs in two texts
        log.info("n-gram model skipped: %s", exc)
        return None
    folds = min(FOLDS, smallest)
    classifier = LogisticRegressionCV(
        Cs=list(REGULARISATION),
        l1_ratios=(0.0,),  # L2 only
        cv=folds,
        scoring="neg_log_loss",
        max_iter=3000,
        random_state=seed,
        # The folds side by side, one BLAS thread each (lbfgs then stops a little elsewhere than with two
        # BLAS threads in one fit: another, equally good fit).
        n_jobs=min(folds, available_cpus()),
        use_legacy_attributes=False,
    ).fit(matrix, np.asarray(train.labels))
    return NgramFit(vectorizer, classifier, tokenizer)


def write_onnx(model: NgramFit, labels: int, path: Path) -> Path:
    """Write the fit as one ONNX graph: token ids [1, n] -> logits [1, labels].

    TfIdfVectorizer counts the n-grams; then sublinear term frequency (1 + log count), idf, L2
    normalisation and the linear layer, as scikit-learn computes them. A binary classifier's single
    decision function becomes the logits [0, z], which softmax turns into its probabilities.
    """
    vocabulary = model.vectorizer.vocabulary_
    grams = sorted(
        ((tuple(int(i) for i in gram.split()), column) for gram, column in vocabulary.items()),
        key=lambda item: (len(item[0]), item[0]),
    )
    unigrams = sum(len(gram) == 1 for gram, _ in grams)
    coefficients = model.classifier.coef_.astype(np.float32)
    intercepts = model.classifier.intercept_.astype(np.float32)
    if labels == 2:  # scikit-learn keeps one row for two classes: the positive class's log-odds
        coefficients = np.vstack([np.zeros_like(coefficients), coefficients])
        intercepts = np.concatenate([np.zeros_like(intercepts), intercepts])
    constants = {
        "one": np.ones(1, np.float32),
        "zero": np.zeros(1, np.float32),
        "tiny": np.full(1, 1e-12, np.float32),
        "idf": model.vectorizer.idf_.astype(np.float32),
        "weights": np.ascontiguousarray(coefficients.T),
        "bias": intercepts,
    }
    nodes = [
        helper.make_node(
            "TfIdfVectorizer",
            ["input_ids"],
            ["counts"],
            mode="TF",
            min_gram_length=1,
            max_gram_length=max(len(gram) for gram, _ in grams),
            max_skip_count=0,
            ngram_counts=[0, unigrams],
            ngram_indexes=[column for _, column in grams],
            pool_int64s=[i for gram, _ in grams for i in gram],
        ),
        helper.make_node("Max", ["counts", "one"], ["at_least_one"]),
        helper.make_node("Log", ["at_least_one"], ["log_counts"]),
        helper.make_node("Greater", ["counts", "zero"], ["present"]),
        helper.make_node("Cast", ["present"], ["present_float"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["log_counts", "present_float"], ["sublinear_tf"]),  # 0 where absent
        helper.make_node("Mul", ["sublinear_tf", "idf"], ["tfidf"]),
        helper.make_node("Mul", ["tfidf", "tfidf"], ["squares"]),
        helper.make_node("ReduceSum", ["squares", "axis"], ["square_norm"], keepdims=1),
        helper.make_node("Sqrt", ["square_norm"], ["norm"]),
        helper.make_node("Max", ["norm", "tiny"], ["safe_norm"]),  # a text without n-grams stays all zero
        helper.make_node("Div", ["tfidf", "safe_norm"], ["normalised"]),
        helper.make_node("MatMul", ["normalised", "weights"], ["scores"]),
        helper.make_node("Add", ["scores", "bias"], ["logits"]),
    ]
    initializers = [numpy_helper.from_array(value, name) for name, value in constants.items()]
    initializers.append(numpy_helper.from_array(np.ones(1, np.int64), "axis"))
    graph = helper.make_graph(
        nodes,
        "ngrams",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "tokens"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, labels])],
        initializers,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(path))
    return path


def check_parity(model: NgramFit, texts: list[str], logits: np.ndarray) -> dict[str, float | int]:
    """Compare the logits of ngrams.onnx, run by the serving code on `texts`, with scikit-learn.

    Raises:
        ParityError: a probability differs by more than PARITY_ATOL.
    """
    diff = np.abs(model.probabilities(texts) - softmax(logits)).max(axis=1)
    bad = [f"#{i}: {d:.2e}" for i, d in enumerate(diff) if d > PARITY_ATOL]
    if bad:
        raise ParityError(
            f"ngrams.onnx: {len(bad)}/{len(diff)} texts beyond atol {PARITY_ATOL}: {', '.join(bad)}"
        )
    return {"samples": len(diff), "max_abs_diff": float(diff.max()), "atol": PARITY_ATOL}


def choose_weight(
    probabilities: np.ndarray, ngram_logits: np.ndarray, gold: np.ndarray
) -> tuple[float, float]:
    """The blend weight of WEIGHTS with the lowest dev log loss (ties: the smallest), and that loss.

    Log loss rather than accuracy: it moves with every text's confidence, not only with the few texts near
    the boundary, so it picks a steadier weight on a dev set of a few hundred texts.
    """
    rows = np.arange(len(gold))
    losses = [
        float(-np.log(np.clip(blend(probabilities, ngram_logits, w)[rows, gold], 1e-12, 1)).mean())
        for w in WEIGHTS
    ]
    best = int(np.argmin(losses))
    return float(WEIGHTS[best]), losses[best]
