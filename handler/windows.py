"""Token windows: how a text of any length reaches a model that reads `max_length` tokens.

Long texts are split by the tokenizer's own truncation-with-stride overflow, so window length and overlap
come from tokenizer.json, never from this file. Each window becomes its own unpadded ONNX feed: dynamic
int8 quantization picks one activation scale per tensor, so in a padded batch a text's answer would depend
on the rest of the request (measured, and what it costs: handler/README.md, "Same text, same answer").

The same encodings give the n-gram model its input, each whole text's token ids, so each text is
tokenized once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding, Tokenizer

# The ONNX input names the export writes, and the Encoding attribute that holds each.
_ENCODING_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


@dataclass(frozen=True)
class Windows:
    """Token windows of a batch of texts, ready for the ONNX session (the tokenize step's output)."""

    feeds: list[dict[str, np.ndarray]]  # one ONNX feed per window: a single unpadded row
    owner: np.ndarray  # index of the text each window belongs to
    counts: np.ndarray  # windows used per text
    truncated: np.ndarray  # True where windows beyond max_windows were dropped
    ngram_feeds: list[dict[str, np.ndarray]]  # one per text (the whole text) when the artifact has n-grams


class Windowing:
    """An artifact's tokenizer cutting texts into at most `max_windows` windows for its ONNX inputs."""

    def __init__(
        self, tokenizer: Tokenizer, input_names: Sequence[str], max_windows: int, *, ngram_ids: bool
    ) -> None:
        """Args:
        tokenizer: the artifact's tokenizer, with truncation-with-stride (padding is turned off).
        input_names: the ONNX model's inputs, each one of the export's (`_ENCODING_FIELDS`).
        max_windows: windows read per text, the first ones.
        ngram_ids: also give each whole text's token ids (for an artifact with an n-gram model).
        """
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()  # windows run one by one: nothing to pad
        self.max_windows = max_windows
        self.ngram_ids = ngram_ids
        self._input_fields = {name: _ENCODING_FIELDS[name] for name in input_names}
        self._stride = int((tokenizer.truncation or {}).get("stride", 0))

    def encode(self, texts: Sequence[str]) -> Windows:
        """Tokenize texts into windows, keeping at most max_windows per text (the first ones); with n-gram
        ids, also each whole text's token ids, from all its windows (one tokenization serves both)."""
        rows: list[Encoding] = []
        owner: list[int] = []
        counts: list[int] = []
        truncated: list[bool] = []
        ngram_feeds: list[dict[str, np.ndarray]] = []
        for index, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            windows = [encoding, *encoding.overflowing]
            kept = windows[: self.max_windows]
            rows.extend(kept)
            owner.extend([index] * len(kept))
            counts.append(len(kept))
            truncated.append(len(windows) > len(kept))
            if self.ngram_ids:
                ngram_feeds.append({"input_ids": self.text_ids(windows).reshape(1, -1)})
        feeds = [
            {
                name: np.asarray([getattr(row, field)], dtype=np.int64)
                for name, field in self._input_fields.items()
            }
            for row in rows
        ]
        return Windows(
            feeds,
            np.asarray(owner),
            np.asarray(counts),
            np.asarray(truncated, dtype=bool),
            ngram_feeds,
        )

    def text_ids(self, windows: Sequence[Encoding]) -> np.ndarray:
        """A whole text's token ids without special tokens (`ngram_ids`), from all its windows: each
        window's own tokens (sequence 0, wherever the post-processor put the special ones), and every window
        after the first repeats `stride` tokens of the one before."""
        parts = []
        for number, window in enumerate(windows):
            sequence = window.sequence_ids
            if 0 not in sequence:  # a text without tokens: special tokens only
                continue
            start, stop = sequence.index(0), len(sequence) - sequence[::-1].index(0)
            parts.append(window.ids[start + (self._stride if number else 0) : stop])
        return np.fromiter(itertools.chain.from_iterable(parts), dtype=np.int64)
