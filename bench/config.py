"""Every knob of a benchmark run in one frozen pydantic model, with the full and the `--quick` presets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from export.config import CHECKPOINT_DIR, FP32_DIR, REPORTS_DIR
from handler.settings import BUILT_MODEL_DIR
from image.build import IMAGE

DEV_SETS = ("amazon-reviews", "amazon-sentences", "sst2")
# Tiny settings for the smoke test: every stage runs, nothing is statistically meaningful.
QUICK: dict[str, Any] = {
    "warmup": 1,
    "repeat_single": 3,
    "repeat_batch": 2,
    "batch_size": 4,
    "cold_starts": 1,
    "accuracy_limit": 8,
    "explain_limit": 4,
}


class BenchConfig(BaseModel):
    """What to measure and how often; defaults keep a full run under ~10 minutes on 2 cores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_dir: Path = Field(BUILT_MODEL_DIR, description="int8 artifact (served model)")
    checkpoint_dir: Path = Field(CHECKPOINT_DIR, description="fine-tuned PyTorch checkpoint run by the peer")
    fp32_dir: Path = Field(FP32_DIR, description="fp32 ONNX export")
    data_dir: Path = Field(
        Path("../shared/data"), description="folder holding <set>/dev.jsonl for each dev set"
    )
    out_dir: Path = Field(REPORTS_DIR, description="where reports and plots go")
    image_name: str = Field(IMAGE, description="container image of (a), if built (`make image`)")
    warmup: int = Field(3, ge=0, description="untimed calls before each latency series")
    repeat_single: int = Field(50, ge=1, description="timed calls for short and long reviews")
    repeat_batch: int = Field(10, ge=1, description="timed calls for the batch")
    batch_size: int = Field(32, ge=1, description="reviews in the batch series")
    cold_starts: int = Field(5, ge=1, description="cold starts per system through the emulator")
    accuracy_limit: int = Field(0, ge=0, description="rows per dev set for accuracy (0 = all)")
    explain_limit: int = Field(
        300,
        ge=0,
        description="amazon-stars dev reviews of 8 to 60 words whose explanations are measured (0 = all)",
    )
    memory_sizes_mb: tuple[Annotated[int, Field(ge=128, le=10240)], ...] = Field(
        (512, 1024, 1769, 3538), min_length=1, description="Lambda memory sizes (MB) for the cost table"
    )
