"""The benchmarks in `bench/` still run (smoke runs; nothing is timed here).

Speed and memory targets are judged by the benchmarks themselves on a quiet
machine (see bench/README.md), never by a test: these only check that each
script runs to the end on a tiny problem and writes its JSON.
"""

import json
import os
import subprocess
import sys

import keras
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "bench")

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="each script picks its backend; run once, from the TensorFlow run",
)


@pytest.mark.parametrize(
    "script, backend, extra",
    [
        ("overhead.py", "tensorflow", ["--sections", "profile", "--zoo", "linear"]),
        ("tune_memory.py", "tensorflow", []),
        ("gpu.py", "jax", ["--batch-sizes", "256"]),
        ("frontier.py", "tensorflow", []),
    ],
)
def test_quick_run_writes_its_results(tmp_path, script, backend, extra):
    pytest.importorskip(backend)
    out = tmp_path / "result.json"
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_SPARSE_AE_JIT_COMPILE", None)  # the library's defaults
    done = subprocess.run(
        [sys.executable, os.path.join(BENCH, script), "--quick", "--json", str(out)]
        + extra,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["benchmark"] in script
    assert result["machine"]["backend"] == backend
