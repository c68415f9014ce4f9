"""The infer GPU fast path's captured pre-processing + model + post-processing step: which
batches use it, and how it is made before the sources start."""

from __future__ import annotations

from types import SimpleNamespace


def _frame(shape=(1620, 1920), cuda=True, device="cuda:0"):
    return SimpleNamespace(is_cuda=cuda, ndim=2, dtype=SimpleNamespace(itemsize=1), shape=shape, device=device)


def test_fused_step_serves_full_and_partial_batches_of_its_frame_size_only():
    from vistream.accel import cuda_infer

    step = object()
    engine = SimpleNamespace(batch_size=4, gpu_steps={((1620, 1920), "cuda:0"): step})
    assert cuda_infer.fused_step(engine, [_frame()] * 4) is step
    assert cuda_infer.fused_step(engine, [_frame()] * 1) is step  # a partial batch runs in the first rows
    assert cuda_infer.fused_step(engine, [_frame()] * 5) is None  # more frames than the graph holds
    assert cuda_infer.fused_step(engine, [_frame((1080, 1280))] * 4) is None  # no graph for this size
    assert cuda_infer.fused_step(engine, [_frame(), _frame((1080, 1280))]) is None  # mixed sizes
    assert cuda_infer.fused_step(engine, [_frame(cuda=False)] * 4) is None  # CPU frames
    assert cuda_infer.fused_step(engine, [_frame(device="cuda:1")] * 4) is None  # another GPU
    assert cuda_infer.fused_step(SimpleNamespace(batch_size=4, gpu_steps={}), [_frame()]) is None


def test_infer_prepares_a_step_per_gpu_frame_size_of_its_sources_at_start(monkeypatch, bikes, vtest):
    """Sizes come from the sources upstream (through streammux), only those sending GPU frames."""
    import vistream
    from vistream.accel import cuda_infer

    pipeline = vistream.parse_launch(
        f"urisrc uri={bikes} decoder=nvdec ! mux.sink_0  urisrc uri={vtest} decoder=nvdec ! mux.sink_1 "
        f"urisrc uri={vtest} decoder=nvdec ! mux.sink_2  urisrc uri={bikes} decoder=cpu ! queue ! mux.sink_3 "
        "streammux name=mux ! infer name=infer config=yolov3-tiny ! fakesink")
    assert [s.name for s in pipeline["infer"].upstream_sources()] == [s.name for s in pipeline.sources()]
    made = []
    monkeypatch.setattr(cuda_infer, "prepare_fused_step", lambda engine, width, height: made.append((width, height)))
    infer = pipeline["infer"]
    infer.engine = SimpleNamespace(backend=SimpleNamespace(device="cuda"))
    infer.settings = SimpleNamespace(process_mode="primary", output_tensor_meta=False)
    infer._prepare_gpu_steps()
    assert made == [(640, 272), (768, 576)]


def test_file_sizes_are_probed_and_unknown_sources_say_none(bikes, tmp_path):
    from vistream.media.multiurisrc import MultiUriSource
    from vistream.media.urisrc import UriSource

    assert UriSource(uri=str(bikes)).frame_sizes() == {(640, 272)}
    assert UriSource(uri=str(tmp_path / "missing.mp4")).frame_sizes() is None
    assert UriSource(uri="rtsp://127.0.0.1:9/cam").frame_sizes() is None  # not opened to find out
    assert MultiUriSource(uri_list=[str(bikes), "rtsp://127.0.0.1:9/cam"]).frame_sizes() == {(640, 272)}


def test_prepare_does_nothing_where_the_gpu_path_does_not_apply():
    from vistream.accel import cuda_infer

    engine = SimpleNamespace(config=SimpleNamespace(network_type="classifier"), parser=None,
                             backend=SimpleNamespace(use_graphs=True), gpu_steps={})
    assert cuda_infer.prepare_fused_step(engine, 1920, 1080) is None and engine.gpu_steps == {}
