"""Reading the documentation as its tests do: the pages, their links and anchors, and the
fenced blocks a page marks for running (`<!-- test … -->` just before the block).

Importable as `docpages` from the tests of this folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MARK = re.compile(r"^<!--\s*test(?::\s*(.*?))?\s*-->\s*$")


def prose(text: str) -> list[tuple[int, str]]:
    """The lines of `text` outside fenced code blocks, with their numbers."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link and image of `page` (code spans left out)."""
    found = []
    for number, line in prose(page.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)
        found += [(number, m.group(1)) for m in _LINK.finditer(line)]
    return found


def anchors(page: Path) -> set[str]:
    """The anchors of `page`'s headings, as GitHub and MkDocs make them (both accepted)."""
    found = set()
    for _, line in prose(page.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if match:
            title = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", match.group(2)).strip()
            found.add(_github_slug(title))
            found.add(_mkdocs_slug(title))
    return found


def _github_slug(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _mkdocs_slug(title: str) -> str:
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", title).strip().lower())


@dataclass
class Block:
    """A fenced block marked `<!-- test -->` (run), `<!-- test: settings -->` (replaced by the
    test's values) or `<!-- test: background [until URL] -->` (started, then waited for)."""

    line: int
    language: str
    code: str
    mark: str  # "run", "settings" or "background"
    until: str | None = None


def marked_blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks = []
    for index, line in enumerate(lines):
        mark = _MARK.match(line.strip())
        if not mark:
            continue
        fence = lines[index + 1] if index + 1 < len(lines) else ""
        if not fence.startswith("```"):
            raise AssertionError(f"{page.name}:{index + 1}: a test mark not above a fenced block")
        end = next(i for i in range(index + 2, len(lines)) if lines[i].startswith("```"))
        words = (mark.group(1) or "run").split()
        until = words[2] if len(words) == 3 and words[1] == "until" else None
        blocks.append(
            Block(index + 2, fence[3:].strip(), "\n".join(lines[index + 2 : end]), words[0], until)
        )
    return blocks


def exported_names(code: str) -> list[str]:
    """The variables a settings block exports (`export A=1 B="x y"` counts A and B)."""
    names = []
    for line in code.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("export "):
            names += re.findall(r"(?:^|\s)([A-Z_][A-Z0-9_]*)=", line[len("export ") :])
    return names
