"""People counting and dwell time in zones on the pedestrian clip, published to a broker.

Pipeline: urisrc -> streammux -> infer (yolov3-tiny, persons) -> tracker -> analytics (zones with
dwell time, queue length and overcrowding; a counting line) -> msgconv -> msgbroker.

Usage (see README.md):
    python examples/zone-dwell/zone_dwell.py --proto redis --conn-str "127.0.0.1;6379" --topic vistream-zones

Example:
    >>> "analytics name=analytics" in build_launch("vtest.avi", "redis", "127.0.0.1;6379", "t", "vistream", "/tmp/s")
    True
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DETECTOR = HERE.parent.parent / "src/vistream/models/configs/yolov3-tiny.yaml"


def build_launch(video: str, proto: str, conn_str: str, topic: str, payload_type: str, spool_dir: str,
                 frames: int = -1) -> str:
    """The launch string of this app (persons only: operate on COCO class 0)."""
    return (f"urisrc uri={video} num-buffers={frames} ! mux.sink_0 streammux name=mux batch-size=1 ! infer config={DETECTOR} ! "
            f"tracker ! analytics name=analytics config-file={HERE / 'analytics.yml'} ! "
            f"msgconv payload-type={payload_type} frame-interval=10 ! "
            f"msgbroker name=broker proto-lib={proto} conn-str={conn_str} topic={topic} spool-dir={spool_dir}")


def main(argv: list[str] | None = None) -> int:
    import vistream
    from vistream.media.samples import require_sample

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", default=None, help="video file or URI (default: the vtest.avi sample)")
    parser.add_argument("--proto", default="redis", choices=["kafka", "mqtt", "redis", "amqp", "file"])
    parser.add_argument("--conn-str", default="127.0.0.1;6379", help="host;port[;topic], or a path for --proto file")
    parser.add_argument("--topic", default="vistream-zones")
    parser.add_argument("--payload-type", default="vistream", choices=["vistream", "deepstream", "deepstream-minimal"])
    parser.add_argument("--frames", type=int, default=-1, help="stop after this many frames (-1: the whole video)")
    parser.add_argument("--spool-dir", default=str(Path.home() / ".cache/vistream/spool/zone-dwell"))
    args = parser.parse_args(argv)
    video = args.video or str(require_sample("vtest.avi"))
    pipeline = vistream.parse_launch(build_launch(video, args.proto, args.conn_str, args.topic, args.payload_type,
                                                  args.spool_dir, args.frames))
    dwell: dict[int, float] = {}
    last: dict[str, object] = {}

    def collect(batch) -> None:
        meta = batch.frames[-1].meta
        last.update(meta.analytics)
        for event in meta.analytics.get("events", []):
            if event["type"] == "left":
                dwell[event["object_id"]] = max(dwell.get(event["object_id"], 0.0), event["dwell_s"])

    pipeline["analytics"].src.add_probe(collect)
    pipeline.run(timeout=3600)
    for message in pipeline.bus.errors:
        print(message, file=sys.stderr)
    summary = {
        "zones_at_end": last.get("zones", {}),
        "lines": last.get("lines", {}),
        "people_who_left_the_zones": len(dwell),
        "mean_dwell_s": round(sum(dwell.values()) / len(dwell), 2) if dwell else 0.0,
        "delivery": pipeline["broker"].counters(),
    }
    print(json.dumps(summary, indent=2))
    return 1 if pipeline.bus.errors else 0


if __name__ == "__main__":
    sys.exit(main())
