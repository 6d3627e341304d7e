"""The notebooks of examples/notebooks run from top to bottom (issue 17), and are stored without outputs.

Each notebook is executed by nbclient in a fresh Python kernel that imports this checkout's
``ssl_odes`` (the tests' ``PYTHONPATH`` is passed on), on CPU, in a temporary directory; any cell
that raises fails the test. They are marked ``slow``: together a few minutes on a 2-core machine
(``pytest -m "not slow"`` skips them).
"""

import json
import os
from pathlib import Path

import pytest

import ssl_odes

NOTEBOOKS = Path(__file__).resolve().parents[1] / "examples" / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
EXPECTED = {"quickstart.ipynb", "byol_002.ipynb", "simsiam_003.ipynb", "dual_networks_000.ipynb",
            "theory_vs_training.ipynb", "contrastive_001.ipynb", "prediction_head_004.ipynb"}
CELL_TIMEOUT_S = 900  # a generous ceiling for one cell on a loaded machine (compilation included)


def test_the_notebooks_exist_and_are_stored_without_outputs():
    assert EXPECTED <= set(NAMES), sorted(EXPECTED - set(NAMES))
    for name in NAMES:
        book = json.loads((NOTEBOOKS / name).read_text())
        for cell in book["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, f"{name}: strip the outputs"


def _kernel_environment(monkeypatch):
    """The kernel inherits the environment: make it import this checkout's package."""
    src = str(Path(ssl_odes.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")


def _execute(path: Path, workdir: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    from jupyter_core.utils import run_sync
    book = nbformat.read(path, as_version=4)
    # Unix sockets in the test's own directory rather than TCP ports on localhost: kernels started at
    # the same time by other test runs on the machine cannot race for the same port.
    transport = {} if os.name == "nt" else {"transport": "ipc", "ip": str(workdir / "kernel")}
    km = jupyter_client.AsyncKernelManager(kernel_name="python3", connection_file=str(workdir / "kernel.json"), **transport)
    client = nbclient.NotebookClient(book, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    finally:  # the client leaves a kernel it did not start running: stop it
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    return book


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_without_error(name, tmp_path, monkeypatch):
    _kernel_environment(monkeypatch)
    if name == "theory_vs_training.ipynb":
        pytest.importorskip("flax")
        pytest.importorskip("optax")
    book = _execute(NOTEBOOKS / name, tmp_path)
    errors = [out for cell in book.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert errors == []
    # Each notebook draws: at least one figure came back.
    assert any(out.get("output_type") == "display_data" and "image/png" in out.get("data", {})
               for cell in book.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


@pytest.mark.slow
def test_a_broken_notebook_fails(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    _kernel_environment(monkeypatch)
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import ssl_odes\nssl_odes.simulate_byol_modes(p0=0.1, s0=-1.0)")],
                                    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "broken.ipynb"
    nbformat.write(book, path)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="s0"):
        _execute(path, tmp_path)
