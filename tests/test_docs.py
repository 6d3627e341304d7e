"""The documentation site builds strictly (warnings are errors) and offline, and shows what it promises.

``mkdocs build --strict`` runs in a subprocess with every HTTP(S) proxy pointed at a closed port,
so a build step that reached for the network would fail. The built pages must load nothing from
elsewhere (MathJax is local), document every registered system on a paper page, and carry the
README's benchmark table and the multi-host sweep recipe. Skipped, with the reason, when the
``docs`` extra (mkdocs-material, mkdocstrings[python]) is not installed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ssl_odes

ROOT = Path(__file__).resolve().parents[1]


def _require_docs_tools():
    for module, package in (("mkdocs", "mkdocs"), ("material", "mkdocs-material"), ("mkdocstrings", "mkdocstrings"),
                            ("mkdocstrings_handlers.python", "mkdocstrings-python")):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{package} is not installed: the docs build needs `pip install '.[docs]'`")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _require_docs_tools()
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ)
    src = str(Path(ssl_odes.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    closed = "http://127.0.0.1:9"  # nothing listens there: any download attempt fails the build
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, ALL_PROXY=closed, http_proxy=closed, https_proxy=closed,
               all_proxy=closed, NO_PROXY="", no_proxy="", NO_MKDOCS_2_WARNING="1", JAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    assert "WARNING" not in run.stderr, run.stderr
    return out


def _text(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text()


@pytest.mark.slow
def test_strict_build_loads_nothing_from_elsewhere(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 15
    external = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)=["'](?:https?:)?//""", re.I)
    for page in pages:
        assert not external.search(page.read_text()), f"{page.relative_to(site)} loads a remote resource"
    assert (site / "javascripts" / "mathjax" / "tex-chtml-full.js").is_file()
    assert (site / "javascripts" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2" / "MathJax_Main-Regular.woff").is_file()
    assert "ssl_odes:" not in "".join(p.read_text() for p in pages)  # every hook marker was filled in


@pytest.mark.slow
def test_every_registered_system_has_its_paper_page_with_equations_and_figures(site):
    papers = "".join(_text(site, f"papers/{name}") for name in ("byol_002", "simsiam_003", "dual_networks_000",
                                                                  "contrastive_001", "prediction_head_004"))
    for name in ssl_odes.systems():
        assert f"<code>{name}</code>" in papers, f"system {name} is on no paper page"
    byol = _text(site, "papers/byol_002")
    assert byol.count('class="arithmatex"') >= 5  # the equations, for MathJax to render
    assert "Eq 14 sign" in byol  # a paper slip and the choice made
    for figure in ("fig2_alignment", "fig3_phase_portraits", "fig4_p_dynamics", "fig5_eta_beta_sweeps"):
        assert f"../../figures/{figure}.png" in byol and (site / "figures" / f"{figure}.png").is_file()
    for name, slip, figures in (("contrastive_001", "drops a factor", ("contrastive_fig8_energy", "contrastive_fig1_power_iteration",
                                                                     "contrastive_two_layer_merge")),
                                ("prediction_head_004", "15^{1/6}", ("prediction_head_phases", "prediction_head_sweep"))):
        page = _text(site, f"papers/{name}")
        assert "Being added" not in page and "<table>" in page  # the systems table and the README sections
        assert page.count('class="arithmatex"') >= 5 and slip in page  # equations, a slip or choice
        assert f"{name}.ipynb" in page  # the notebook
        for figure in figures:
            assert f"../../figures/{figure}.png" in page


@pytest.mark.slow
def test_api_reference_benchmarks_and_multihost_sweeps_are_there(site):
    api = _text(site, "api/byol")
    assert 'id="ssl_odes.byol._modes.simulate_byol_modes"' in api and "arithmatex" in api
    assert 'id="ssl_odes.explorer.redraw_phase_portrait"' in _text(site, "api/plot")
    assert 'id="ssl_odes.empirical.training.train"' in _text(site, "api/empirical")
    benchmarks = _text(site, "benchmarks")
    assert "<table>" in benchmarks and "M1: 10,000 trajectories" in benchmarks
    assert 'src="../figures/scaling.png"' in benchmarks and (site / "figures" / "scaling.png").is_file()
    sweeps = _text(site, "sweeps")
    assert "Sweeps on several hosts" in sweeps and "jax.distributed.initialize" in sweeps
