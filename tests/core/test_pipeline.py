"""Runtime behaviour: EOS, probes, back-pressure, leaky live sources, dynamic sources, stats."""

from __future__ import annotations

import threading
import time

import pytest

import vistream
from vistream import DROP, Pipeline
from vistream.core.errors import LinkError, PipelineError
from vistream.core.events import StreamAdded, StreamEOS


def frames_by_source(sink) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for frame in sink.frames():
        out.setdefault(frame.source_id, []).append(frame.frame_num)
    return out


def test_probe_changes_metadata_and_drops_batches():
    pipeline = vistream.parse_launch("testsrc num-buffers=10 width=32 height=32 ! identity name=id ! appsink name=out")

    def probe(batch):
        frame = batch.frames[0]
        if frame.frame_num % 2:
            return DROP
        frame.meta.add_user_meta("seen", frame.frame_num)
        return None

    pipeline["id"].src.add_probe(probe)
    pipeline.run(timeout=10)
    frames = list(pipeline["out"].frames())
    assert [f.frame_num for f in frames] == [0, 2, 4, 6, 8]
    assert [f.meta.user_meta("seen") for f in frames] == [[0], [2], [4], [6], [8]]


def test_removed_probe_no_longer_runs():
    pipeline = vistream.parse_launch("testsrc num-buffers=3 width=32 height=32 ! appsink name=out")
    probe_id = pipeline["out"].sink.add_probe(lambda batch: DROP)
    pipeline["out"].sink.remove_probe(probe_id)
    pipeline.run(timeout=10)
    assert len(pipeline["out"].batches) == 3


def test_back_pressure_keeps_every_frame_of_a_fast_source():
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=60 width=32 height=32 ! identity sleep-time=2000 ! appsink name=out")
    pipeline.start()
    depths = []
    while not pipeline.wait(0.01):
        depths.append(max(e.get("queue_depth", 0) for e in pipeline.stats()["elements"].values()))
    pipeline.stop()
    assert [f.frame_num for f in pipeline["out"].frames()] == list(range(60))
    assert max(depths) <= 5  # 4 batches + EOS: the source waited instead of piling up frames


def test_live_source_drops_oldest_when_consumer_is_slow():
    pipeline = vistream.parse_launch(
        "testsrc live=true framerate=500 num-buffers=300 width=32 height=32 ! "
        "identity name=slow sleep-time=10000 ! appsink name=out")
    pipeline.start()
    assert pipeline.wait(30)
    dropped = pipeline.stats()["elements"]["slow"]["dropped"]
    pipeline.stop()
    received = [f.frame_num for f in pipeline["out"].frames()]
    assert dropped > 0
    assert len(received) + dropped == 300  # every frame is either delivered or counted as dropped
    assert received == sorted(received) and received[-1] == 299  # the newest frames survive


def test_stats_report_elements_streams_and_latency():
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=30 width=32 height=32 ! mux.sink_0 testsrc num-buffers=20 width=32 height=32 ! mux.sink_1 "
        "streammux name=mux batch-size=2 ! identity name=work sleep-time=1000 ! fakesink name=sink")
    pipeline.start()
    assert pipeline.wait(10)
    stats = pipeline.stats()
    pipeline.stop()
    assert stats["streams"][0]["frames"] == 30 and stats["streams"][1]["frames"] == 20
    assert stats["elements"]["work"]["mean_ms"] >= 1.0
    assert stats["latency"]["count"] == 50 and stats["latency"]["p50_ms"] > 0


def test_unlinked_pad_and_missing_source_are_start_errors():
    pipeline = Pipeline()
    pipeline.make("testsrc", name="src")
    pipeline.make("identity", name="mid")
    pipeline.link("src", "mid")
    with pytest.raises(PipelineError, match="'mid.src' is not linked"):
        pipeline.start()
    only_sink = Pipeline()
    only_sink.make("fakesink")
    with pytest.raises(PipelineError, match="no source"):
        only_sink.start()


def test_incompatible_memory_link_names_both_elements():
    class CudaSource(vistream.Source):
        """Pretends to produce CUDA frames."""

        pad_templates = (vistream.PadTemplate("src", vistream.core.element.PadDirection.SRC, memory=("cuda",)),)

    class CpuOnly(vistream.Sink):
        """Accepts CPU frames only."""

        pad_templates = (vistream.PadTemplate("sink", vistream.core.element.PadDirection.SINK, memory=("cpu",)),)

    pipeline = Pipeline()
    pipeline.add(CudaSource(name="gpu"), CpuOnly(name="cpu"))
    pipeline.link("gpu", "cpu")
    with pytest.raises(LinkError, match="'gpu' produces cuda frames but 'cpu'.*videoconvert"):
        pipeline.start()


