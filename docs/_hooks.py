"""MkDocs hooks: one source for what the site shares with the README, the registry and the examples.

* ``examples/figures/*.png`` are served as ``figures/*.png`` (the examples write them; no copies);
* ``<!-- ssl_odes:readme "## Heading" -->`` is replaced by that section of README.md (without its
  heading line), with figure links pointed at ``figures/`` and README-internal anchors unlinked;
* ``<!-- ssl_odes:readme-block NAME -->`` is replaced by what README.md holds between
  ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` (the two commands);
* ``<!-- ssl_odes:systems PREFIX -->`` is replaced by a table of the registered systems whose
  paper starts with ``PREFIX`` (name, equations, summary, parameters with ranges and defaults),
  read from the declarations themselves; with ``optional`` after the prefix, by nothing while no
  such system is registered (the pages of papers being added).

Nothing here touches the network. A marker that finds nothing raises, so a renamed README section
fails the strict build (``tests/test_docs.py``) instead of leaving a hole.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "examples" / "figures"
#: Folders whose PNGs are served as ``figures/<name>`` (the examples' figures and the benchmarks'
#: scaling figure; their file names do not clash).
FIGURE_DIRS = {"examples/figures": FIGURES, "benchmarks/figures": ROOT / "benchmarks" / "figures"}
README_MARKER = re.compile(r'<!--\s*ssl_odes:readme\s+"(#+) ([^"]+)"\s*-->')
BLOCK_MARKER = re.compile(r"<!--\s*ssl_odes:readme-block\s+(\S+)\s*-->")
SYSTEMS_MARKER = re.compile(r"<!--\s*ssl_odes:systems\s+(\S+)(\s+optional)?\s*-->")


def on_files(files, config):
    for folder in FIGURE_DIRS.values():
        for png in sorted(folder.glob("*.png")):
            files.append(File.generated(config, f"figures/{png.name}", abs_src_path=str(png)))
    return files


def _readme_section(level: str, title: str) -> str:
    lines = (ROOT / "README.md").read_text().splitlines()
    heading = f"{level} {title}"
    try:
        start = lines.index(heading)
    except ValueError:
        raise ValueError(f"README.md has no section {heading!r} (docs marker ssl_odes:readme)") from None
    body, fenced = [], False
    for line in lines[start + 1:]:
        if line.startswith("```"):
            fenced = not fenced
        match = re.match(r"(#+) ", line)
        if not fenced and match and len(match.group(1)) <= len(level):
            break
        body.append(line)
    return "\n".join(body).strip("\n")


def _readme_block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {re.escape(name)}:start -->\n(.*?)<!-- {re.escape(name)}:end -->", text, re.S)
    if match is None:
        raise ValueError(f"README.md has no block <!-- {name}:start --> ... <!-- {name}:end --> (docs marker)")
    return match.group(1).strip("\n")


def _figure(match: re.Match, up: str) -> str:
    alt, folder, name = match.group(1), match.group(2), match.group(3)
    if (FIGURE_DIRS[folder] / name).is_file():
        return f"![{alt}]({up}figures/{name})"
    # Not committed in this checkout (the example writes it): say so instead of a broken image.
    return f"*({alt}: `{folder}/{name}`, drawn by its script, is not in this checkout.)*"


def _rewrite_readme_links(text: str, depth: int) -> str:
    up = "../" * depth
    text = re.sub(r"!\[([^\]]*)\]\((examples/figures|benchmarks/figures)/([^)]+\.png)\)", lambda m: _figure(m, up), text)
    return re.sub(r"\[([^\]]+)\]\(#[^)]*\)", r"\1", text)  # README anchors: keep the words


def _systems_table(prefix: str, optional: bool = False) -> str:
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))  # document this checkout, installed or not
    import ssl_odes

    rows = [s for s in ssl_odes.systems().values() if s.paper.startswith(prefix)]
    if not rows and optional:
        return ""
    if not rows:
        raise ValueError(f"no registered system's paper starts with {prefix!r} (docs marker ssl_odes:systems)")
    out = ["| system | paper | what it is | parameters |", "| --- | --- | --- | --- |"]
    for system in sorted(rows, key=lambda s: s.name):
        params = "<br>".join(html.escape(p.describe()).replace("|", "&#124;").replace("*", "&#42;")
                             .replace("_", "&#95;") for p in system.parameters)
        kind = " (discrete map)" if system.discrete else ""
        out.append(f"| `{system.name}`{kind} | {system.paper} | {html.escape(system.summary)} | {params} |")
    return "\n".join(out)


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")
    markdown = README_MARKER.sub(lambda m: _rewrite_readme_links(_readme_section(m.group(1), m.group(2)), depth), markdown)
    markdown = BLOCK_MARKER.sub(lambda m: _readme_block(m.group(1)), markdown)
    return SYSTEMS_MARKER.sub(lambda m: _systems_table(m.group(1), bool(m.group(2))), markdown)
