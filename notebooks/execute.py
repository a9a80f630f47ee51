"""Runs the teaching notebooks headless and stores their outputs.

    python notebooks/execute.py                      # every notebook, full budget
    python notebooks/execute.py notebooks/02_*.ipynb # some of them
    python notebooks/execute.py --budget small --check

Each notebook runs top to bottom in a fresh Python kernel (nbclient) with
`KERAS_SPARSE_AE_NOTEBOOK_BUDGET` set to the budget asked for, from the
notebooks folder. Without `--check` the executed notebook, outputs included,
replaces the file atomically (a failed run leaves the file as it was). A
failing cell stops that notebook and makes the script exit with code 1; the
run time of every notebook is printed.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
ENV_VAR = "KERAS_SPARSE_AE_NOTEBOOK_BUDGET"
DEFAULT_CELL_TIMEOUT = 1200


def lesson_notebooks(folder=HERE):
    """The lesson notebooks (`NN_name.ipynb`) in `folder`, sorted."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def execute(path, budget="full", cell_timeout=DEFAULT_CELL_TIMEOUT):
    """Executes the notebook at `path`; returns `(notebook, seconds)`.

    Raises `nbclient.exceptions.CellExecutionError` from the first failing
    cell. The environment variable is set for the kernel only, for the
    duration of the run.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name="python3",
        # TensorFlow's C++ start-up lines go to the kernel's own stderr, not
        # into the stored outputs (Python warnings still show in cells).
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        resources={"metadata": {"path": str(Path(path).resolve().parent)}},
    )
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = budget
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        if previous is None:
            del os.environ[ENV_VAR]
        else:
            os.environ[ENV_VAR] = previous
    return notebook, time.perf_counter() - start


def write_atomically(notebook, path):
    """Writes `notebook` to `path` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        nbformat.write(notebook, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all")
    parser.add_argument("--budget", choices=("full", "small"), default="full")
    parser.add_argument(
        "--check", action="store_true", help="execute only; do not write outputs"
    )
    parser.add_argument(
        "--cell-timeout", type=int, default=DEFAULT_CELL_TIMEOUT, metavar="S"
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or lesson_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    failed = []
    for path in paths:
        print(f"{path.name}: running ({args.budget} budget) ...", flush=True)
        try:
            notebook, seconds = execute(path, args.budget, args.cell_timeout)
        except CellExecutionError as err:
            print(f"{path.name}: FAILED\n{err}", flush=True)
            failed.append(path.name)
            continue
        if not args.check:
            write_atomically(notebook, path)
        print(f"{path.name}: ok in {seconds:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
