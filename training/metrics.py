"""Caption quality against reference actions: exact match, BLEU and ROUGE-L (as the paper
reports them, 0..1), order-swap consistency and verifier accuracy. Pure functions."""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

from transforms.caption.prompt import parse_action


def normalise(text: str) -> str:
    """Case and spacing do not make two actions different; a final period does not either."""
    return re.sub(r"\s+", " ", parse_action(text).lower()).strip()


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    pairs = list(zip(predictions, references))
    return sum(normalise(p) == normalise(r) for p, r in pairs) / len(pairs) if pairs else 0.0


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 (sacrebleu, its default tokenisation), on a 0..1 scale."""
    import sacrebleu
    if not predictions:
        return 0.0
    score = sacrebleu.corpus_bleu([normalise(p) for p in predictions],
                                  [[normalise(r) for r in references]])
    return score.score / 100.0


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure over pairs (Google's rouge-score)."""
    from rouge_score import rouge_scorer
    if not predictions:
        return 0.0
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    return sum(scorer.score(normalise(r), normalise(p))["rougeL"].fmeasure
               for p, r in zip(predictions, references)) / len(predictions)


def caption_metrics(predictions: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    return {"exact_match": exact_match(predictions, references),
            "bleu": bleu(predictions, references),
            "rouge_l": rouge_l(predictions, references)}


def swap_consistency(swapped_predictions: Sequence[str],
                     inverses: Sequence[Optional[str]]) -> Optional[float]:
    """Share of invertible pairs whose reversed pair was captioned with the inverse action."""
    pairs = [(p, i) for p, i in zip(swapped_predictions, inverses) if i]
    return exact_match(*zip(*pairs)) if pairs else None


def verifier_accuracy(candidate_scores: Sequence[Sequence[float]],
                      answers: Sequence[int]) -> Optional[float]:
    """Share of items whose true after-image has the highest score; a tie counts as a miss, so
    a model that scores everything alike cannot pass by candidate order."""
    hits: List[bool] = []
    for scores, answer in zip(candidate_scores, answers):
        best = max(scores)
        hits.append(scores[answer] == best and list(scores).count(best) == 1)
    return sum(hits) / len(hits) if hits else None
