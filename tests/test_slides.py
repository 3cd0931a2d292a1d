"""`make slides`: a reveal.js deck per lab that opens offline, with the instructors' speaker notes.

The decks are built from the executed solutions by ``setup/make_slides.py``; the notes are the
markdown cells tagged ``notes`` that ``setup/add_speaker_notes.py`` writes into the solutions.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from add_speaker_notes import Note, apply_notes, find_heading_cell
from make_slides import (
    REVEAL_PACKAGE,
    SLIDES_DIR,
    SOLUTIONS,
    SlideStructure,
    build,
    split_at_headings,
)

from labs.errors import InputError

NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]*_*.ipynb"))
# Two small labs, one with a step heading in the middle of a cell (11): fast to build.
DECK_LABS = ("03_build_codebuild", "11_tracing_xray")
# Tags that make a browser load something: (tag, attribute).
LOADED = {
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("iframe", "src"),
    ("source", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("embed", "src"),
    ("object", "data"),
}
REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


def _words(markdown: str, count: int = 8) -> str:
    """The first words of a markdown text as they read once rendered (no `, *, _ markers)."""
    return " ".join(re.sub(r"[`*]", "", markdown).split()[:count])


class _Deck(HTMLParser):
    """Reads a deck: loaded references, links, and headings and notes by top-level slide."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loaded: list[tuple[str, str]] = []
        self.links: list[str] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []  # inline scripts
        self.headings: list[tuple[str, str, int]] = []  # (tag, text, top-level slide)
        self.notes: list[tuple[str, int]] = []  # (text, top-level slide)
        self._depth = 0
        self._slide = -1
        self._capture: str | None = None
        self._text: list[str] = []
        self._aside_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if (tag, name) in LOADED and value:
                self.loaded.append((tag, value))
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "section":
            self._depth += 1
            if self._depth == 1:
                self._slide += 1
        elif tag == "aside" and "notes" in (values.get("class") or "").split():
            self._aside_depth, self._text = 1, []
        elif tag == "aside" and self._aside_depth:
            self._aside_depth += 1
        elif tag in ("style", "script") or (tag in ("h1", "h2", "h3") and not self._aside_depth):
            self._capture, self._text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._depth -= 1
        elif tag == "aside" and self._aside_depth:
            self._aside_depth -= 1
            if not self._aside_depth:
                self.notes.append((" ".join("".join(self._text).split()), self._slide))
        elif tag == self._capture:
            text = " ".join("".join(self._text).split())
            if tag == "style":
                self.styles.append(text)
            elif tag == "script":
                self.scripts.append(text)
            else:
                self.headings.append((tag, text, self._slide))
            self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture or self._aside_depth:
            self._text.append(data)


def _read(deck: Path) -> _Deck:
    parser = _Deck()
    parser.feed(deck.read_text(encoding="utf-8"))
    return parser


def _css_references(css: str) -> list[str]:
    found = re.findall(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""", css)
    found += re.findall(r"""@import\s+['"]([^'"]+)['"]""", css)
    return found


@pytest.fixture(scope="module")
def decks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Decks of two labs, built into a folder of the test's own."""
    if not (REVEAL_PACKAGE / "package.json").exists():
        reason = (
            f"reveal.js is not installed in {REVEAL_PACKAGE.relative_to(SLIDES_DIR.parent.parent)}:"
            " run `make slides-deps` (npm ci --prefix setup/slides)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must install it before the tests (make test does).")
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("slides")
    build([SOLUTIONS / f"{name}.ipynb" for name in DECK_LABS], out)
    return {name: out / f"{name}.slides.html" for name in DECK_LABS}


# --- the lockfile and the notes in the solutions -------------------------------------------------


