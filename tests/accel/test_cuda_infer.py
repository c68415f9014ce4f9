"""The infer GPU fast path's captured pre-processing + model step: when it is made and retried."""

from __future__ import annotations


def test_fused_step_capture_is_retried_later_then_given_up(monkeypatch):
    """A failed capture of pre-processing + model is tried again every RETRY_EVERY batches, RETRIES times."""
    from types import SimpleNamespace

    from vistream.accel import cuda_infer

    attempts = []

    class Step:  # stands in for FusedStep: captures succeed from the fourth attempt on
        def __init__(self, engine, frames, post):
            attempts.append(len(attempts))
            self.replay = (lambda: None) if len(attempts) >= 4 else None

    monkeypatch.setattr(cuda_infer, "FusedStep", Step)
    frame = SimpleNamespace(is_cuda=True, ndim=2, dtype=SimpleNamespace(itemsize=1), shape=(1620, 1920), device="cuda:0")
    engine = SimpleNamespace(batch_size=2, gpu_steps={}, backend=SimpleNamespace(use_graphs=True, capture_with=None))
    got = [cuda_infer.fused_step(engine, [frame, frame], None) for _ in range(3 * cuda_infer.RETRY_EVERY + 5)]
    assert len(attempts) == 4  # batch 1, then every RETRY_EVERY batches until one worked
    first_success = got.index(next(g for g in got if g is not None))
    assert first_success == 3 * cuda_infer.RETRY_EVERY and all(g is got[first_success] for g in got[first_success:])
    assert cuda_infer.fused_step(engine, [frame], None) is None  # a partial batch never uses it

    attempts.clear()
    monkeypatch.setattr(Step, "__init__", lambda self, engine, frames, post: (attempts.append(0), setattr(self, "replay", None))[0])
    engine.gpu_steps.clear()
    for _ in range((cuda_infer.RETRIES + 2) * cuda_infer.RETRY_EVERY):
        assert cuda_infer.fused_step(engine, [frame, frame], None) is None
    assert len(attempts) == cuda_infer.RETRIES
