"""Analytics configuration: YAML layout, DeepStream nvdsanalytics INI, scaling, per-stream set-up, errors."""

from __future__ import annotations

import numpy as np
import pytest

import vistream
from vistream.compat.deepstream.nvdsanalytics import read_nvdsanalytics
from vistream.core.errors import ConfigError, PipelineError
from vistream.core.meta import FrameMeta, Objects
from vistream.elements.analytics.analyzer import StreamAnalyzer
from vistream.elements.analytics.config import AnalyticsConfig
from vistream.elements.analytics.direction import DirectionDetection

DS_CONFIG = """
[property]
enable=1
config-width=1920
config-height=1080
osd-mode=2
display-font-size=12

[roi-filtering-stream-0]
enable=1
roi-RF=295;643;579;634;642;913;56;828
inverse-roi=0
class-id=-1

[overcrowding-stream-0]
enable=1
roi-OC=295;643;579;634;642;913;56;828
object-threshold=3
class-id=0;2

[line-crossing-stream-0]
enable=1
line-crossing-Exit=789;672;1084;900;851;773;1203;732
class-id=0
extended=0
mode=loose

[direction-detection-stream-1]
enable=1
direction-South=284;840;360;662
direction-North=1106;622;1312;701
class-id=0
mode=strict

[line-crossing-stream-2]
enable=0
line-crossing-Off=0;0;1;1;2;2;3;3
"""


def test_reads_deepstream_ini(tmp_path):
    path = tmp_path / "config_nvdsanalytics.txt"
    path.write_text(DS_CONFIG)
    cfg = read_nvdsanalytics(path)
    assert (cfg.config_width, cfg.config_height) == (1920, 1080)
    assert sorted(cfg.streams) == [0, 1]  # stream 2 is disabled
    stream0 = cfg.for_source(0, 1920, 1080)
    rf, oc = stream0.zones
    assert (rf.name, rf.filter, rf.classes, rf.crowd_threshold) == ("RF", True, None, None)
    assert rf.polygon.tolist() == [[295, 643], [579, 634], [642, 913], [56, 828]]
    assert (oc.name, oc.crowd_threshold, oc.classes) == ("OC", 3, (0, 2))
    line = stream0.lines[0]
    assert line.name == "Exit" and line.direction.tolist() == [[789, 672], [1084, 900]]
    assert line.line.tolist() == [[851, 773], [1203, 732]] and line.mode == "loose"
    directions = cfg.for_source(1, 960, 540).directions
    assert [(d.name, d.mode) for d in directions] == [("South", "strict"), ("North", "strict")]
    assert directions[0].vector.tolist() == [[142, 420], [180, 331]]  # scaled to 960x540
    assert cfg.for_source(5, 1920, 1080).zones == ()  # no entry, no "all"


@pytest.mark.parametrize("text, message", [
    ("[line-crossing-stream-0]\nline-crossing-A=1;2;3\n", "expected an even count"),
    ("[line-crossing-stream-0]\nline-crossing-A=1;2;3;4;5;6\n", "at least 8 numbers"),
    ("[roi-filtering-stream-0]\nroi-A=1;2;x;4;5;6\n", "expected numbers"),
    ("[overcrowding-stream-0]\nroi-A=1;2;3;4;5;6\nobject-threshold=many\n", "object-threshold"),
    ("[roi-counting-stream-0]\nroi-A=1;2;3;4;5;6\n", "unknown group [roi-counting-stream-0]"),
    ("[direction-detection-stream-0]\ndirection-N=1;2;3;4\nmode=fast\n", "valid modes"),
    ("[roi-filtering-stream-0]\nroi-A=1;2;3;4;5;6\nclass-id=car\n", "class-id"),
])
def test_ini_errors_name_group_and_key(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ConfigError, match="bad.txt") as info:
        read_nvdsanalytics(path)
    assert message in str(info.value)


