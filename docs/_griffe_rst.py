"""A griffe extension for the API pages: the package's reST touches in docstrings, as Markdown.

The docstrings are Google style (``Args:``, ``Returns:``) with a few reST habits, kept because
they read well in ``help()``; for mkdocstrings they become:

* ``.. math::`` blocks -> ``$$ ... $$`` (MathJax, through pymdownx.arithmatex);
* ``:math:`x``` -> ``$x$``;
* ``:func:`~a.b.c``` (and ``:class:``, ``:mod:``, ``:data:``, ``:meth:``, ``:attr:``) -> `` `c` ``
  (the name as code; ``~`` keeps the last part, as in Sphinx);
* a paragraph ending in ``::`` -> ``:`` (its indented block is a code block in Markdown too);
* runs of doctest lines (``>>>`` and their output) -> a fenced ``pycon`` block.
"""

from __future__ import annotations

import re

from griffe import Extension

ROLE = re.compile(r":(?:func|class|mod|data|meth|attr|obj|exc):`(~?)([^`]+)`")
MATH_ROLE = re.compile(r":math:`([^`]+)`")


def _role(match: re.Match) -> str:
    target = match.group(2).strip()
    return f"`{target.split('.')[-1] if match.group(1) else target.lstrip('.')}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _math_blocks(lines: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == ".. math::" or line.strip().startswith(".. math:: "):
            base = _indent(line)
            pad = " " * base
            inline = line.strip()[len(".. math::"):].strip()
            body = [inline] if inline else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                body.append(lines[i].strip())
                i += 1
            while body and not body[-1]:
                body.pop()
            body = [b for b in body if b]
            if any("&" in b or b.endswith("\\\\") for b in body):
                # Sphinx wraps multi-row math (rows end in a double backslash, columns at &) in an aligned environment.
                out += [pad + "$$", pad + r"\begin{aligned}"] + [pad + b for b in body] + [pad + r"\end{aligned}", pad + "$$", ""]
            else:
                out += [pad + "$$"] + [pad + b for b in body] + [pad + "$$", ""]
            continue
        out.append(line)
        i += 1
    return out


def _doctests(lines: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(lines):
        if lines[i].lstrip().startswith(">>>"):
            pad = " " * _indent(lines[i])
            out.append(pad + "```pycon")
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) >= len(pad):
                out.append(lines[i])
                i += 1
            out.append(pad + "```")
            continue
        out.append(lines[i])
        i += 1
    return out


def rst_to_markdown(text: str) -> str:
    lines = _math_blocks(text.splitlines())
    lines = _doctests(lines)
    text = "\n".join(lines)
    text = MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    text = ROLE.sub(_role, text)
    return re.sub(r"(\S)::\n", r"\1:\n", text)


class RstToMarkdown(Extension):
    """Rewrite every docstring once it is loaded (modules, classes, functions, attributes)."""

    def on_instance(self, *, obj, **kwargs) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and docstring.value:
            docstring.value = rst_to_markdown(docstring.value)
