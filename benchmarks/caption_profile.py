"""Where a handler batch's time goes, beside raw generate: input preparation, generate with and
without the per-step logits the IDP score needs, the score and decoding, the whole handler.

    python -m benchmarks.caption_profile --sizes 32,128          # GPU, LLaVA-1.5B shape
    python -m benchmarks.caption_profile --shape tiny --sizes 4  # CPU smoke run
"""
from __future__ import annotations

import argparse
import json
import time


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="llava-1.5b")
    parser.add_argument("--sizes", default="32,128")
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import torch
    from benchmarks.caption_gpu import build_model, ensure_beam_importable, frames, make_pairs
    ensure_beam_importable()
    from transforms.caption.config import CaptionConfig
    from transforms.caption.handler import IdpModelHandler
    from transforms.caption.inputs import as_input
    from transforms.caption.model import IdpModel

    cuda = torch.cuda.is_available()
    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", torch.float32)
    processor, model = build_model(args.shape, device, dtype)
    model.generation_config.min_new_tokens = args.new_tokens
    pool = frames(16)

    def seconds(call):
        call()
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(args.repeats):
            out = call()
        if cuda:
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / args.repeats, out

    for size in [int(s) for s in args.sizes.split(",")]:
        config = CaptionConfig(model="random", batch_size=size, max_new_tokens=args.new_tokens,
                               device=device)
        idp, handler = IdpModel(processor, model, device, None, size), IdpModelHandler(config)
        pairs = make_pairs(size, pool)
        befores, afters = [p.before for p in pairs], [p.after for p in pairs]
        row = {"batch": size}
        row["prepare_s"], batch = seconds(lambda: idp.inputs(befores, afters, config.prompt))
        with torch.inference_mode():
            row["generate_s"], _ = seconds(lambda: model.generate(
                **batch, do_sample=False, max_new_tokens=args.new_tokens))
            row["generate_with_logits_s"], _ = seconds(lambda: model.generate(
                **batch, do_sample=False, max_new_tokens=args.new_tokens,
                output_logits=True, return_dict_in_generate=True))
        row["generate_and_score_s"], _ = seconds(lambda: idp._generate(batch, args.new_tokens))
        inputs = list(map(as_input, pairs))
        row["handler_s"], _ = seconds(lambda: list(handler.run_inference(inputs, idp)))
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in row.items()}), flush=True)


if __name__ == "__main__":
    main()
