"""report.html: written by each build, self-contained, deterministic, and it renders its gallery
in a real browser (headless Chromium, where installed)."""
import base64
import html
import io
import re
import shutil
import subprocess

import pytest
from PIL import Image

from pipelines.readers import KEPT, open_dataset
from pipelines.report import render_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def dataset(flagged_corpus):
    """The shared captioned build of every input, the broken one included."""
    _, folder = flagged_corpus
    return folder, open_dataset(str(folder))


def test_the_report_shows_funnel_reasons_histograms_and_galleries(dataset):
    folder, committed = dataset
    page = (folder / "report.html").read_text(encoding="utf-8")
    stats = committed.stats
    assert f"{stats['triples']} triples in {stats['shards']} shards" in page
    for reason, count in stats["pair_reasons"].items():
        assert f'id="rejected-{reason}"' in page and f"pair: {reason}" in page
    assert "video: decode_failed" in page and "broken.mp4" in page  # the failed input
    assert page.count("<svg") == 3 and "IDP score" in page and "motion score" in page
    triples = re.findall(r'<div class="triple" id="([^"]+)"', page)
    assert len(triples) == min(12, stats["triples"]) and len(set(triples)) == len(triples)
    kept = {row["key"]: row for row in committed.rows("pairs", filter=KEPT)}
    assert set(triples) <= set(kept)
    assert all(html.escape(kept[key]["action"]) in page for key in triples)


def test_the_report_is_self_contained(dataset):
    folder, _ = dataset
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from a network
    assert "<script" not in page and "<link" not in page
    images = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    assert len(images) == 2 * len(re.findall('class="triple"', page))
    for data in images:
        assert Image.open(io.BytesIO(base64.b64decode(data))).size[0] > 0


def test_the_report_is_the_same_for_the_same_dataset(dataset, tmp_path):
    folder, _ = dataset
    copy = tmp_path / "elsewhere"
    shutil.copytree(folder, copy)
    assert render_report(open_dataset(str(copy))).encode("utf-8") == \
        (folder / "report.html").read_bytes()


def chromium(*args, profile):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                                              "chromium); the browser rendering check is skipped")
def test_chromium_renders_the_gallery(dataset, tmp_path):
    folder, _ = dataset
    # A copy that reports, once loaded, how many gallery images the browser decoded.
    page = (folder / "report.html").read_text(encoding="utf-8")
    probe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace(
        "</body>", "<script>addEventListener('load', () => { const images = [...document."
        "querySelectorAll('.triple img')]; document.body.dataset.decoded = images.filter(i => "
        "i.complete && i.naturalWidth > 0).length + '/' + images.length; });</script></body>")
    (tmp_path / "probe.html").write_text(probe, encoding="utf-8")
    done = chromium("--virtual-time-budget=5000", "--dump-dom",
                    (tmp_path / "probe.html").as_uri(), profile=tmp_path / "profile")
    found = re.search(r'data-decoded="(\d+)/(\d+)"', done.stdout)
    assert found, done.stderr[-2000:]
    decoded, total = map(int, found.groups())
    assert total > 0 and decoded == total
    # The report itself, as a person sees it: a full-size picture with many colours.
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,2000",
             (folder / "report.html").as_uri(), profile=tmp_path / "profile")
    image = Image.open(shot)
    assert image.size == (1200, 2000) and len(image.getcolors(1 << 20) or ()) > 100