def test_element_error_is_reported_and_other_batches_continue():
    @vistream.element("fails-on-three")
    def fails_on_three(batch):
        if batch.frames[0].frame_num == 3:
            raise ValueError("bad frame")
        return batch

    pipeline = vistream.parse_launch("testsrc num-buffers=6 width=32 height=32 ! fails-on-three name=f ! appsink name=out")
    pipeline.run(timeout=10)
    assert [f.frame_num for f in pipeline["out"].frames()] == [0, 1, 2, 4, 5]
    errors = pipeline.bus.errors
    assert len(errors) == 1 and errors[0].element == "f" and "bad frame" in errors[0].text


def test_add_and_remove_sources_50_times_while_running(no_thread_leaks):
    """Other streams' frame counts stay exact; every dynamic stream is added and ended cleanly."""
    steady_frames = 1500
    pipeline = vistream.parse_launch(
        f"testsrc name=steady0 num-buffers={steady_frames} width=32 height=32 ! mux.sink_0 "
        f"testsrc name=steady1 num-buffers={steady_frames} width=32 height=32 ! mux.sink_1 "
        "streammux name=mux batch-size=3 ! identity sleep-time=1500 ! appsink name=out")
    pipeline.start()
    baseline_threads = threading.active_count()
    added = []
    for round_number in range(50):
        source = pipeline.registry.make("testsrc", name=f"dyn{round_number}", num_buffers=-1, width=32, height=32)
        pad = pipeline.add_source(source, "mux")
        added.append(pad.name)
        time.sleep(0.01)
        pipeline.remove_source(source.name)
        assert threading.active_count() <= baseline_threads + 1
    assert not pipeline.is_eos, "steady streams should outlast the churn (make them longer)"
    assert pipeline.wait(60)
    threads_at_eos = threading.active_count()
    pipeline.stop()
    assert threads_at_eos <= baseline_threads
    frames = frames_by_source(pipeline["out"])
    assert frames[0] == list(range(steady_frames))
    assert frames[1] == list(range(steady_frames))
    dynamic_ids = {int(name.split("_")[1]) for name in added}
    assert 2 in dynamic_ids and len(dynamic_ids) < 25  # released pad indices are reused
    events = pipeline["out"].events
    assert sum(isinstance(e, StreamAdded) and e.source_id in dynamic_ids for e in events) == 50
    assert sum(isinstance(e, StreamEOS) and e.source_id in dynamic_ids for e in events) == 50
    # Dynamic streams: each one's frames are a contiguous run starting at 0.
    for source_id in dynamic_ids:
        runs: list[list[int]] = [[]]
        for number in frames.get(source_id, []):
            if number == 0 and runs[-1]:
                runs.append([])
            runs[-1].append(number)
        assert all(run == list(range(len(run))) for run in runs if run)


def test_removing_a_source_that_already_ended_is_safe():
    pipeline = vistream.parse_launch(
        "testsrc name=short num-buffers=2 width=32 height=32 ! mux.sink_0 "
        "testsrc name=long num-buffers=200 width=32 height=32 ! mux.sink_1 "
        "streammux name=mux ! identity sleep-time=1000 ! appsink name=out")
    pipeline.start()
    time.sleep(0.3)
    pipeline.remove_source("short")
    assert pipeline.wait(20)
    pipeline.stop()
    assert frames_by_source(pipeline["out"])[1] == list(range(200))
    assert "short" not in pipeline


def test_errors_on_the_bus_do_not_keep_failed_batches_alive():
    import gc
    import weakref

    alive: list[weakref.ref] = []

    @vistream.element("fails-always")
    def fails_always(batch):
        alive.append(weakref.ref(batch.frames[0].image))
        raise RuntimeError("model exploded")

    class Image:
        """Stands for a frame buffer (numpy arrays cannot be weakly referenced)."""

    pipeline = vistream.parse_launch("testsrc name=src num-buffers=5 width=32 height=32 ! fails-always ! fakesink")

    def wrap(batch):
        batch.frames[0].image = Image()

    pipeline["src"].src.add_probe(wrap)
    pipeline.run(timeout=10)
    gc.collect()
    errors = pipeline.bus.errors
    assert len(errors) == 5 and "model exploded" in errors[0].data["traceback"]
    assert all(ref() is None for ref in alive)
