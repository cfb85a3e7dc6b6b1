"""The caption stage's settings, apart from the handler so that a run without captions (and the
launcher that builds any run) never imports torch, transformers or Beam's inference module."""
from __future__ import annotations

import dataclasses
from typing import Optional

from transforms.caption.prompt import DEFAULT_PROMPT


@dataclasses.dataclass(frozen=True)
class CaptionConfig:
    model: str = dataclasses.field(metadata={
        "help": "IDP model: Hugging Face hub id, local folder or fsspec URL of a saved model"})
    revision: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "model revision (branch, tag or commit) to load"})
    prompt: str = dataclasses.field(default=DEFAULT_PROMPT, metadata={
        "help": "prompt text asking for the action between the two images"})
    # None: the processor's chat template, or the family's documented format (prompt.py).
    prompt_template: Optional[str] = dataclasses.field(default=None, metadata={
        "help": "model text around the prompt for a processor without a chat template, "
                "'{image}' twice (before, after) and '{prompt}' once, e.g. "
                "'{image}{image}{prompt}' (default: the chat template or the family's "
                "documented format)"})
    # 64-128 keeps a large GPU busy (docs/performance.md).
    batch_size: int = dataclasses.field(default=64, metadata={
        "help": "largest batch of pairs per generate call"})
    min_batch_size: int = dataclasses.field(default=1, metadata={
        "help": "smallest batch of pairs per generate call"})
    max_new_tokens: int = dataclasses.field(default=24, metadata={
        "help": "most tokens generated per action"})
    device: str = dataclasses.field(default="auto", metadata={
        "help": "auto (cuda when available), cpu or cuda"})
    dtype: str = dataclasses.field(default="auto", metadata={
        "help": "auto (bfloat16 on cuda, float32 on cpu) or a torch dtype name"})
    share_across_processes: Optional[bool] = dataclasses.field(default=None, metadata={
        "help": "load one model per machine shared by all SDK processes "
                "(default: on cuda only)"})
    trust_remote_code: bool = dataclasses.field(default=False, metadata={
        "help": "allow the model's own Python code to run (off unless asked)"})
    # A T4 attaches only to N1 machines; highmem leaves room to load the model (52 GB).
    accelerator: str = dataclasses.field(
        default="type:nvidia-tesla-t4;count:1;machine_type:n1-highmem-8;install-nvidia-driver",
        metadata={
            "help": "Beam accelerator resource hint for the caption stage only, on Dataflow "
                    "(right fitting), e.g. 'type:nvidia-l4;count:1;machine_type:g2-standard-8;"
                    "install-nvidia-driver' ('' for none)"})

    def __post_init__(self):
        # Fail when the run is built, not hours later on a worker.
        if not 1 <= self.min_batch_size <= self.batch_size:
            raise ValueError(f"need 1 <= min_batch_size <= batch_size, got {self}")
        if self.prompt_template is not None:
            from transforms.caption.prompt import check_template
            check_template(self.prompt_template)
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
