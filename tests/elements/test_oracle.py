"""``oracle-detector``: reproducible noisy detections from ground truth."""

from __future__ import annotations

import numpy as np

import vistream
from vistream.elements.oracle import OracleDetector
from vistream.media.scene import Scene


def _truth(n: int = 200):
    scene = Scene.random(1920, 1080, n, seed=3, num_frames=2, object_size=0.03)
    truth, _ = scene.truth(0)
    truth.data["visibility"] = np.ones(len(truth), np.float32)
    return truth


def test_same_seed_same_detections_and_noise_as_configured() -> None:
    truth = _truth()
    oracle = OracleDetector(jitter=0.05, miss_rate=0.1, false_positives=5, seed=7)
    a = oracle.detect(truth, 3, frame_size=(1920, 1080))
    b = oracle.detect(truth, 3, frame_size=(1920, 1080))
    assert np.array_equal(a.xyxy, b.xyxy)
    assert not np.array_equal(a.xyxy, oracle.detect(truth, 4, frame_size=(1920, 1080)).xyxy)
    counts = [len(oracle.detect(truth, n, frame_size=(1920, 1080))) for n in range(20)]
    # 200 objects, 10% missed, about 5 false positives: about 185 per frame.
    assert 175 < np.mean(counts) < 195
    clean = OracleDetector(jitter=0.0).detect(truth, 0)
    assert np.allclose(clean.xyxy, truth.xyxy)
    noisy = OracleDetector(jitter=0.05).detect(truth, 0)
    relative = (noisy.xyxy - truth.xyxy) / np.tile(truth.xyxy[:, 2:] - truth.xyxy[:, :2], 2)
    assert 0.04 < relative.std() < 0.06


def test_hidden_objects_are_missed_partly_hidden_score_low() -> None:
    truth = _truth(3)
    truth.data["visibility"] = np.array([1.0, 0.5, 0.1], np.float32)
    detections = OracleDetector(jitter=0.0, min_visibility=0.3).detect(truth, 0)
    assert len(detections) == 2
    assert detections.confidence[0] > 0.7 > detections.confidence[1]


def test_synthetic_embeddings_identify_objects() -> None:
    truth = _truth(5)
    oracle = OracleDetector(embedding_size=32, embedding_noise=0.3)
    a = oracle.detect(truth, 0).data["embedding"]
    b = oracle.detect(truth, 1).data["embedding"]
    similarity = a @ b.T
    assert (similarity.argmax(axis=1) == np.arange(5)).all()


def test_element_marks_the_frames_it_ran_on() -> None:
    pipeline = vistream.parse_launch(
        "testsrc pattern=scene num-objects=3 num-buffers=5 ! oracle-detector interval=1 unique-id=4 "
        "! appsink name=out")
    pipeline.run(timeout=30)
    frames = [b.frames[0] for b in pipeline["out"].batches]
    assert [f.meta.inferred for f in frames] == [{4: True}, {}, {4: True}, {}, {4: True}]
    assert [len(f.meta.objects) > 0 for f in frames] == [True, False, True, False, True]
    assert set(frames[0].meta.objects.component_id.tolist()) == {4}
