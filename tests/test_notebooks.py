"""The teaching notebooks: stored as they should be, and they run.

The structure tests read the committed `.ipynb` files and run in the default
test command. The execution tests (`-m notebook`, a separate CI step) run
every notebook top to bottom in a fresh kernel at the small budget and fail
on any cell error or a run of three minutes or more.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
LESSON_NOTEBOOKS = [
    "00_participation_deep_sae.ipynb",
    "01_autoencoder_zoo.ipynb",
    "02_regularizer_sweep.ipynb",
    "03_plain_vs_sparse.ipynb",
    "04_l1_sparse_numpy_vs_keras.ipynb",
]
# Issue 9: each notebook under 3 minutes on 2 cores at the small budget.
SMALL_BUDGET_LIMIT_S = 180


def _load_execute_module():
    spec = importlib.util.spec_from_file_location(
        "notebooks_execute", NOTEBOOKS_DIR / "execute.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name):
    with open(NOTEBOOKS_DIR / name, encoding="utf-8") as f:
        return json.load(f)


def _source(cell):
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _write_notebook(path, *sources):
    """Writes a notebook of code cells with `sources`; returns `path`."""
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return path


def _code_cells(notebook):
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def test_every_lesson_has_its_notebook_and_no_other_is_stray():
    execute = _load_execute_module()
    found = [p.name for p in execute.lesson_notebooks(NOTEBOOKS_DIR)]
    assert found == LESSON_NOTEBOOKS


@pytest.mark.parametrize("name", LESSON_NOTEBOOKS)
class TestStoredNotebook:
    def test_is_valid_nbformat_4_with_a_python3_kernel(self, name):
        nbformat = pytest.importorskip("nbformat")
        notebook = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata["kernelspec"]["name"] == "python3"

    def test_opens_with_a_titled_markdown_cell(self, name):
        first = _read(name)["cells"][0]
        assert first["cell_type"] == "markdown"
        assert re.match(r"#\s+\S", _source(first)), "the first cell needs a title"

    def test_first_code_cell_sets_up_figures_and_the_budget(self, name):
        source = _source(_code_cells(_read(name))[0])
        assert "%matplotlib inline" in source
        assert "notebook_budget" in source and "pick(" in source

    def test_explains_before_it_computes(self, name):
        cells = _read(name)["cells"]
        markdown = [c for c in cells if c["cell_type"] == "markdown"]
        assert len(markdown) >= 4, "each idea needs its own explanation"
        assert any("$" in _source(c) for c in markdown), "no formula in Markdown"

    def test_is_stored_executed_in_order_with_figures_and_no_errors(self, name):
        cells = _code_cells(_read(name))
        counts = [c["execution_count"] for c in cells if _source(c).strip()]
        assert counts == list(range(1, len(counts) + 1)), "not run top to bottom"
        outputs = [o for c in cells for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error"]
        assert not [
            o
            for o in outputs
            if o["output_type"] == "stream"
            and o["name"] == "stderr"
            and "Traceback" in "".join(o["text"])
        ]
        pngs = [o for o in outputs if "image/png" in o.get("data", {})]
        assert pngs, "stored without figures"

    def test_does_not_download_anything(self, name):
        sources = "\n".join(_source(c) for c in _code_cells(_read(name)))
        for loader in ("keras.datasets", "load_mnist(", "urlopen", "requests."):
            assert loader not in sources


def test_execute_script_refuses_a_missing_notebook(capsys):
    execute = _load_execute_module()
    with pytest.raises(SystemExit) as exit_info:
        execute.main(["--check", str(NOTEBOOKS_DIR / "99_missing.ipynb")])
    assert exit_info.value.code == 2
    assert "no such notebook" in capsys.readouterr().err


@pytest.mark.notebook
@pytest.mark.parametrize("name", LESSON_NOTEBOOKS)
def test_runs_at_the_small_budget_within_the_time_limit(name):
    execute = _load_execute_module()
    _, seconds = execute.execute(NOTEBOOKS_DIR / name, budget="small")
    print(f"{name}: {seconds:.1f} s at the small budget")
    assert seconds < SMALL_BUDGET_LIMIT_S


@pytest.mark.notebook
def test_a_failing_cell_fails_the_run(tmp_path):
    from nbclient.exceptions import CellExecutionError

    execute = _load_execute_module()
    path = _write_notebook(
        tmp_path / "00_broken.ipynb", "x = 1", "raise RuntimeError('cell two broke')"
    )
    before = path.read_bytes()
    with pytest.raises(CellExecutionError, match="cell two broke"):
        execute.execute(path, budget="small")
    assert execute.main([str(path)]) == 1
    assert path.read_bytes() == before, "a failed run must not rewrite the file"


@pytest.mark.notebook
def test_the_budget_reaches_the_kernel(tmp_path):
    execute = _load_execute_module()
    path = _write_notebook(
        tmp_path / "00_budget.ipynb",
        "from keras_sparse_ae.notebook_budget import pick\n"
        "print(pick(full='full run', small='small run'))",
    )
    for budget in ("small", "full"):
        executed, _ = execute.execute(path, budget=budget)
        texts = [o["text"] for o in executed.cells[0].outputs if "text" in o]
        assert texts == [f"{budget} run\n"]
