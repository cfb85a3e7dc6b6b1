"""Where a model's weights come from and how they load: a hub id, a local folder or an fsspec URL
of a saved folder, through transformers' Auto classes, on the device the config asks for.
Captioning (the handler's `load_model`), scoring and train-idp all load a model this way.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Optional


def cuda_available() -> bool:
    """Asks NVML, not the CUDA runtime: this also runs in the launching process at pipeline
    construction, and initialising CUDA there breaks CUDA in the workers it forks later."""
    import torch
    previous = os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK")
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    try:
        return torch.cuda.is_available()
    finally:
        if previous is None:
            del os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"]
        else:
            os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = previous


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    return "cuda" if cuda_available() else "cpu"


def local_model_path(model: str, cache_dir: Optional[str] = None) -> str:
    """A hub id or local folder as is; a remote fsspec folder copied once into a local cache."""
    if "://" not in model:
        return model
    import fsspec
    fs, root = fsspec.core.url_to_fs(model)
    if "file" in fs.protocol or "local" in fs.protocol:
        return root
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), "idp_corpus_models")
    target = os.path.join(cache_dir, hashlib.sha256(model.encode()).hexdigest()[:16])
    if not os.path.isdir(target):
        os.makedirs(cache_dir, exist_ok=True)
        # Copy beside the target and rename, so a concurrent worker never loads half a folder.
        partial = tempfile.mkdtemp(dir=cache_dir)
        fs.get(root.rstrip("/") + "/", partial, recursive=True)
        try:
            os.rename(partial, target)
        except OSError:  # another process got there first; its copy is complete
            pass
    return target


# Packages some families' processors import that the core install leaves out, and the extra
# that adds them (pyproject.toml).
PROCESSOR_EXTRAS = {"torchvision": "processors", "num2words": "processors"}


def missing_extra(message: str) -> str:
    """A hint naming the extra to install, when a load failed for want of one of its packages;
    "" otherwise."""
    missing = sorted(name for name in PROCESSOR_EXTRAS if name in message.lower())
    if not missing:
        return ""
    extras = sorted({PROCESSOR_EXTRAS[name] for name in missing})
    return (f" (this model's processor needs {' and '.join(missing)}: pip install "
            f"'idp-corpus[{','.join(extras)}]', with the torchvision build that matches your "
            "torch, e.g. from https://download.pytorch.org/whl/cpu for a CPU torch)")


def pin_revision(path: str, revision: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(revision to load both processor and model with, the commit hash it points to, if known).

    A hub revision like "main" moves; resolving it once makes the processor and the model come
    from the same commit, and the commit is what caption provenance should record. Local folders
    and an unreachable hub resolve to nothing.
    """
    try:
        from transformers.utils.hub import resolve_revision
    except ImportError:  # transformers < 5 keeps the commit on the config instead
        return revision, None
    resolved = resolve_revision(path, revision)
    return resolved, getattr(resolved, "resolved", None)


def load_pretrained(path: str, dtype, revision: Optional[str] = None,
                    trust_remote_code: bool = False):
    """(processor, model) of a saved or hub model through the Auto classes: how captioning,
    scoring and train-idp all load one."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    common = dict(revision=revision, trust_remote_code=trust_remote_code)
    processor = AutoProcessor.from_pretrained(path, **common)
    # Decoder-only generation continues from the last position: pad on the left.
    processor.tokenizer.padding_side = "left"
    if processor.tokenizer.pad_token is None:
        processor.tokenizer.pad_token = processor.tokenizer.eos_token
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, **common)
    return processor, model
