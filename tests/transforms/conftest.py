"""FramePairs with dummy metadata (the tiny VLM fixture lives in tests/conftest.py)."""
import numpy as np
import pytest

from schemas.records import FramePair, PairMeta, PairScores, VideoInfo, VideoSource


def make_pair(key: str, before_hw=(32, 32), after_hw=(32, 32), seed: int = 0) -> FramePair:
    rng = np.random.default_rng(seed)
    meta = PairMeta(
        key=key,
        source=VideoSource(uri=f"file:///videos/{key}.mp4", video_id=key),
        info=VideoInfo(fps=30.0, num_frames=300, width=64, height=48, decoder="pyav"),
        before_index=10, after_index=40, sampler="keyframes",
        scores=PairScores(motion=1.0, change=0.2, cut=0.1, sharpness=100.0, brightness=0.5))
    before = rng.integers(0, 256, (*before_hw, 3), dtype=np.uint8)
    after = rng.integers(0, 256, (*after_hw, 3), dtype=np.uint8)
    return FramePair(meta=meta, before=before, after=after)


@pytest.fixture
def pair_factory():
    return make_pair
