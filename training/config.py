"""What a train-idp run is: one frozen config, recorded with the model it made."""
from __future__ import annotations

import dataclasses

from transforms.caption.prompt import DEFAULT_PROMPT, check_template


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    data: str = dataclasses.field(metadata={
        "help": "training shards: a dataset folder (index.json) or a glob of .tar files"})
    output: str = dataclasses.field(metadata={
        "help": "folder for the trained model, its card, metrics and checkpoints/"})
    model: str = dataclasses.field(default="", metadata={
        "help": "model to start from: hub id or folder (AutoModelForImageTextToText)"})
    tiny: bool = dataclasses.field(default=False, metadata={
        "help": "start from a new small LLaVA-style model built from a config instead, with a "
                "tokenizer trained on the data's actions (CPU-sized)"})
    lora: bool = dataclasses.field(default=False, metadata={
        "help": "train LoRA adapters on the language model (and the projector in full) "
                "instead of every weight; merged into the saved model"})
    lora_rank: int = dataclasses.field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = dataclasses.field(default=32, metadata={"help": "LoRA alpha"})
    steps: int = dataclasses.field(default=2000, metadata={"help": "optimizer steps"})
    batch_size: int = dataclasses.field(default=32, metadata={"help": "pairs per step"})
    learning_rate: float = dataclasses.field(default=1e-3, metadata={
        "help": "peak learning rate (use ~1e-5 to 1e-4 for a pretrained model)"})
    warmup_steps: int = dataclasses.field(default=100, metadata={"help": "linear warm-up"})
    weight_decay: float = dataclasses.field(default=0.01, metadata={"help": "AdamW decay"})
    seed: int = dataclasses.field(default=0, metadata={
        "help": "seeds the new model's weights, the data order and the held-out split"})
    held_out: float = dataclasses.field(default=0.05, metadata={
        "help": "fraction of image groups (a pair and its reversal together) held out"})
    eval_set: str = dataclasses.field(default="", metadata={
        "help": "a labelled eval manifest (JSONL, as `idp-corpus synth` writes pairs.jsonl) "
                "evaluated with eval-idp at the end"})
    checkpoint_every: int = dataclasses.field(default=250, metadata={
        "help": "steps between checkpoints (a rerun with the same output resumes)"})
    log_every: int = dataclasses.field(default=50, metadata={"help": "steps between logs"})
    device: str = dataclasses.field(default="auto", metadata={"help": "auto, cpu or cuda"})
    prompt: str = dataclasses.field(default=DEFAULT_PROMPT, metadata={
        "help": "the prompt the model learns to answer: keep the pipeline's"})
    prompt_template: str = dataclasses.field(default="", metadata={
        "help": "model text around the prompt, '{image}{image}{prompt}' style, for a processor "
                "without a chat template (default: the chat template or the family's documented "
                "format); caption with the same one"})

    def __post_init__(self):
        if bool(self.model) == self.tiny:
            raise ValueError("give exactly one of --model (a model to fine-tune) or --tiny")
        if self.prompt_template:
            check_template(self.prompt_template)
        if self.steps < 1 or self.batch_size < 1 or not 0 <= self.held_out < 1:
            raise ValueError("need steps >= 1, batch_size >= 1, 0 <= held_out < 1")
