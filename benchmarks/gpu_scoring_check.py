"""GPU check of the IDP model handler's two modes (caption and teacher-forced scoring) in bf16:
runs on a bare GPU box (no Beam needed). Prints what it measured; exits non-zero on a mismatch.

    python -m benchmarks.gpu_scoring_check
"""
from __future__ import annotations

import dataclasses
import sys
import tempfile

import numpy as np

from benchmarks.caption_gpu import ensure_beam_importable


def main() -> int:
    ensure_beam_importable()
    import torch
    import transformers
    from schemas.records import FramePair, PairMeta, PairScores, VideoInfo, VideoSource
    from synthetic_inputs.tiny_vlm import build_tiny_vlm
    from transforms.caption.config import CaptionConfig
    from transforms.caption.handler import IdpModelHandler
    from transforms.caption.inputs import as_input

    print("torch", torch.__version__, "transformers", transformers.__version__,
          "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    path = build_tiny_vlm(tempfile.mkdtemp(), seed=0)
    handler = IdpModelHandler(CaptionConfig(model=path, batch_size=8, max_new_tokens=8))
    model = handler.load_model()
    print("device", model.device, "dtype", model.model.dtype)
    rng = np.random.default_rng(0)
    labels = ["open the drawer", "push the cube left", "wave", "pick up the red cup"]

    def pair(i, label):
        size = (32 + 8 * i, 40)
        meta = PairMeta(f"k{i}", VideoSource("u", f"v{i}", label=label),
                        VideoInfo(25.0, 2, 40, 32, "pyav"), 0, 1, "keyframes",
                        PairScores(0, 0, 0, 0, 0))
        return as_input(FramePair(meta, rng.integers(0, 256, (*size, 3), np.uint8),
                                  rng.integers(0, 256, (*size, 3), np.uint8)))
    pairs = [pair(i, label) for i, label in enumerate(labels)] + \
        [pair(i + 4, None) for i in range(4)]
    batched = {r.example.key: r.inference for r in handler.run_inference(pairs, model)}
    failures = 0
    for p in pairs:
        single = next(iter(handler.run_inference([p], model))).inference
        both = batched[p.key]
        ok = both.action == single.action and abs(both.idp_score - single.idp_score) < 0.05
        failures += not ok
        print(f"{p.key} {both.source:5s} batched {both.idp_score:8.4f} single "
              f"{single.idp_score:8.4f} tokens {both.num_tokens} truncated {both.truncated} "
              f"{'ok' if ok else 'MISMATCH'}")
    # Scores depend on the action: another label for the same pair scores differently.
    other = dataclasses.replace(pairs[0], meta=dataclasses.replace(
        pairs[0].meta, source=dataclasses.replace(pairs[0].meta.source, label="wave")))
    changed = next(iter(handler.run_inference([other], model))).inference.idp_score
    print("label-dependence", batched["k0"].idp_score, "vs", changed)
    failures += changed == batched["k0"].idp_score
    if torch.cuda.is_available():
        print("peak GPU memory MiB", torch.cuda.max_memory_allocated() // 2**20)
    print("FAILURES", failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
