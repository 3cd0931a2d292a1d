"""Build a reveal.js slide deck per lab from the executed solutions: ``make slides``.

For every ``solutions/NN_*.ipynb`` (or the notebooks named on the command line) this writes
``build/slides/NN_slug.slides.html`` with nbconvert's ``SlidesExporter``, and copies the few
reveal.js files the decks load into ``build/slides/reveal.js/``, so that the folder is
self-contained and a deck opens from ``file://`` with no network.

Authors set no slideshow metadata by hand: :class:`SlideStructure` derives it from the lab's
anatomy (CONTRIBUTING.md):

- the title cell, and every ``#``/``##`` heading (``## Step N — …``, ``## Cleanup``,
  ``## Recap``), starts a slide; a markdown cell with a heading in its middle is split there;
- every ``###`` heading (the exercises) starts a sub-slide, and so does a cell that would
  overflow the slide it follows (a vertical continuation, estimated in lines);
- cells tagged ``notes`` become the reveal.js speaker notes of the slide they are on (press
  ``S`` in the deck); cells tagged ``skip-slides`` are left out;
- code cells keep their stored outputs (the solutions are executed), long ones clipped;
- links to another lab's notebook lead to that lab's deck.

Offline: nbconvert's reveal template loads reveal.js, require.js, jQuery, Mermaid and MathJax
from CDNs. Our template (``setup/slides/templates/labs_reveal``) drops all but reveal.js and
loads that from the copy next to the decks; images are embedded in the HTML. reveal.js comes
from the npm package pinned in ``setup/slides/package-lock.json``
(``npm ci --prefix setup/slides``, which ``make slides`` runs when it is missing).

Usage: ``python setup/make_slides.py [NOTEBOOK ...] [--out DIR]``.

References: nbconvert's reveal.js export and slide types
(https://nbconvert.readthedocs.io/en/latest/usage.html#reveal-js-html-slideshow); reveal.js
speaker notes, ``<aside class="notes">`` and the speaker view, which reveal.js 4+ supports from
``file://`` (https://revealjs.com/speaker-view/); ``npm ci`` installs exactly the lockfile
(https://docs.npmjs.com/cli/commands/npm-ci).
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import math
import re
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Integer, Unicode

from labs.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
OUT = ROOT / "build" / "slides"
SLIDES_DIR = ROOT / "setup" / "slides"
REVEAL_PACKAGE = SLIDES_DIR / "node_modules" / "reveal.js"
TEMPLATES = SLIDES_DIR / "templates"
TEMPLATE = "labs_reveal"
REVEAL_FOLDER = "reveal.js"  # next to the decks; the decks' reveal_url_prefix

NOTES_TAG = "notes"
SKIP_TAG = "skip-slides"
#: reveal.js versions whose UMD builds (dist/reveal.js, plugin/notes/notes.js) the template loads.
SUPPORTED_REVEAL_MAJOR = (4, 5)
#: What a deck loads from reveal.js: the core, its CSS, the theme with its fonts, the notes plugin.
REVEAL_FILES = (
    "LICENSE",
    "dist/reveal.js",
    "dist/reveal.css",
    "dist/theme/white.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes/notes.js",
)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# The deck's canvas, in CSS pixels; reveal.js scales it to the screen.
WIDTH, HEIGHT = 1280, 800

_HEADING = re.compile(r"^(#{1,3})\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")
# A markdown link to another lab ("Next: [05 — …](05_pipeline_codepipeline.ipynb)").
_LAB_LINK = re.compile(r"\]\((\d\d[a-z]?_[\w-]+)\.ipynb\)")


def heading_level(source: str) -> int:
    """The level (1–3) of the heading a markdown cell starts with, or 0 when it starts otherwise."""
    first = source.lstrip("\n").split("\n", 1)[0]
    match = _HEADING.match(first)
    return len(match.group(1)) if match else 0


def split_at_headings(cell: NotebookNode) -> list[NotebookNode]:
    """Split a markdown cell before every ``#``–``###`` heading that is not its first line.

    Lab authors often end a step with a concluding paragraph and open the next step's heading
    in the same cell; on a slide the heading must start the next slide. Lines inside fenced code
    blocks are never taken for headings. The first part keeps the cell's id; the others get
    ``<id>-h1``, ``<id>-h2``, …
    """
    chunks: list[list[str]] = [[]]
    fenced = False
    for line in cell.source.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced and _HEADING.match(line) and any(s.strip() for s in chunks[-1]):
            chunks.append([])
        chunks[-1].append(line)
    if len(chunks) == 1:
        return [cell]
    parts = []
    for index, lines in enumerate(chunks):
        part = copy.deepcopy(cell)
        part.source = "\n".join(lines).strip("\n")
        if index and "id" in part:
            part["id"] = f"{cell['id']}-h{index}"
        parts.append(part)
    return parts


def _text_lines(text: str, width: int = 100) -> int:
    return sum(max(1, math.ceil(len(line) / width)) for line in text.split("\n"))


def _output_lines(output: NotebookNode) -> int:
    if output.output_type == "stream":
        return _text_lines(output.get("text", "").rstrip("\n"))
    if output.output_type == "error":
        return len(output.get("traceback", []))
    data = output.get("data", {})
    if "image/png" in data or "image/jpeg" in data or "image/svg+xml" in data:
        return 18
    if "text/html" in data:
        return data["text/html"].count("<tr") + 2
    if "text/markdown" in data:
        return _text_lines(data["text/markdown"])
    return _text_lines(data.get("text/plain", "").rstrip("\n"))


def cell_lines(cell: NotebookNode) -> int:
    """Estimate a cell's height on a slide, in lines of text (a figure counts 18)."""
    if cell.cell_type == "markdown":
        heading = 1 if heading_level(cell.source) else 0  # a heading is about two lines tall
        return _text_lines(cell.source.strip()) + heading + 12 * cell.source.count("![")
    lines = _text_lines(cell.source) + 1
    return lines + sum(_output_lines(o) for o in cell.get("outputs", []))