def test_yaml_file_and_errors(tmp_path):
    path = tmp_path / "analytics.yml"
    path.write_text("config-width: 100\nconfig-height: 100\nanchor: center\nstreams:\n  1:\n    lines:\n"
                    "      - {name: a, line: [[0, 50], [100, 50]], classes: [2]}\n")
    cfg = AnalyticsConfig.load(path)
    assert cfg.anchor == "center" and cfg.for_source(1, 200, 200).lines[0].line.tolist() == [[0, 100], [200, 100]]
    for data, message in [
        ({"streams": {"0": {"lines": [{"name": "a", "line": [[0, 0], [0, 0]]}]}}}, "the two points are the same"),
        ({"streams": {"0": {"zones": [{"name": "a", "polygon": [[0, 0], [1, 1]]}]}}}, "at least 3"),
        ({"streams": {"0": {"zones": [{"name": "a", "polygon": [[0, 0], [1, 1], [1, 0]], "colour": 1}]}}}, "colour"),
        ({"streams": {"cam": {}}}, "source ids or 'all'"),
        ({"anchor": "feet"}, "valid anchors"),
        ({"lines": []}, "unknown keys"),
    ]:
        with pytest.raises(ConfigError, match=message):
            AnalyticsConfig.from_dict(data)


def test_element_rejects_missing_file_at_start():
    pipeline = vistream.parse_launch("testsrc num-buffers=1 ! analytics config-file=/nonexistent.yml ! fakesink")
    with pytest.raises((ConfigError, PipelineError), match="nonexistent.yml"):
        pipeline.start()
    pipeline.stop()


def test_ds_ini_drives_the_element_per_stream(tmp_path):
    path = tmp_path / "ds.txt"
    path.write_text("[property]\nenable=1\nconfig-width=100\nconfig-height=100\n"
                    "[line-crossing-stream-1]\nenable=1\nline-crossing-Down=0;0;0;10;0;50;100;50\nclass-id=-1\n")
    pipeline = vistream.parse_launch(
        "testsrc name=a num-buffers=4 width=200 height=200 ! mux.sink_0 "
        "testsrc name=b num-buffers=4 width=200 height=200 ! mux.sink_1 "
        f"streammux name=mux batch-size=2 ! analytics config-file={path} ! appsink name=out")

    def move(batch):
        for frame in batch:
            y = 70 + 20 * frame.frame_num  # crosses y=100 (50 scaled x2) between frames 1 and 2
            frame.meta.objects = Objects.from_arrays([[90, y - 10, 110, y]], object_id=[1], labels=["car"])

    pipeline["a"].src.add_probe(move)
    pipeline["b"].src.add_probe(move)
    pipeline.run(timeout=30)
    counts = {}
    for frame in pipeline["out"].frames():
        counts[frame.source_id] = frame.meta.analytics["lc_counts"]
    assert counts == {0: {}, 1: {"Down": 1}}


def test_direction_of_travel():
    detect = DirectionDetection({"North": [(0, 100), (0, 0)], "East": [(0, 0), (100, 0)]}, mode="balanced")
    names = []
    for frame in range(6):
        objects = Objects.from_arrays([[100, 300 - 10 * frame, 120, 340 - 10 * frame],
                                       [10 * frame, 50, 10 * frame + 20, 70],
                                       [400, 400, 420, 420]], object_id=[1, 2, 3])
        names = detect.update(objects, frame)
    assert names.tolist() == ["North", "East", ""]
    assert np.allclose(detect.heading_deg[:2], [270, 0])


def test_analyzer_direction_column_and_clean_state():
    cfg = AnalyticsConfig.from_dict({"streams": {"all": {"directions": [{"name": "Up", "vector": [[0, 10], [0, 0]]}]}}})
    analyzer = StreamAnalyzer(cfg.for_source(0, 100, 100))
    for frame in range(4):
        meta = FrameMeta(frame_num=frame)
        meta.objects = Objects.from_arrays([[0, 80 - 5 * frame, 10, 90 - 5 * frame]], object_id=[4])
        analyzer.analyze(meta)
    assert meta.objects[0].get("direction") == "Up"
    assert meta.analytics["events"] == []
