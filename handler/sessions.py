"""ONNX Runtime sessions as the handler runs every model, and the CPUs they may use."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort


def available_cpus() -> int:
    """CPUs this process may run on: Lambda sizes them by memory, and os.cpu_count() reports the host."""
    return len(os.sched_getaffinity(0))


def onnx_session(path: Path, threads: int) -> ort.InferenceSession:
    """A CPU session as the handler runs every model: `threads` intra-op threads, sequential, all graph
    optimisations (export/ builds the n-gram model's parity check on the same settings)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
