// The MathJax beside this file is MathJax 3.2.2 (Apache-2.0, mathjax/LICENSE), vendored unchanged from the npm
// package mathjax@3.2.2: es5/tex-chtml-full.js and es5/output/chtml/fonts/woff-v2/ (found relative to the script).
// MathJax 3 for pymdownx.arithmatex (generic mode), served from the local copy beside this file.
window.MathJax = {
  tex: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex"},
};
// mkdocs-material's instant navigation swaps pages without reloading: typeset each new page.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => { if (window.MathJax && MathJax.typesetPromise) { MathJax.typesetPromise(); } });
}
