"""The int8 graph as served: ONNX Runtime's extended fusions applied once, at build time, and saved.

Creating the handler's ORT session runs every graph optimisation on every cold start; on the default int8
MiniLM-L6 that was most of the session's 85 ms of CPU (one core). Saved after the extended level (fusions
into ORT's contrib ops: DynamicQuantizeMatMul, MatMulIntegerToFloat, SkipLayerNormalization, Gelu), the
graph loads in 54 ms at the handler's ORT_ENABLE_ALL, with the same logits to the bit and the same warm
latency (bench/README.md). Extended, not all: ORT's own note is that a graph saved past the extended level
holds layout transformations specific to the CPU it was optimised on (Lambda runs AVX2-only x86_64 and
arm64); up to it the fusions are the same on every CPU, and the handler's session still applies the
CPU-specific level where it runs. The file then needs onnxruntime (its CPU contrib ops) to run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnxruntime as ort

LEVEL = "extended"  # what the manifest records (Quantization.graph_optimization)


def fuse(model: Path) -> Path:
    """Rewrite `model` in place as ORT's extended-level graph (written beside it, then renamed)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    with tempfile.TemporaryDirectory(prefix="fuse-", dir=model.parent) as work:
        fused = Path(work) / model.name
        options.optimized_model_filepath = str(fused)
        ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        os.replace(fused, model)
    return model