def clip_output(output: NotebookNode, max_lines: int) -> NotebookNode:
    """Clip a text output longer than ``max_lines`` for a slide, saying how much was left out.

    Streams and plain-text results keep their first lines; tracebacks their last ones (where
    the error is). Widget views, which a static deck cannot show, become a one-line note.
    """
    output = copy.deepcopy(output)
    note = "… {n} more lines (clipped for the slide; the notebook shows them all)"
    if output.output_type == "stream":
        lines = output.get("text", "").rstrip("\n").split("\n")
        if len(lines) > max_lines:
            kept = lines[: max_lines - 1]
            output.text = "\n".join([*kept, note.format(n=len(lines) - len(kept))]) + "\n"
    elif output.output_type == "error":
        lines = output.get("traceback", [])
        if len(lines) > max_lines:
            output.traceback = [
                note.format(n=len(lines) - max_lines + 1).replace("more", "earlier"),
                *lines[-(max_lines - 1) :],
            ]
    elif "data" in output:
        if WIDGET_MIME in output.data:
            output.data = {"text/plain": "(an interactive widget: run the notebook to use it)"}
        plain = output.data.get("text/plain", "")
        lines = plain.split("\n")
        if set(output.data) == {"text/plain"} and len(lines) > max_lines:
            kept = lines[: max_lines - 1]
            output.data["text/plain"] = "\n".join([*kept, note.format(n=len(lines) - len(kept))])
    return output


