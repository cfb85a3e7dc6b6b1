"""The live progress display: real Beam counters while the local runner runs, rates and an ETA,
and nothing at all when stderr is not a terminal."""
import io
import re
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.progress import render, run_with_progress


def slow_decode(name):
    time.sleep(0.15)
    beam.metrics.Metrics.counter("idp_corpus", "videos_decoded").inc()
    beam.metrics.Metrics.counter("idp_corpus", "pairs_sampled").inc(2)
    yield name


def tiny_pipeline(count, mode="multi_threading"):
    # in_memory runs each bundle inside the runner's own call, so counters there move only as
    # bundles finish; the threaded and multi-process modes report while a bundle runs.
    pipeline = beam.Pipeline(options=PipelineOptions(["--direct_running_mode", mode,
                                                      "--direct_num_workers", "1"]))
    _ = (pipeline | beam.Create([f"v{i}" for i in range(count)])
         | beam.Reshuffle() | beam.FlatMap(slow_decode))
    return pipeline


def frames(text):
    """The successive pictures the display drew, without the terminal's control sequences."""
    clean = re.sub(r"\x1b\[\d*[A-Za-z]", "", text)
    return [frame for frame in clean.split("idp-corpus build") if frame.strip()]


def test_the_local_runner_shows_counters_while_it_runs():
    stream = io.StringIO()
    result = run_with_progress(tiny_pipeline(16), enabled=True, stream=stream, interval=0.1)
    assert str(result.state).endswith("DONE")
    processed = [int(m.group(1)) for frame in frames(stream.getvalue())
                 for m in [re.search(r"videos\s+(\d+) processed", frame)] if m]
    assert processed[-1] == 16 and "32 sampled" in frames(stream.getvalue())[-1]
    assert any(0 < count < 16 for count in processed), processed  # seen mid-run, not just at end
    assert processed == sorted(processed)


def test_nothing_is_drawn_when_not_on_a_terminal():
    stream = io.StringIO()  # not a tty
    result = run_with_progress(tiny_pipeline(2, "in_memory"), stream=stream)
    assert str(result.state).endswith("DONE") and stream.getvalue() == ""


def test_eta_from_videos_discovered_skipped_and_processed():
    counters = {"videos_discovered": 110, "videos_already_in_dataset": 10, "videos_decoded": 20,
                "videos_failed": 5, "pairs_sampled": 60, "dropped_static": 7,
                "dropped_scene_cut": 3, "num_inferences": 50, "triples_written": 0}
    lines = render(counters, elapsed=60.0, first_moved={"videos_discovered": 10.0},
                   last_moved={"videos_processed": 60.0, "num_inferences": 60.0})
    text = "\n".join(lines)
    # 25 of 100 in 50 s since discovery ended: 0.5/s, 75 to go: 2:30.
    assert "25 of 100 processed (25%)  ETA 2:30  0.5/s  failed 5" in text
    assert "already in dataset 10" in text
    assert "60 sampled  10 dropped (static 7, scene_cut 3)" in text
    assert "50 captioned" in text and "0 triples in 0 shards" in text


def test_without_a_discovered_count_there_is_no_eta():
    text = "\n".join(render({"videos_decoded": 3}, elapsed=3.0))
    assert "3 processed" in text and "ETA" not in text and " of " not in text
