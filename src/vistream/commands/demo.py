"""Run the bundled demo: sample streams -> streammux -> infer (yolov3-tiny) -> tracker -> osd -> tiler -> MP4 + JSON Lines.

The sample clips (``bikes.mp4``, ``vtest.avi``) are used as several separate streams. Elements
still being built (``tracker``, ``osd``, ``tiler``) are included when they are registered. The
annotated video goes to ``OUTPUT/demo.mp4``, the metadata to ``OUTPUT/demo.jsonl``, and a
per-stream FPS table is printed at the end.

Example:
    >>> print(demo_launch(["a.mp4", "b.avi"], "out", 10, "det.yaml", {"osd", "tiler"}))  # doctest: +NORMALIZE_WHITESPACE
    urisrc uri=a.mp4 num-buffers=10 name=src0 ! mux.sink_0 urisrc uri=b.avi num-buffers=10 name=src1 ! mux.sink_1
    streammux name=mux batch-size=2 ! infer name=detector config=det.yaml ! osd name=osd ! tee name=split
    split. ! queue name=video_queue ! tiler name=tiler width=1280 height=720 ! encode name=encoder ! filesink name=video location=out/demo.mp4
    split. ! queue name=meta_queue ! jsonsink name=metadata location=out/demo.jsonl
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Collection
from pathlib import Path

CLIPS = ("bikes.mp4", "vtest.avi")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--streams", type=int, default=4, help="number of streams (the sample clips in turn; default 4)")
    parser.add_argument("--output", default="out", help="folder for demo.mp4 and demo.jsonl (default: out)")
    parser.add_argument("--num-buffers", type=int, default=100,
                        help="frames per stream (default 100: about a minute on 2 CPU cores; -1: whole clips)")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--interval", type=int, default=0, help="infer every (interval + 1)-th frame; the tracker "
                        "fills the gaps")
    parser.add_argument("--print-launch", action="store_true", help="print the pipeline as a launch string and exit")


def available_elements() -> set[str]:
    """Names of the optional elements of the demo that exist in this install."""
    from vistream.core.registry import default_registry

    return {name for name in ("tracker", "osd", "tiler") if name in default_registry}


def demo_launch(uris: list[str], output: str, num_buffers: int, config: str, optional: Collection[str],
                interval: int = 0) -> str:
    """The demo pipeline as a launch string."""
    sources = " ".join(f"urisrc uri={uri} num-buffers={num_buffers} name=src{i} ! mux.sink_{i}"
                       for i, uri in enumerate(uris))
    interval_text = f" interval={interval}" if interval else ""
    chain = [f"streammux name=mux batch-size={len(uris)}", f"infer name=detector config={config}{interval_text}"]
    if "tracker" in optional:
        chain.append("tracker name=tracker")
    if "osd" in optional:
        chain.append("osd name=osd")
    chain.append("tee name=split")
    if "tiler" in optional:
        video = f"tiler name=tiler width=1280 height=720 ! encode name=encoder ! filesink name=video location={output}/demo.mp4"
    else:  # one file per stream until the tiler exists
        video = f"encode name=encoder ! filesink name=video location={output}/demo_{{source_id}}.mp4"
    return (f"{sources}\n{' ! '.join(chain)}\n"
            f"split. ! queue name=video_queue ! {video}\n"
            f"split. ! queue name=meta_queue ! jsonsink name=metadata location={output}/demo.jsonl")


def main(args: argparse.Namespace) -> int:
    import vistream
    from vistream.commands.running import run_pipeline
    from vistream.core.errors import ConfigError
    from vistream.media.samples import fetch_samples, media_dir
    from vistream.models.zoo import MODELS, fetch

    if args.streams < 1:
        raise ConfigError(f"--streams must be at least 1, got {args.streams}")
    folder = media_dir()
    if not all((folder / clip).is_file() for clip in CLIPS):
        fetch_samples()
    fetch("yolov3-tiny")
    uris = [str(folder / CLIPS[i % len(CLIPS)]) for i in range(args.streams)]
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    optional = available_elements()
    text = demo_launch(uris, str(output), args.num_buffers, str(MODELS["yolov3-tiny"].config_path()), optional,
                       args.interval)
    if args.print_launch:
        print(text)
        return 0
    missing = sorted({"tracker", "osd", "tiler"} - optional)
    print(f"demo: {args.streams} streams, {args.num_buffers} frames each; "
          f"{'without ' + ', '.join(missing) + ' (not in this install yet)' if missing else 'full pipeline'}",
          file=sys.stderr)
    pipeline = vistream.parse_launch(text.replace("\n", "  "))
    started = time.monotonic()
    status = run_pipeline(pipeline, timeout=args.duration)
    video = output / "demo.mp4" if "tiler" in optional else output / "demo_0.mp4"
    print(f"wrote {video} and {output / 'demo.jsonl'} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return status
