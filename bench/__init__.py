"""Side-by-side benchmark of the served handler, the raw onnxruntime floor and the PyTorch pipeline peer.

`python -m bench` (called by `make bench`) measures latency, cold start, memory, size, accuracy and
Lambda cost in one run on the same inputs and writes build/reports/bench.{md,json} plus PNG plots.
"""