class SlideStructure(Preprocessor):
    """Give every cell its reveal.js ``slideshow.slide_type`` from the lab's own structure.

    Runs before nbconvert's own reveal preprocessor, which turns slide types into the
    ``<section>`` nesting (slides, and sub-slides stacked under them). Works on a copy: the
    solution notebook is never changed.
    """

    notes_tag = Unicode(NOTES_TAG, help="Cells with this tag become speaker notes.").tag(
        config=True
    )
    skip_tag = Unicode(SKIP_TAG, help="Cells with this tag are left out of the deck.").tag(
        config=True
    )
    max_output_lines = Integer(20, help="Text outputs longer than this are clipped.").tag(
        config=True
    )
    lines_per_slide = Integer(
        28, help="A cell that would take a slide past this many lines starts a sub-slide."
    ).tag(config=True)

    def preprocess(
        self, nb: NotebookNode, resources: dict | None = None
    ) -> tuple[NotebookNode, dict | None]:
        """Split, filter and clip the cells, then set each one's slide type."""
        nb = copy.deepcopy(nb)
        nb.metadata.pop("widgets", None)  # a deck carries no widget state
        cells: list[NotebookNode] = []
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            if self.skip_tag in tags:
                continue
            if cell.cell_type == "markdown" and self.notes_tag not in tags:
                cell.source = _LAB_LINK.sub(r"](\1.slides.html)", cell.source)
                cells.extend(split_at_headings(cell))
                continue
            if cell.cell_type == "code":
                cell.outputs = [clip_output(o, self.max_output_lines) for o in cell.outputs]
            cells.append(cell)
        used = 0
        started = False
        intro: NotebookNode | None = None  # a prose cell that may introduce the next code cell
        for cell in cells:
            level = heading_level(cell.source) if cell.cell_type == "markdown" else 0
            height = cell_lines(cell)
            if self.notes_tag in cell.metadata.get("tags", []):
                cell.metadata["slideshow"] = {"slide_type": "notes"}
                continue
            if not started or level in (1, 2):
                slide_type, used, started = "slide", height, True
            elif level == 3 or (used and used + height > self.lines_per_slide):
                slide_type, used = "subslide", height
                if cell.cell_type == "code" and intro is not None:
                    # Keep the sentence that introduces this code on the same sub-slide.
                    intro.metadata["slideshow"] = {"slide_type": "subslide"}
                    slide_type, used = "-", cell_lines(intro) + height
            else:
                slide_type, used = "-", used + height
            cell.metadata["slideshow"] = {"slide_type": slide_type}
            intro = cell if cell.cell_type == "markdown" and slide_type == "-" else None
        nb.cells = cells
        return nb, resources


def make_exporter(reveal_prefix: str = REVEAL_FOLDER) -> SlidesExporter:
    """A ``SlidesExporter`` on our offline template, with :class:`SlideStructure` first.

    Every URL nbconvert would otherwise fill with a CDN address is emptied too, so that a block
    of the template we did not override cannot bring one back unnoticed.
    """
    return SlidesExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name=TEMPLATE,
        preprocessors=[SlideStructure()],
        reveal_url_prefix=reveal_prefix,
        reveal_theme="white",  # its fonts ship with reveal.js; "simple" imports web fonts
        reveal_transition="slide",
        reveal_number="c/t",
        reveal_width=str(WIDTH),
        reveal_height=str(HEIGHT),
        exclude_anchor_links=True,
        embed_images=True,
        require_js_url="",
        jquery_url="",
        mathjax_url="",
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
        font_awesome_url="",
        jupyter_widgets_base_url="",
        widget_renderer_url="",
    )


def reveal_version(package: Path = REVEAL_PACKAGE) -> str:
    """The version of the installed reveal.js, checked to be one the template supports.

    Raises:
        InputError: reveal.js is not installed, or its major version is not 4 or 5.
    """
    manifest = package / "package.json"
    if not manifest.exists():
        raise InputError(
            "reveal.js is not installed, and the decks load it from a local copy.",
            where=str(package),
            hint="run `make slides` (it runs `npm ci --prefix setup/slides`), or that npm "
            "command yourself; it needs Node.js and npm once, with network.",
        )
    version = json.loads(manifest.read_text())["version"]
    if int(version.split(".")[0]) not in SUPPORTED_REVEAL_MAJOR:
        raise InputError(
            f"reveal.js {version} is installed; the deck template loads the UMD builds of "
            f"reveal.js {' or '.join(map(str, SUPPORTED_REVEAL_MAJOR))}.x.",
            where=str(manifest),
            hint="pin reveal.js 5.x in setup/slides/package.json and run "
            "`npm install --prefix setup/slides`.",
        )
    return version