def test_the_lockfile_names_no_registry() -> None:
    text = (SLIDES_DIR / "package-lock.json").read_text()
    assert not re.search(r"https?://", text), "package-lock.json must not name a registry URL"
    lock = json.loads(text)
    assert not any("resolved" in entry for entry in lock["packages"].values()), (
        "package-lock.json must not record where packages were resolved (npm config "
        "omit-lockfile-registry-resolved=true)"
    )
    version = json.loads((SLIDES_DIR / "package.json").read_text())["dependencies"]["reveal.js"]
    assert re.fullmatch(r"[45]\.\d+\.\d+", version), f"pin reveal.js 4.x or 5.x exactly: {version}"
    assert lock["packages"]["node_modules/reveal.js"]["version"] == version


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_solution_has_speaker_notes_after_its_title(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    assert len(cells) > 1 and "notes" in cells[1].metadata.get("tags", []), (
        f"{path.name}: the cell after the title must be a markdown cell tagged 'notes' (what "
        "an instructor says on the title slide); add it with setup/add_speaker_notes.py"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notes_cells_are_markdown_that_follows_a_heading(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    for index, cell in enumerate(cells):
        if "notes" not in cell.metadata.get("tags", []):
            continue
        where = f"{path.name}, cell {index}"
        assert cell.cell_type == "markdown" and cell.source.strip(), f"{where}: empty or code"
        assert not re.search(r"^#", cell.source, re.MULTILINE), f"{where}: notes hold no heading"
        previous = cells[index - 1]
        assert previous.cell_type == "markdown" and re.search(
            r"^#{1,3} ", previous.source, re.MULTILINE
        ), f"{where}: a notes cell follows the markdown cell with its slide's heading"


# --- the decks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DECK_LABS)
def test_a_deck_has_a_slide_for_every_heading(decks: dict[str, Path], name: str) -> None:
    deck = decks[name]
    assert deck.exists() and deck.stat().st_size > 10_000
    parsed = _read(deck)
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    expected = [_words(h, 50) for h in re.findall(r"^## (.+)$", markdown, re.MULTILINE)]
    slide_of = {text: slide for tag, text, slide in parsed.headings if tag == "h2"}
    for heading in expected:
        assert heading in slide_of, f"{name}: no <h2> reads {heading!r}"
    slides = [slide_of[h] for h in expected]
    assert len(set(slides)) == len(slides), f"{name}: two '##' headings share a slide"
    first_h2 = {}
    for tag, text, slide in parsed.headings:
        if tag == "h2":
            first_h2.setdefault(slide, text)
    assert all(first_h2[slide_of[h]] == h for h in expected), "each '##' heading opens its slide"
    sections = deck.read_text(encoding="utf-8").count("<section")
    assert sections >= len(expected) + 1, "a <section> for the title and one per '##' heading"


@pytest.mark.parametrize("name", DECK_LABS)
def test_a_deck_carries_the_tagged_speaker_notes_on_their_slides(
    decks: dict[str, Path], name: str
) -> None:
    html = decks[name].read_text(encoding="utf-8")
    parsed = _read(decks[name])
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    tagged = [(i, c) for i, c in enumerate(nb.cells) if "notes" in c.metadata.get("tags", [])]
    assert tagged, f"{name} has notes cells"
    assert html.count('<aside class="notes">') == len(tagged)
    slide_of_heading = {text: slide for _, text, slide in parsed.headings}
    for index, cell in tagged:
        words = _words(cell.source)
        matches = [slide for text, slide in parsed.notes if text.startswith(words)]
        assert len(matches) == 1, f"{name}, cell {index}: note {words!r} is not in one <aside>"
        heading = [
            line for line in nb.cells[index - 1].source.split("\n") if re.match(r"#{1,3} ", line)
        ][-1]
        expected = slide_of_heading[_words(heading.lstrip("#"), 50)]
        assert matches[0] == expected, f"{name}, cell {index}: the note is on another slide"


@pytest.mark.parametrize("name", DECK_LABS)
def test_a_deck_opens_offline(decks: dict[str, Path], name: str) -> None:
    deck = decks[name]
    parsed = _read(deck)
    remote = [(tag, url) for tag, url in parsed.loaded if REMOTE.match(url)]
    assert not remote, f"{name} loads from the network: {remote}"
    for css in parsed.styles:
        assert not [u for u in _css_references(css) if REMOTE.match(u)], "inline CSS imports"
    local = {url for _, url in parsed.loaded if not url.startswith("data:")}
    assert {"reveal.js/dist/reveal.js", "reveal.js/plugin/notes/notes.js"} <= local
    checked: set[Path] = set()
    queue = [deck.parent / url.split("#")[0].split("?")[0] for url in local]
    while queue:  # the deck's files, and what their CSS imports in turn
        path = queue.pop().resolve()
        if path in checked:
            continue
        checked.add(path)
        assert path.is_file(), f"{name} references {path}, which is not there"
        if path.suffix == ".css":
            for url in _css_references(path.read_text(encoding="utf-8")):
                if url.startswith("data:"):
                    continue
                assert not REMOTE.match(url), f"{path.name} imports {url}"
                queue.append(path.parent / url.split("#")[0].split("?")[0])
    assert any(p.suffix == ".woff" for p in checked), "the theme's fonts are local files"
    scripts = {url for tag, url in parsed.loaded if tag == "script"}
    assert scripts == {"reveal.js/dist/reveal.js", "reveal.js/plugin/notes/notes.js"}, scripts
    for script in parsed.scripts:  # no loader, no MathJax, no module imports left inline
        for needle in ("require(", "MathJax", "import ", "$("):
            assert needle not in script, f"{name}: an inline script uses {needle!r}"


def test_links_to_other_labs_lead_to_their_decks(decks: dict[str, Path]) -> None:
    stems = {p.stem for p in NOTEBOOKS}
    for name, deck in decks.items():
        links = _read(deck).links
        assert not [a for a in links if a.endswith(".ipynb")], f"{name} links to a notebook"
        to_decks = [a for a in links if a.endswith(".slides.html")]
        assert to_decks, f"{name} links to the next lab's deck"
        for link in to_decks:
            assert link.removesuffix(".slides.html") in stems, f"{name}: no deck {link}"
    index = next(iter(decks.values())).parent / "index.html"
    assert all(f'href="{d.name}"' in index.read_text() for d in decks.values())


# --- the preprocessor and the notes tool, on small notebooks ------------------------------------


def _md(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _code(source: str, *outputs: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs)
    return cell


def test_headings_in_the_middle_of_a_cell_start_their_own_part() -> None:
    cell = _md("The end of step 1.\n\n## Step 2 — Next\n\nText.\n```\n## not a heading\n```")
    parts = split_at_headings(cell)
    assert [p.source.split("\n")[0] for p in parts] == ["The end of step 1.", "## Step 2 — Next"]
    assert "## not a heading" in parts[1].source
    assert parts[1]["id"] == f"{cell['id']}-h1"


def test_slide_types_follow_the_lab_anatomy() -> None:
    long_stream = nbformat.v4.new_output(
        "stream", name="stdout", text="".join(f"line {i}\n" for i in range(100))
    )
    widget = nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": {}, "text/plain": "w"}
    )
    nb = nbformat.v4.new_notebook(
        cells=[
            _md("# 99 — Title"),
            _md("Say hello.", ["notes"]),
            _code("import labs"),
            _md("Conclusion.\n\n## Step 1 — One"),
            _md("Point at it.", ["notes"]),
            _code("print(1)", long_stream),
            _md("Hidden from the deck.", ["skip-slides"]),
            _md("### Exercise 1 ★ — Try"),
            _code("w", widget),
        ],
        metadata={"widgets": {"state": {}}},
    )
    out, _ = SlideStructure(max_output_lines=10).preprocess(nb, {})
    types = [(c.source.split("\n")[0], c.metadata.slideshow.slide_type) for c in out.cells]
    assert types[:5] == [
        ("# 99 — Title", "slide"),
        ("Say hello.", "notes"),
        ("import labs", "-"),
        ("Conclusion.", "-"),
        ("## Step 1 — One", "slide"),
    ]
    assert ("Point at it.", "notes") in types and ("### Exercise 1 ★ — Try", "subslide") in types
    assert all("Hidden" not in c.source for c in out.cells)
    assert "widgets" not in out.metadata and "widgets" in nb.metadata  # a copy was changed
    printed = next(c for c in out.cells if c.source == "print(1)").outputs[0].text
    assert printed.count("\n") == 10 and "91 more lines" in printed
    shown = next(c for c in out.cells if c.source == "w").outputs[0].data
    assert list(shown) == ["text/plain"] and "interactive widget" in shown["text/plain"]


def test_adding_notes_is_idempotent_and_updates_in_place() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[_md("# 99 — Title"), _code("x = 1"), _md("Done.\n\n## Step 1 — One"), _code("y")]
    )
    notes = [Note("# 99 — Title", "Hello."), Note("## Step 1 — One", "Point at y.")]
    assert apply_notes(nb, notes) == 2
    assert [c.source for c in nb.cells if c.cell_type == "markdown"] == [
        "# 99 — Title",
        "Hello.",
        "Done.\n\n## Step 1 — One",
        "Point at y.",
    ]
    ids = [c["id"] for c in nb.cells]
    assert apply_notes(nb, notes) == 0 and [c["id"] for c in nb.cells] == ids
    assert apply_notes(nb, [Note("## Step 1 — One", "Point at y, twice.")]) == 1
    assert nb.cells[4].source == "Point at y, twice." and len(nb.cells) == 6
    nbformat.validate(nb)
    with pytest.raises(InputError, match="no markdown cells match"):
        find_heading_cell(nb.cells, "## Step 2 — Missing", "lab.ipynb")
