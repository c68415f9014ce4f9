"""Evaluate results: tracking metrics (MOTA, IDF1, HOTA, ID switches) and synthetic test sequences.

``vistream eval track GT RESULTS`` scores a MOTChallenge result file against ground truth;
``vistream eval sequence FOLDER`` writes a synthetic sequence (video + exact ground truth) with
crossings, occlusions, stops, entries / exits and camera shake.
"""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    track = sub.add_parser("track", help="tracking metrics of a MOTChallenge result file against ground truth")
    track.add_argument("gt", help="ground truth (MOTChallenge gt.txt: frame,id,left,top,width,height,conf,class,visibility)")
    track.add_argument("results", help="tracker output (MOTChallenge: frame,id,left,top,width,height,conf,...)")
    track.add_argument("--min-visibility", type=float, default=0.0,
                       help="ignore ground truth less visible than this, and results matching it (default 0)")
    track.add_argument("--iou", type=float, default=0.5, help="IoU a match needs for MOTA / IDF1 (default 0.5)")
    track.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sequence = sub.add_parser("sequence", help="write a synthetic sequence: video.mp4 + gt/gt.txt + seqinfo.ini")
    sequence.add_argument("folder", help="output folder")
    sequence.add_argument("--frames", type=int, default=300, help="number of frames (default 300)")
    sequence.add_argument("--objects", type=int, default=16, help="moving objects (default 16)")
    sequence.add_argument("--width", type=int, default=960)
    sequence.add_argument("--height", type=int, default=540)
    sequence.add_argument("--jitter", type=float, default=2.0, help="camera shake in pixels (default 2)")
    sequence.add_argument("--seed", type=int, default=0)
    sequence.add_argument("--fps", type=float, default=25.0)
    sequence.add_argument("--no-video", action="store_true", help="write only the ground truth")


def main(args: argparse.Namespace) -> int:
    from vistream.core.errors import ConfigError

    if args.action == "sequence":
        from vistream.eval.sequences import write_sequence
        from vistream.media.scene import Scene

        if args.frames < 1 or args.objects < 0:
            raise ConfigError("--frames must be at least 1 and --objects not negative")
        scene = Scene.hard(args.width, args.height, num_objects=args.objects, num_frames=args.frames,
                           seed=args.seed, jitter=args.jitter)
        folder = write_sequence(args.folder, scene, args.frames, fps=args.fps, video=not args.no_video)
        print(folder)
        return 0
    from vistream.eval.mot import evaluate, load_mot

    if not 0.0 <= args.min_visibility <= 1.0 or not 0.0 < args.iou <= 1.0:
        raise ConfigError("--min-visibility must be in [0, 1] and --iou in (0, 1]")
    scores = evaluate(load_mot(args.gt), load_mot(args.results), min_visibility=args.min_visibility,
                      iou_threshold=args.iou)
    if args.json:
        print(json.dumps(scores, indent=2))
    else:
        for key, value in scores.items():
            print(f"{key:<16} {value:.4f}" if isinstance(value, float) else f"{key:<16} {value}")
    return 0
