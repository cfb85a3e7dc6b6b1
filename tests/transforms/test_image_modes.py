"""Labelled images of every mode people save are stored as a viewer shows them (checked against
references computed here from the source values), and images that cannot be used are per-pair
reasons, decided from the header before any pixel is decoded."""
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from transforms.image_pairs import read_image
from transforms.video_io import DecodeError

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, (24, 32, 3)).astype(np.uint8)
ALPHA = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (24, 1))


def png_header(path, width, height):
    """A PNG whose header claims width x height and that holds no pixel data at all."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return str(path)


def over_white(rgb, alpha):
    a = alpha[..., None].astype(np.float64) / 255
    return rgb * a + 255 * (1 - a)


def test_16_bit_grey_is_scaled_not_clipped_to_white(tmp_path):
    grey16 = np.full((24, 32), 128 * 257, np.uint16)
    grey16[:, :16] = 40 * 257 + 100  # not a multiple of 257: rounding is checked too
    cv2.imwrite(str(tmp_path / "g.png"), grey16)
    image = read_image(str(tmp_path / "g.png"))
    reference = np.rint(grey16 / 257.0)
    assert image.dtype == np.uint8 and image.shape == (24, 32, 3)
    assert np.array_equal(image[..., 0], reference) and np.array_equal(image[..., 2], reference)
    assert abs(image.mean() - reference.mean()) < 0.5  # clipped, not scaled, it is near white


def test_16_bit_colour(tmp_path):
    bgr16 = (RGB[..., ::-1].astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "c.png"), bgr16)
    assert np.array_equal(read_image(str(tmp_path / "c.png")), RGB)


def test_alpha_is_composited_onto_white(tmp_path):
    Image.fromarray(np.dstack([RGB, ALPHA])).save(tmp_path / "a.png")
    got = read_image(str(tmp_path / "a.png")).astype(np.float64)
    assert np.abs(got - over_white(RGB, ALPHA)).max() <= 1


def test_grey_with_alpha(tmp_path):
    grey = RGB[..., 0]
    Image.fromarray(np.dstack([grey, ALPHA]), "LA").save(tmp_path / "la.png")
    got = read_image(str(tmp_path / "la.png")).astype(np.float64)
    expected = over_white(np.repeat(grey[..., None], 3, axis=2), ALPHA)
    assert np.abs(got - expected).max() <= 1


def test_palette_with_a_transparent_entry(tmp_path):
    palette = Image.fromarray(RGB).quantize(8)
    indices = np.asarray(palette)
    palette.info["transparency"] = 0
    palette.save(tmp_path / "p.png", transparency=0)
    colours = np.array(palette.getpalette()[:24]).reshape(8, 3)
    expected = colours[indices].astype(np.float64)
    expected[indices == 0] = 255
    assert np.abs(read_image(str(tmp_path / "p.png")) - expected).max() <= 1


def test_cmyk_jpeg(tmp_path):
    flat = np.zeros((24, 32, 3), np.uint8)
    flat[:, :16] = (200, 40, 40)
    flat[:, 16:] = (30, 90, 220)
    Image.fromarray(flat).convert("CMYK").save(tmp_path / "k.jpg", quality=95)
    assert Image.open(tmp_path / "k.jpg").mode == "CMYK"
    got = read_image(str(tmp_path / "k.jpg")).astype(np.int32)
    assert np.abs(got[:, 2:14] - flat[:, 2:14]).mean() < 6
    assert np.abs(got[:, 18:30] - flat[:, 18:30]).mean() < 6


@pytest.mark.parametrize("size, limit, reason", [
    ((20000, 20000), 3840 * 2160, "too_large"),  # PIL's own bomb guard would raise
    ((9000, 9000), 3840 * 2160, "too_large"),
    ((640, 480), 640 * 480 - 1, "too_large"),
])
def test_too_large_from_the_header_alone(tmp_path, size, limit, reason):
    path = png_header(tmp_path / "big.png", *size)  # no pixel data: decoding would fail
    with pytest.raises(DecodeError) as error:
        read_image(path, max_pixels=limit)
    assert error.value.reason == reason
    assert f"{size[0]}x{size[1]}" in str(error.value) or "decompression bomb" in str(error.value)


def test_too_small_undecodable_and_truncated(tmp_path):
    Image.fromarray(RGB[:1, :1]).save(tmp_path / "dot.png")
    (tmp_path / "text.png").write_text("not an image")
    Image.fromarray(RGB).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])
    for name, reason in (("dot.png", "too_small"), ("text.png", "decode_failed"),
                         ("cut.png", "decode_failed")):
        with pytest.raises(DecodeError) as error:
            read_image(str(tmp_path / name), min_side=16)
        assert error.value.reason == reason, name
