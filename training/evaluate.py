"""eval-idp: how well an IDP model labels pairs whose actions are known.

Caption quality (exact match, BLEU, ROUGE-L), order-swap consistency (the reversed pair should
get the inverse action), label preference (the true action scores above a wrong one) and verifier
accuracy (the true after-image ranked first among candidates by the action's IDP likelihood).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from training import metrics
from transforms.discover import read_manifest, resolve_relative
from transforms.image_pairs import read_image
from transforms.caption.prompt import parse_action


@dataclasses.dataclass(frozen=True)
class EvalItem:
    id: str
    before: np.ndarray
    after: np.ndarray
    action: str
    inverse: Optional[str] = None  # the action that undoes this one, where there is one
    candidates: Tuple[np.ndarray, ...] = ()  # possible after-images, the true one among them
    answer: Optional[int] = None  # index of the true after-image in candidates


def items_from_manifest(path: str) -> List[EvalItem]:
    """A JSONL/Parquet manifest: id, before, after, action, and optionally inverse, candidates
    and answer (image paths relative to the manifest), as `idp-corpus synth` writes pairs.jsonl."""
    base = os.path.dirname(path)
    items = []
    for row in read_manifest(path):
        candidates = tuple(read_image(resolve_relative(c, base))
                           for c in row.get("candidates") or ())
        items.append(EvalItem(
            id=str(row["id"]), before=read_image(resolve_relative(row["before"], base)),
            after=read_image(resolve_relative(row["after"], base)), action=row["action"],
            inverse=row.get("inverse") or None, candidates=candidates,
            answer=row.get("answer") if candidates else None))
    return items


def items_from_examples(examples) -> List[EvalItem]:
    """Shard examples (training.examples.Example): captions only, no inverses or candidates."""
    return [EvalItem(e.key, *e.images(), e.action) for e in examples]


def _wrong_labels(items: Sequence[EvalItem]) -> List[str]:
    """A wrong action per item: its inverse (same objects, opposite change) where known, else
    the next item's action that differs from its own."""
    wrong = []
    for index, item in enumerate(items):
        if item.inverse and metrics.normalise(item.inverse) != metrics.normalise(item.action):
            wrong.append(item.inverse)
            continue
        others = [o.action for o in items[index + 1:] + items[:index]
                  if metrics.normalise(o.action) != metrics.normalise(item.action)]
        wrong.append(others[0] if others else "")
    return wrong


def evaluate(model, items: Sequence[EvalItem], prompt: str, max_new_tokens: int = 24
             ) -> Tuple[Dict, List[Dict]]:
    """(metrics, one row per item). `model` is a loaded transforms.caption.model.IdpModel."""
    items = list(items)
    befores, afters = [i.before for i in items], [i.after for i in items]
    answers = model.caption(befores, afters, prompt, max_new_tokens)
    predictions = [parse_action(text) for text, *_ in answers]
    references = [i.action for i in items]
    result: Dict = {"items": len(items), **metrics.caption_metrics(predictions, references)}
    rows = [{"id": i.id, "action": i.action, "prediction": p,
             "correct": metrics.normalise(p) == metrics.normalise(i.action)}
            for i, p in zip(items, predictions)]

    invertible = [n for n, i in enumerate(items) if i.inverse]
    if invertible:
        swapped = model.caption([afters[n] for n in invertible], [befores[n] for n in invertible],
                                prompt, max_new_tokens)
        for n, (text, *_) in zip(invertible, swapped):
            rows[n]["swapped_prediction"] = parse_action(text)
            rows[n]["swap_correct"] = metrics.normalise(text) == metrics.normalise(items[n].inverse)
        result["swap_consistency"] = metrics.swap_consistency(
            [rows[n]["swapped_prediction"] for n in invertible],
            [items[n].inverse for n in invertible])
        result["invertible_items"] = len(invertible)

    wrong = _wrong_labels(items)
    scored = [n for n, label in enumerate(wrong) if label]
    if scored:
        true = model.score([befores[n] for n in scored], [afters[n] for n in scored], prompt,
                           [references[n] for n in scored])
        false = model.score([befores[n] for n in scored], [afters[n] for n in scored], prompt,
                            [wrong[n] for n in scored])
        for n, (t, f) in zip(scored, zip(true, false)):
            rows[n].update(true_label_score=t[0], wrong_label=wrong[n], wrong_label_score=f[0])
        result["label_preference"] = sum(t[0] > f[0] for t, f in zip(true, false)) / len(scored)

    ranked = [n for n, i in enumerate(items) if i.candidates and i.answer is not None]
    if ranked:
        flat = [(n, c) for n in ranked for c in items[n].candidates]
        scores = model.score([befores[n] for n, _ in flat], [c for _, c in flat], prompt,
                             [references[n] for n, _ in flat])
        per_item, at = [], 0
        for n in ranked:
            count = len(items[n].candidates)
            per_item.append([s[0] for s in scores[at:at + count]])
            at += count
            rows[n]["candidate_scores"] = per_item[-1]
            rows[n]["verifier_pick"] = int(np.argmax(per_item[-1]))
        result["verifier_accuracy"] = metrics.verifier_accuracy(
            per_item, [items[n].answer for n in ranked])
        result["verifier_items"] = len(ranked)
        result["verifier_candidates"] = max(len(items[n].candidates) for n in ranked)
    return result, rows
