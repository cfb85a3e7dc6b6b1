import pytest

from schemas.records import (Caption, PairMeta, PairScores, StagedImages, StagedTriple, VideoInfo,
                             VideoSource)
from transforms.caption_qc import CaptionQcConfig, check_video, flags_for_pair


def caption(action, truncated=False):
    return Caption(action=action, idp_score=-1.0, num_tokens=5, model_id="m", model_revision=None,
                   prompt_id="p", truncated=truncated)


@pytest.mark.parametrize("action, truncated, flags", [
    ("open the drawer", False, []),
    ("", False, ["caption_empty"]),
    ("   ", False, ["caption_empty"]),
    ("push the red block to the", True, ["caption_truncated"]),
    ("move move move the cup", False, ["caption_repetitive"]),
    ("the cup the cup the cup", False, ["caption_repetitive"]),
    ("öffne die Tür", False, []),
    ("открыть дверь", False, ["caption_charset"]),
    ("打开门 now", False, ["caption_charset"]),
])
def test_pair_checks(action, truncated, flags):
    assert flags_for_pair(caption(action, truncated), CaptionQcConfig()) == flags


def test_charset_check_can_be_off():
    assert flags_for_pair(caption("открыть дверь"), CaptionQcConfig(qc_charset="any")) == []


def triple(key, action, video="v1"):
    meta = PairMeta(key=key, source=VideoSource(uri=f"/{video}.mp4", video_id=video),
                    info=VideoInfo(25.0, 100, 64, 48, "pyav"), before_index=0, after_index=1,
                    sampler="keyframes", scores=PairScores(1, 0.1, 0, 100, 0.5))
    return StagedTriple(meta=meta, caption=caption(action),
                        images=StagedImages("/staging/x", 0, (0, 0, 0)))


def test_same_action_for_most_of_a_video_is_flagged_or_dropped():
    triples = [triple("k1", "wave"), triple("k2", "wave"), triple("k3", "wave"),
               triple("k4", "open the door"), triple("k5", "")]
    # 3 of 5 share an action: 60 %, under the default 80 %.
    dropped = {t.key: d.reason for t, d in check_video(triples, CaptionQcConfig()) if d}
    assert dropped == {"k5": "caption_empty"}
    strict = CaptionQcConfig(qc_max_same_share=0.5)
    dropped = {t.key: d.reason for t, d in check_video(triples, strict) if d}
    assert dropped == {"k1": "caption_same_for_video", "k2": "caption_same_for_video",
                       "k3": "caption_same_for_video", "k5": "caption_empty"}
    flagged = {t.key: t.qc_flags for t, d in check_video(triples, CaptionQcConfig(
        qc_max_same_share=0.5, qc_policy="flag"))}
    assert flagged["k1"] == ("caption_same_for_video",) and flagged["k4"] == ()
    assert flagged["k5"] == ("caption_empty",)


def test_few_pairs_are_not_judged_for_sameness():
    triples = [triple("k1", "wave"), triple("k2", "wave")]
    assert all(d is None for _, d in check_video(triples, CaptionQcConfig(qc_max_same_share=0.1)))
