"""Windows of equal length run together: how an explanation's copies of a text reach the model cheaply.

The API scores every window in its own run (handler/inference.py): a dynamic int8 model picks one
activation scale per tensor, so in a padded batch a text's answer would depend on the rest of the request.
An explanation runs one text dozens of times, each copy without a word or two, and one run a copy costs
its per-run overhead dozens of times; so its windows run stacked, but only with windows of the same length:
no row is padded, so no padding enters the scale, and the rows that share it are copies of one text, whose
activations span nearly the same range. How close that stays to the one-window runs is measured in
tests/handler/test_explain.py and by `make bench`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

# Rows x tokens of one run at most: peak memory stays that of a few full windows however many copies an
# explanation runs (the attention scores of a run grow with rows x length squared).
BATCH_TOKENS = 2048


def stacked_logits(session: ort.InferenceSession, feeds: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
    """Logits [windows, labels] of single-row feeds, each group of equal length run as stacked rows (in
    order of length, then of the feeds), at most BATCH_TOKENS tokens a run."""
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, feed in enumerate(feeds):
        by_length[feed["input_ids"].shape[1]].append(index)
    rows: list[np.ndarray] = [np.empty(0)] * len(feeds)
    for length in sorted(by_length):
        indices = by_length[length]
        step = max(1, BATCH_TOKENS // length)
        for first in range(0, len(indices), step):
            chunk = indices[first : first + step]
            stacked = {name: np.concatenate([feeds[i][name] for i in chunk]) for name in feeds[chunk[0]]}
            for index, logits in zip(chunk, session.run(["logits"], stacked)[0], strict=True):
                rows[index] = logits
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
