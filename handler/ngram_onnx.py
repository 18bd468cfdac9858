"""ngrams.onnx's tables read with protobuf, the parse behind handler/ngrams.py's `NgramTables`.

ngrams.onnx stays the contract (and export/'s parity reference): the graph is read through the few ONNX
message fields used here, and refused unless its nodes are the ones export/ngrams.py writes, so a changed
graph fails at init rather than being scored as something else. Importing protobuf and building the message
class costs about as much CPU as the parse itself, so the build also writes the same tables as ngrams.npz
and the handler imports this module only for an artifact without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

# The op types of export/ngrams.py's graph, in order: any other graph is refused.
GRAPH_OPS = (
    "TfIdfVectorizer",
    "Max",
    "Log",
    "Greater",
    "Cast",
    "Add",
    "Mul",
    "Mul",
    "ReduceSum",
    "Sqrt",
    "Max",
    "Div",
    "MatMul",
    "Add",
)
_FLOAT = 1  # TensorProto.FLOAT
# (message, [(field, number, type, repeated)]) of onnx.proto, the fields read here; protobuf skips the rest.
_F = descriptor_pb2.FieldDescriptorProto
_I64, _I32, _F32, _STR, _BYTES, _MSG = (
    _F.TYPE_INT64,
    _F.TYPE_INT32,
    _F.TYPE_FLOAT,
    _F.TYPE_STRING,
    _F.TYPE_BYTES,
    _F.TYPE_MESSAGE,
)
_SCHEMA: dict[str, list[tuple[str, int, _F.Type.ValueType | str, bool]]] = {
    "Tensor": [("dims", 1, _I64, True), ("data_type", 2, _I32, False), ("float_data", 4, _F32, True),
               ("name", 8, _STR, False), ("raw_data", 9, _BYTES, False)],
    "Attribute": [("name", 1, _STR, False), ("i", 3, _I64, False), ("s", 4, _BYTES, False),
                  ("ints", 8, _I64, True)],
    "Node": [("input", 1, _STR, True), ("op_type", 4, _STR, False), ("attribute", 5, ".Attribute", True)],
    "ValueInfo": [("name", 1, _STR, False)],
    "Graph": [("node", 1, ".Node", True), ("initializer", 5, ".Tensor", True),
              ("input", 11, ".ValueInfo", True), ("output", 12, ".ValueInfo", True)],
    "Model": [("graph", 7, ".Graph", False)],
}  # fmt: skip


def _model_class() -> type[Message]:
    """The ModelProto subset as a protobuf class, built from _SCHEMA (no onnx package in the image)."""
    package = "sentiment_onnx_subset"
    file = descriptor_pb2.FileDescriptorProto(name=f"{package}.proto", package=package, syntax="proto2")
    for message, fields in _SCHEMA.items():
        proto = file.message_type.add(name=message)
        for name, number, kind, repeated in fields:
            field = proto.field.add(
                name=name, number=number, label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            )
            if isinstance(kind, str):
                field.type, field.type_name = _MSG, f".{package}{kind}"
            else:
                field.type = kind
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.Model"))


def _array(tensor) -> np.ndarray:
    if tensor.data_type != _FLOAT:
        raise ValueError(f"initializer {tensor.name} is not float32")
    values = np.frombuffer(tensor.raw_data, np.float32) if tensor.raw_data else np.asarray(tensor.float_data)
    return values.astype(np.float32).reshape(tuple(tensor.dims))


def _index(
    pool: np.ndarray, starts: list[int], indexes: np.ndarray, vocabulary: int
) -> tuple[np.ndarray, ...]:
    """Every n-gram of the pool as one int64 key (unigram: its id; bigram (a, b): (a + 1) * V + b),
    sorted, with its output column (int32: half the bytes in ngrams.npz): a text's n-grams are then found
    by binary search."""
    if len(starts) > 2 or (starts and starts[0] != 0):
        raise ValueError(f"only unigrams and bigrams are supported, ngram_counts {starts}")
    unigrams = starts[1] if len(starts) > 1 else len(pool)
    bigrams = pool[unigrams:].reshape(-1, 2)
    keys = np.concatenate([pool[:unigrams], (bigrams[:, 0] + 1) * vocabulary + bigrams[:, 1]])
    order = np.argsort(keys, kind="stable")
    # A last key above any n-gram's: a binary search then always lands inside the array.
    return np.append(keys[order], np.iinfo(np.int64).max), np.append(indexes[order], -1).astype(np.int32)


def read_arrays(path: Path, vocabulary: int, labels: int) -> dict[str, np.ndarray]:
    """The tables of ngrams.onnx as `NgramTables` holds them (keys, columns, idf, weights, bias; the
    floats as float32, the graph's own values).

    Raises:
        ValueError: the file is not export/ngrams.py's graph for `labels` labels.
        OSError: the file cannot be read (protobuf's DecodeError for a corrupt one).
    """
    # The class is built at run time from _SCHEMA, so its fields are unknown to a type checker.
    model: Any = _model_class().FromString(Path(path).read_bytes())
    graph = model.graph
    inputs = [i.name for i in graph.input]
    ops = tuple(node.op_type for node in graph.node)
    tensors = {t.name: t for t in graph.initializer}
    weights = _array(tensors["weights"]) if "weights" in tensors else None
    if inputs != ["input_ids"] or ops != GRAPH_OPS or weights is None or weights.shape[1:] != (labels,):
        raise ValueError(
            f"not an n-gram model for {labels} labels: inputs {inputs}, ops {list(ops)} (want input_ids "
            f"-> export/ngrams.py's graph -> logits [1, {labels}])"
        )
    attributes = {a.name: a for a in graph.node[0].attribute}
    if attributes["mode"].s != b"TF" or attributes["max_skip_count"].i != 0:
        raise ValueError("TfIdfVectorizer must count contiguous n-grams (mode TF, max_skip_count 0)")
    keys, columns = _index(
        np.asarray(attributes["pool_int64s"].ints, np.int64),
        list(attributes["ngram_counts"].ints),
        np.asarray(attributes["ngram_indexes"].ints, np.int64),
        vocabulary,
    )
    return {"keys": keys, "columns": columns, "idf": _array(tensors["idf"]), "weights": weights,
            "bias": _array(tensors["bias"])}  # fmt: skip
