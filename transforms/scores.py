"""Pair scores: everything the filters look at, computed once per candidate pair."""
from __future__ import annotations

import cv2
import numpy as np

from schemas.records import PairScores
from transforms.motion import FrameSignals

SHARPNESS_WIDTH = 320  # sharpness is resolution-dependent: measure it at one fixed width


def _gray(rgb: np.ndarray, width: int) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    height = max(1, round(gray.shape[0] * width / gray.shape[1]))
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)


def sharpness(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def measure(before: np.ndarray, after: np.ndarray, signals: FrameSignals,
            before_index: int, after_index: int) -> PairScores:
    gray_before = _gray(before, SHARPNESS_WIDTH)
    gray_after = _gray(after, SHARPNESS_WIDTH)
    change = np.abs(gray_before.astype(np.int16) - gray_after).mean() / 255.0
    return PairScores(
        motion=float((signals.motion[before_index] + signals.motion[after_index]) / 2),
        change=float(change),
        cut=signals.max_cut(before_index, after_index),
        sharpness=min(sharpness(gray_before), sharpness(gray_after)),
        brightness=float(min(gray_before.mean(), gray_after.mean()) / 255.0),
    )
