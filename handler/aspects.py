"""The aspect tagger: an aspect artifact directory loaded once, texts in, aspects (spans with sentiment) out.

Torch-free and free of Powertools, like handler/inference.py, so export/ measures with the code that
serves. Each text is read as the sentence model reads it: the tokenizer's truncation-with-stride windows
(tokenizer.json says how long and how much they overlap), at most `max_windows` of them, each its own
unpadded ONNX run (a window's answer never depends on the rest of the request). handler/aspect_spans.py
turns the windows' tag probabilities into spans.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import onnxruntime as ort
from pydantic import ValidationError
from tokenizers import Encoding, Tokenizer

from handler.artifact import (
    check_files,
    loading,
    read_labels,
    read_tokenizer,
    require_model,
    validation_error,
)
from handler.aspect_manifest import AspectManifest
from handler.aspect_spans import Aspect, decode, words_of
from handler.aspect_tags import TagScheme, read_scheme
from handler.manifest import MANIFEST_FILE, MODEL_FILE, TOKEN_CLASSIFICATION
from handler.probabilities import softmax
from handler.sessions import available_cpus, onnx_session
from handler.windows import _ENCODING_FIELDS as ENCODING_FIELDS

BUILD = "make model-aspects"


@dataclass(frozen=True)
class TaggedText:
    """One text's aspects, in text order, and how much of it was read."""

    aspects: list[Aspect]
    windows: int
    truncated: bool  # windows beyond max_windows were left unread


def read_aspect_manifest(root: Path) -> AspectManifest:
    """The manifest of the aspect artifact in `root`, after checking it and the files it lists.

    Raises:
        ArtifactError: no model there, a manifest that is not an aspect tagger's, labels the decoder cannot
            read, or a listed file missing or of another size.
    """
    require_model(root, BUILD)
    path = root / MANIFEST_FILE
    with loading(path):
        text = path.read_text(encoding="utf-8")
    try:
        manifest = AspectManifest.model_validate_json(text)
    except ValidationError as exc:
        raise validation_error(path, exc) from None
    return check_files(root, manifest)


class AspectTagger:
    """The tokenizer, ONNX session and tag scheme of one aspect artifact, loaded once and reused."""

    def __init__(
        self, tokenizer: Tokenizer, session: ort.InferenceSession, manifest: AspectManifest, scheme: TagScheme
    ) -> None:
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()  # windows run one by one: nothing to pad
        self.session = session
        self.manifest = manifest
        self.scheme = scheme
        self._fields = {i.name: ENCODING_FIELDS[i.name] for i in session.get_inputs()}

    @property
    def model_id(self) -> str:
        return self.manifest.model_id

    @classmethod
    def from_dir(
        cls,
        path: str | os.PathLike[str],
        *,
        threads: int | None = None,
        manifest: AspectManifest | None = None,
    ) -> AspectTagger:
        """Load an aspect artifact directory.

        Args:
            path: directory holding model.onnx, tokenizer.json, config.json and manifest.json.
            threads: ORT intra-op threads; default: the CPUs this process may use.
            manifest: the directory's manifest when it is not written yet (the build scores a staged
                directory before it writes its manifest); default: read from `path`.

        Raises:
            ArtifactError: a file is missing, unreadable or corrupt, or the labels are no aspect tags.
        """
        root = Path(path)
        manifest = read_aspect_manifest(root) if manifest is None else check_files(root, manifest)
        scheme = read_scheme(read_labels(root, manifest))
        tokenizer = read_tokenizer(root)
        with loading(root / MODEL_FILE):
            session = onnx_session(root / MODEL_FILE, threads or available_cpus())
        return cls(tokenizer, session, manifest, scheme)

    def windows(self, text: str) -> tuple[list[Encoding], bool]:
        """A text's windows, the first `max_windows`, and whether any were left unread."""
        encoding = self.tokenizer.encode(text)
        every = [encoding, *encoding.overflowing]
        return every[: self.manifest.max_windows], len(every) > self.manifest.max_windows

    def probabilities(self, window: Encoding) -> np.ndarray:
        """[tokens, labels] tag probabilities of one window, in one unpadded ONNX run."""
        fields = self._fields.items()
        feed = {name: np.asarray([getattr(window, field)], dtype=np.int64) for name, field in fields}
        (logits,) = self.session.run(["logits"], feed)
        return softmax(logits[0])

    def tag(self, texts: Sequence[str]) -> list[TaggedText]:
        """Each text's aspects, with offsets into the text exactly as given."""
        tagged = []
        for text in texts:
            windows, truncated = self.windows(text)
            words = words_of(windows, [self.probabilities(window) for window in windows])
            tagged.append(TaggedText(decode(text, words, self.scheme), len(windows), truncated))
        return tagged


def is_aspect_artifact(root: Path) -> bool:
    """Whether the artifact in `root` is an aspect tagger (its manifest's `task`), so that a tool given
    either kind (`make eval MODEL_DIR=...`) picks the right reader; False where there is none to read."""
    try:
        task = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8")).get("task")
    except (OSError, ValueError, AttributeError):
        return False
    return task == TOKEN_CLASSIFICATION
