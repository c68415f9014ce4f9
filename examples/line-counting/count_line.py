"""Count vehicles and people crossing a line on the street clip and publish the events to a broker.

Pipeline: urisrc -> streammux -> infer (yolov3-tiny) -> tracker -> analytics (line + zone)
-> msgconv -> msgbroker, optionally also osd -> encode -> filesink for an annotated video.

Usage (see README.md):
    python examples/line-counting/count_line.py --proto mqtt --conn-str "127.0.0.1;1883" --topic vistream/bikes

Example:
    >>> launch = build_launch("bikes.mp4", "mqtt", "127.0.0.1;1883", "t", "vistream", "/tmp/spool", None)
    >>> launch.split(" ! ")[2].endswith("models/configs/yolov3-tiny.yaml")
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
                 output: str | None, frames: int = -1) -> str:
    """The launch string of this app."""
    head = (f"urisrc uri={video} num-buffers={frames} ! mux.sink_0 streammux name=mux batch-size=1 ! infer config={DETECTOR} ! "
            f"tracker ! analytics name=analytics config-file={HERE / 'analytics.yml'} ! ")
    broker = (f"msgconv payload-type={payload_type} frame-interval=25 ! msgbroker name=broker proto-lib={proto} "
              f"conn-str={conn_str} topic={topic} spool-dir={spool_dir}")
    if output is None:
        return head + broker
    return (head + "tee name=t  t. ! queue ! " + broker +
            f"  t. ! queue ! osd ! encode ! filesink location={output}")


def main(argv: list[str] | None = None) -> int:
    import vistream
    from vistream.media.samples import require_sample

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", default=None, help="video file or URI (default: the bikes.mp4 sample)")
    parser.add_argument("--proto", default="mqtt", choices=["kafka", "mqtt", "redis", "amqp", "file"])
    parser.add_argument("--conn-str", default="127.0.0.1;1883", help="host;port[;topic], or a path for --proto file")
    parser.add_argument("--topic", default="vistream/line-counting")
    parser.add_argument("--payload-type", default="vistream", choices=["vistream", "deepstream", "deepstream-minimal"])
    parser.add_argument("--frames", type=int, default=-1, help="stop after this many frames (-1: the whole video)")
    parser.add_argument("--spool-dir", default=str(Path.home() / ".cache/vistream/spool/line-counting"))
    parser.add_argument("--output", default=None, help="also write an annotated video (.mp4)")
    args = parser.parse_args(argv)
    video = args.video or str(require_sample("bikes.mp4"))
    pipeline = vistream.parse_launch(build_launch(video, args.proto, args.conn_str, args.topic, args.payload_type,
                                                  args.spool_dir, args.output, args.frames))
    last: dict[str, object] = {}
    pipeline["analytics"].src.add_probe(lambda batch: last.update(batch.frames[-1].meta.analytics))
    pipeline.run(timeout=3600)
    for message in pipeline.bus.errors:
        print(message, file=sys.stderr)
    summary = {"lines": last.get("lines", {}), "delivery": pipeline["broker"].counters()}
    print(json.dumps(summary, indent=2))
    return 1 if pipeline.bus.errors else 0


if __name__ == "__main__":
    sys.exit(main())