def copy_reveal(target: Path, package: Path = REVEAL_PACKAGE) -> str:
    """Copy the reveal.js files the decks load into ``target``; return reveal.js's version."""
    version = reveal_version(package)
    for name in REVEAL_FILES:
        source, destination = package / name, target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination)
    return version


def lab_title(nb: NotebookNode, fallback: str) -> str:
    """The lab's title: its first cell's ``#`` heading without the marker."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and heading_level(cell.source) == 1:
            return cell.source.lstrip("\n").split("\n", 1)[0].lstrip("#").strip()
    return fallback


@dataclass
class Deck:
    """One deck written by :func:`build`."""

    notebook: str
    path: Path
    title: str
    slides: int
    notes: int


def build_deck(notebook: Path, out: Path, exporter: SlidesExporter | None = None) -> Deck:
    """Write ``out/<notebook stem>.slides.html`` from an executed notebook."""
    exporter = exporter or make_exporter()
    nb = nbformat.read(notebook, as_version=4)
    title = lab_title(nb, notebook.stem)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    target = out / f"{notebook.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return Deck(
        notebook.name,
        target,
        title,
        slides=len(re.findall(r"<section", body)),
        notes=body.count('<aside class="notes">'),
    )


def _index(decks: Iterable[Path]) -> str:
    """The folder's ``index.html``: a link to every deck in it, by the title its HTML carries."""
    items = []
    for deck in decks:
        found = re.search(r"<title>(.*?) slides</title>", deck.read_text(encoding="utf-8"))
        title = html.unescape(found.group(1)) if found else deck.name
        items.append(f'<li><a href="{html.escape(deck.name)}">{html.escape(title)}</a></li>')
    return (
        '<!doctype html>\n<html lang="en"><meta charset="utf-8">'
        "<title>DevOps on AWS Labs — slides</title>"
        "<style>body{font-family:sans-serif;margin:2em;line-height:1.6}</style>\n"
        "<h1>DevOps on AWS Labs — slides</h1>\n"
        "<p>One deck per lab, built from the executed solutions. Press <b>S</b> in a deck for "
        "the speaker view with its notes, <b>Esc</b> for the overview, <b>F</b> for full "
        "screen. Everything here opens offline.</p>\n"
        "<ol>\n" + "\n".join(items) + "\n</ol>\n</html>\n"
    )


def build(notebooks: Iterable[Path], out: Path = OUT, package: Path = REVEAL_PACKAGE) -> list[Deck]:
    """Build a deck per notebook into ``out``, with reveal.js and an ``index.html`` beside them."""
    out.mkdir(parents=True, exist_ok=True)
    copy_reveal(out / REVEAL_FOLDER, package)
    exporter = make_exporter()
    decks = [build_deck(Path(path), out, exporter) for path in notebooks]
    (out / "index.html").write_text(_index(sorted(out.glob("*.slides.html"))), encoding="utf-8")
    return decks


def main(argv: list[str] | None = None) -> int:
    """Command line: build the decks; print one line per deck and the wall time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every solution")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(SOLUTIONS.glob("[0-9][0-9]*_*.ipynb"))
    missing = [str(p) for p in notebooks if not p.exists()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        decks = build(notebooks, args.out)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for deck in decks:
        print(f"wrote {deck.path}  ({deck.slides} sections, {deck.notes} speaker notes)")
    seconds = time.perf_counter() - started
    print(f"{len(decks)} deck(s) in {seconds:.1f} s; open {args.out / 'index.html'} (offline).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
