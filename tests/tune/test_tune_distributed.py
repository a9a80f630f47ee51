"""Distributed search on loopback: a chief and two workers (subprocesses)."""

import json
import os
import re
import socket
import subprocess
import sys
import time

from tune_helpers import TINY_ARGS

from keras_sparse_ae.tune import load_trials, read_results_csv

#: Bound on the whole test: three TensorFlow start-ups on two busy cores,
#: three tiny trials and the chief's own 20 s polling of its workers.
DEADLINE = 480


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_record_every_trial_once(tmp_path):
    args = [*TINY_ARGS, "--directory", str(tmp_path / "runs"), "--project-name", "p"]
    args += ["--max-trials", "3", "--oracle", f"127.0.0.1:{_free_port()}"]
    roles = {
        "chief": ["--distributed", "chief"],
        "tuner0": ["--distributed", "worker", "--worker-id", "tuner0"],
        "tuner1": ["--distributed", "worker", "--worker-id", "tuner1"],
    }
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    processes, logs = {}, {}
    try:
        for name, extra in roles.items():
            logs[name] = tmp_path / f"{name}.log"
            with open(logs[name], "wb") as log:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "keras_sparse_ae.tune", *args, *extra]
                    + ["--oracle-timeout", str(DEADLINE)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
        deadline = time.monotonic() + DEADLINE
        while any(p.poll() is None for p in processes.values()):
            assert time.monotonic() < deadline, {
                n: logs[n].read_text()[-1500:] for n in processes
            }
            time.sleep(0.5)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    outputs = {name: logs[name].read_text() for name in processes}
    for name, process in processes.items():
        assert process.returncode == 0, outputs[name][-3000:]

    # Each worker printed the trials it ran; together, each trial once.
    ran = []
    for worker in ("tuner0", "tuner1"):
        ran += re.findall(rf"^\[{worker}\] trial (\d+) ", outputs[worker], re.M)
    assert sorted(ran) == ["0", "1", "2"]

    folder = tmp_path / "runs" / "p"
    rows = read_results_csv(folder / "results.csv")
    assert sorted(r["trial_id"] for r in rows) == ["0", "1", "2"]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert {r["tuner_id"] for r in rows} <= {"tuner0", "tuner1"}
    for trial in load_trials(folder):
        run_file = folder / f"trial_{trial['trial_id']}" / "run.json"
        run = json.loads(run_file.read_text())
        assert run["status"] == "COMPLETED" and run["epochs"] == 1
    assert "3 trials (3 completed, 0 failed)" in outputs["chief"]
    assert (folder / "best.keras").is_file() and (folder / "report.md").is_file()
