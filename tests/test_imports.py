"""`import vistream` stays light: heavy optional dependencies load only where they are used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "onnxruntime", "confluent_kafka", "paho", "redis", "pika", "fastapi", "gi", "PyNvVideoCodec")

SCRIPT = """
import sys, vistream
pipeline = vistream.parse_launch(
    "urisrc uri=lavfi:testsrc2=size=64x48:rate=10 num-buffers=3 ! mux.sink_0 streammux name=mux ! fakesink")
pipeline.run(timeout=30)
names = vistream.default_registry.names()   # imports every element module
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_cpu_pipeline_and_element_registry_import_no_heavy_dependency():
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(heavy=HEAVY)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()}"
