"""Stored images against what a player shows: real photographs panning, encoded and tagged by the
`ffmpeg` command as phones, DVDs, broadcasts and newer codecs write them, built once with
`idp-corpus build`, each stored frame compared with `ffmpeg`'s own conversion of that frame
(autorotated; square pixels by `scale=iw*sar:ih`; deinterlaced by the same bwdif)."""
import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image

from schemas.shard_layout import SCHEMA_VERSION
from tests import footage

MIN_PSNR = 35.0  # dB: the two FFmpeg builds' decoders and scalers differ slightly; JPEG at 95
# clip -> (coded width, height, display width, height, rotation, sample aspect, field order)
EXPECTED = {
    "rotate90.mp4": (176, 144, 144, 176, 90, 1.0, "progressive"),
    "rotate180.mp4": (176, 144, 176, 144, 180, 1.0, "progressive"),
    "rotate270.mp4": (176, 144, 144, 176, 270, 1.0, "progressive"),
    "sar32x27.mp4": (352, 240, 417, 240, 0, round(32 / 27, 6), "progressive"),
    "sar8x9.mp4": (352, 240, 312, 240, 0, round(8 / 9, 6), "progressive"),
    "interlaced_tff.mp4": (320, 240, 320, 240, 0, 1.0, "tff"),
    "interlaced_bff.mp4": (320, 240, 320, 240, 0, 1.0, "bff"),
    "hevc10.mp4": (192, 128, 192, 128, 0, 1.0, "progressive"),
    "vp9.webm": (192, 128, 192, 128, 0, 1.0, "progressive"),
    "av1.mkv": (192, 128, 192, 128, 0, 1.0, "progressive"),
    "odd.mp4": (161, 121, 161, 121, 0, 1.0, "progressive"),
    "vfr.mp4": (192, 128, 192, 128, 0, 1.0, "progressive"),
}


@pytest.fixture(scope="module")
def clips(footage_clips):
    return footage_clips


@pytest.fixture(scope="module")
def built(clips, build, tmp_path_factory):
    """One build over every clip: first and last frame of each, every pair kept."""
    folder, _ = clips
    output = tmp_path_factory.mktemp("built")
    build("--input", folder / "*", "--output", output, "--no-caption", "--sampler", "first_last",
          "--max-cut", "1", "--max-change", "1", "--min-change", "0", "--min-sharpness", "0",
          "--min-brightness", "0")
    videos = {row["uri"].rsplit("/", 1)[-1]: row
              for row in pq.read_table(output / "manifest/videos.parquet").to_pylist()}
    index = json.loads((output / "index.json").read_text())
    samples = [sample for shard in index["shards"]
               for sample in wds.WebDataset(str(output / shard["url"]), shardshuffle=False)]
    return videos, samples


def _image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_every_clip_is_stored_as_ffmpeg_shows_it(clips, built):
    folder, extras = clips
    videos, samples = built
    assert {json.loads(s["json"])["source_uri"].rsplit("/", 1)[-1] for s in samples} == set(extras)
    for sample in samples:
        meta = json.loads(sample["json"])
        name = meta["source_uri"].rsplit("/", 1)[-1]
        for member, index in (("before.jpg", meta["before_frame"]),
                              ("after.jpg", meta["after_frame"])):
            stored = _image(sample[member])
            reference = footage.reference_frame(str(folder / name), index, extras[name])
            assert stored.shape == reference.shape, (name, member)
            assert stored.shape[:2] == (meta["display_height"], meta["display_width"])
            assert footage.psnr(stored, reference) >= MIN_PSNR, (name, member)


def test_manifest_and_metadata_record_coded_and_displayed_geometry(clips, built):
    _, extras = clips
    videos, samples = built
    for name in extras:
        row = videos[name]
        assert row["status"] == "ok" and row["decoder"] == "pyav", name
        got = (row["width"], row["height"], row["display_width"], row["display_height"],
               row["rotation"], row["sample_aspect"], row["field_order"])
        assert got == EXPECTED[name], name
        assert row["num_frames"] == (17 if name == "vfr.mp4" else 25), name  # one per frame
    for sample in samples:
        meta = json.loads(sample["json"])
        row = videos[meta["source_uri"].rsplit("/", 1)[-1]]
        assert meta["schema_version"] == SCHEMA_VERSION and meta["mirrored"] is False
        assert [meta[k] for k in ("source_width", "source_height", "display_width",
                                  "display_height", "rotation", "sample_aspect", "field_order")] \
            == [row[k] for k in ("width", "height", "display_width", "display_height",
                                 "rotation", "sample_aspect", "field_order")]


def _combing(rgb: np.ndarray) -> float:
    """How much each line differs from the mean of its neighbours: high where two fields taken
    at different moments are woven together."""
    grey = rgb.astype(np.float64).mean(axis=2)
    return float(np.abs(grey[1:-1] - (grey[:-2] + grey[2:]) / 2).mean())


def test_interlaced_clips_are_stored_without_combing(clips, built):
    folder, _ = clips
    _, samples = built
    checked = 0
    for sample in samples:
        meta = json.loads(sample["json"])
        if meta["field_order"] == "progressive":
            continue
        for member, index in (("before.jpg", meta["before_frame"]),
                              ("after.jpg", meta["after_frame"])):
            woven = footage.reference_frame(meta["source_uri"], index)  # not deinterlaced
            assert _combing(_image(sample[member])) < 0.5 * _combing(woven)
        checked += 1
    assert checked == 2
