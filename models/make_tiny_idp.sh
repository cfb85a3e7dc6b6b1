#!/usr/bin/env bash
# Rebuilds the bundled model models/tiny-idp from nothing, with the project's own commands:
# procedural training data -> shards (the pipeline, human labels) -> train-idp -> eval-idp.
# About 45 minutes on a 2-core machine (6 for the data, 2 x 18 for training, 3 for evaluation).
# Usage: models/make_tiny_idp.sh [WORK_DIR]
set -euo pipefail
work=${1:-work/tiny-idp}
here=$(cd "$(dirname "$0")" && pwd)

# Training scenes and their reversals (each pair also reversed, labelled with the inverse action).
idp-corpus synth --output "$work/train" --n 8000 --seed 1 --no-videos
# Image pairs are not consecutive frames: the scene-cut filter is off for them (--max-cut 1.0).
idp-corpus build --input "$work/train/aurora.json" --output "$work/train-shards" --no-caption \
  --max-cut 1.0 --mode overwrite
# Held-out scenes from another seed, with verifier candidates.
idp-corpus synth --output "$work/eval" --n 300 --seed 2 --no-videos
# Two stages: a new tiny model, then a second schedule from it at a lower learning rate.
idp-corpus train-idp --tiny --data "$work/train-shards" --output "$work/stage1" \
  --eval-set "$work/eval/pairs.jsonl" --steps 2400 --batch-size 32 --seed 0
idp-corpus train-idp --model "$work/stage1" --data "$work/train-shards" --output "$work/model" \
  --eval-set "$work/eval/pairs.jsonl" --steps 2400 --learning-rate 5e-4 --warmup-steps 50 --seed 0
idp-corpus eval-idp --model "$work/model" --data "$work/eval/pairs.jsonl" \
  --output "$work/eval-results"

mkdir -p "$here/tiny-idp"
for file in config.json generation_config.json model.safetensors processor_config.json \
    tokenizer.json tokenizer_config.json chat_template.jinja training.json README.md; do
  cp "$work/model/$file" "$here/tiny-idp/$file"
done
cat >> "$here/tiny-idp/README.md" <<CARD

## Data and the whole recipe

Made by \`models/make_tiny_idp.sh\` (procedural scenes from \`procedural/\`: 2-4 shaded shapes of
six colours and three kinds on quiet, varied backgrounds; the target moves left/right/up/down,
appears, disappears or changes colour; distractors never change):

    idp-corpus synth --output $work/train --n 8000 --seed 1 --no-videos
    idp-corpus build --input $work/train/aurora.json --output $work/train-shards --no-caption --max-cut 1.0 --mode overwrite
    idp-corpus synth --output $work/eval --n 300 --seed 2 --no-videos
    idp-corpus train-idp --tiny --data $work/train-shards --output $work/stage1 --eval-set $work/eval/pairs.jsonl --steps 2400 --batch-size 32 --seed 0
    idp-corpus train-idp --model $work/stage1 --data $work/train-shards --output $work/model --eval-set $work/eval/pairs.jsonl --steps 2400 --learning-rate 5e-4 --warmup-steps 50 --seed 0
    idp-corpus eval-idp --model $work/model --data $work/eval/pairs.jsonl --output $work/eval-results

The eval set (\`eval_set\` column above) is 300 scenes of another seed, never trained on; its
swap and verifier figures use each scene's reversed pair and 3 alternative after-images (the
same before scene with another action applied).
CARD
echo "models/tiny-idp updated from $work/model"
