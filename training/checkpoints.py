"""Resumable training state: the trainable weights, optimizer and schedule, at a step.

A checkpoint is written to a temporary folder and renamed into place, so a run killed while
saving leaves the previous checkpoint whole and the next run resumes from it.
"""
from __future__ import annotations

import os
import re
import shutil
from typing import Optional

STATE = "trainer_state.pt"
_STEP = re.compile(r"^step-(\d+)$")


def trainable_state(model) -> dict:
    names = {name for name, param in model.named_parameters() if param.requires_grad}
    return {name: tensor for name, tensor in model.state_dict().items() if name in names}


def save(folder: str, step: int, model, optimizer, scheduler, keep: int = 2) -> str:
    import torch
    final = os.path.join(folder, f"step-{step:07d}")
    partial = final + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    torch.save({"step": step, "model": trainable_state(model),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state()}, os.path.join(partial, STATE))
    shutil.rmtree(final, ignore_errors=True)
    os.rename(partial, final)
    for old in sorted(_steps(folder))[:-keep]:
        shutil.rmtree(os.path.join(folder, f"step-{old:07d}"), ignore_errors=True)
    return final


def _steps(folder: str):
    if not os.path.isdir(folder):
        return []
    return [int(m.group(1)) for m in map(_STEP.match, os.listdir(folder)) if m]


def latest(folder: str) -> Optional[str]:
    steps = _steps(folder)
    return os.path.join(folder, f"step-{max(steps):07d}") if steps else None


def restore(path: str, model, optimizer, scheduler) -> int:
    """Loads a checkpoint into the live objects and returns the step it was taken at."""
    import torch
    state = torch.load(os.path.join(path, STATE), weights_only=False)
    missing = set(trainable_state(model)) - set(state["model"])
    if missing:
        raise ValueError(f"{path} does not match this model: {len(missing)} trainable tensors "
                         f"missing, e.g. {sorted(missing)[:3]}")
    model.load_state_dict(state["model"], strict=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"])
