"""The caption stage's settings, apart from the handler so that a run without captions (and the
launcher that builds any run) never imports torch, transformers or Beam's inference module."""
from __future__ import annotations

import dataclasses
from typing import Optional

from transforms.caption.prompt import DEFAULT_PROMPT


@dataclasses.dataclass(frozen=True)
class CaptionConfig:
    model: str  # hub id, local folder, or fsspec URL of a saved folder (gs://, s3://...)
    revision: Optional[str] = None
    prompt: str = DEFAULT_PROMPT
    # How the prompt and the two images become model text, '{image}{image}{prompt}' style; None:
    # the processor's chat template, or the family's documented format
    # (transforms/caption/prompt.py).
    prompt_template: Optional[str] = None
    batch_size: int = 64  # largest batch; 64-128 keeps a large GPU busy (docs/performance.md)
    min_batch_size: int = 1
    max_new_tokens: int = 24
    device: str = "auto"  # "auto": cuda when available, else cpu
    dtype: str = "auto"  # "auto": bfloat16 on cuda, float32 on cpu; else a torch dtype name
    share_across_processes: Optional[bool] = None  # None: share on cuda, not on cpu
    trust_remote_code: bool = False
    # Beam resource hint for the caption stage only (Dataflow right-fitting); "" for none.
    # A T4 attaches only to N1 machines; highmem leaves room to load the model (52 GB).
    accelerator: str = ("type:nvidia-tesla-t4;count:1;machine_type:n1-highmem-8;"
                        "install-nvidia-driver")

    def __post_init__(self):
        # Fail when the run is built, not hours later on a worker.
        if not 1 <= self.min_batch_size <= self.batch_size:
            raise ValueError(f"need 1 <= min_batch_size <= batch_size, got {self}")
        if self.prompt_template is not None:
            from transforms.caption.prompt import check_template
            check_template(self.prompt_template)
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
