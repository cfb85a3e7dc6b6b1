#!/usr/bin/env bash
# The GPU check of the caption stage, as run on the device machine (one H100/H200, no internet).
# Usage: bash benchmarks/gpu_caption_check.sh OUT_DIR
set -uo pipefail
out=${1:?output folder}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python - <<'PY' | tee -a "$out/gpu.txt"
import torch, transformers
try:
    import torchvision; tv = torchvision.__version__
except ImportError:
    tv = "absent"
print("torch", torch.__version__, "transformers", transformers.__version__, "torchvision", tv)
PY
python -m benchmarks.caption_gpu --sizes 1,8,32,64,128 --repeats 2 \
  --json "$out/caption_gpu.json" 2>&1 | grep -v Warning | tail -n 40
# A family whose processor splits frames into crops per prompt (Idefics3-8B-shaped, 8.5B
# parameters, ~4,500 prompt tokens a 720p pair): batch 128 would need ~75 GiB of KV cache.
python -m benchmarks.caption_gpu --shape idefics3-8b --sizes 8,32,64 --repeats 1 \
  --modes raw,handler --json "$out/caption_gpu_idefics3.json" 2>&1 | grep -v Warning | tail -n 10
