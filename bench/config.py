"""Every knob of a benchmark run in one frozen dataclass, with the full and the `--quick` presets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from image.build import IMAGE

DEV_SETS = ("amazon-reviews", "amazon-sentences", "sst2")


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and how often; defaults keep a full run under ~10 minutes on 2 cores."""

    model_dir: Path = field(default=Path("build/model"), metadata={"help": "int8 artifact (served model)"})
    checkpoint_dir: Path = field(
        default=Path("build/checkpoint"), metadata={"help": "fine-tuned PyTorch checkpoint run by the peer"}
    )
    fp32_dir: Path = field(default=Path("build/onnx-fp32"), metadata={"help": "fp32 ONNX export"})
    data_dir: Path = field(
        default=Path("../shared/data"), metadata={"help": "folder holding <set>/dev.jsonl for each dev set"}
    )
    out_dir: Path = field(default=Path("build/reports"), metadata={"help": "where reports and plots go"})
    image_name: str = field(
        default=IMAGE, metadata={"help": "container image of (a), if built (`make image`)"}
    )
    warmup: int = field(default=3, metadata={"help": "untimed calls before each latency series"})
    repeat_single: int = field(default=50, metadata={"help": "timed calls for short and long reviews"})
    repeat_batch: int = field(default=10, metadata={"help": "timed calls for the batch"})
    batch_size: int = field(default=32, metadata={"help": "reviews in the batch series"})
    cold_starts: int = field(default=5, metadata={"help": "cold starts per system through the emulator"})
    accuracy_limit: int = field(default=0, metadata={"help": "rows per dev set for accuracy (0 = all)"})
    memory_sizes_mb: tuple[int, ...] = field(
        default=(512, 1024, 1769, 3538), metadata={"help": "Lambda memory sizes for the cost table"}
    )

    def __post_init__(self) -> None:
        for name in ("warmup", "accuracy_limit"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("repeat_single", "repeat_batch", "batch_size", "cold_starts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.memory_sizes_mb or any(not 128 <= m <= 10240 for m in self.memory_sizes_mb):
            raise ValueError(
                f"memory_sizes_mb must be Lambda sizes in 128..10240, got {self.memory_sizes_mb}"
            )

    def quick(self) -> BenchConfig:
        """Tiny settings for the smoke test: every stage runs, nothing is statistically meaningful."""
        return replace(
            self, warmup=1, repeat_single=3, repeat_batch=2, batch_size=4, cold_starts=1, accuracy_limit=8
        )
