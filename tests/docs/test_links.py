"""Every relative link of README.md and docs/*.md leads to a file that exists, and every anchor
to a heading of the page it names; every page of docs/ is in MkDocs' navigation."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
import yaml
from docpages import DOCS, PAGES, ROOT, anchors, links


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for line, target in links(page):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = unquote(target).partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_relative_to(ROOT):
            broken.append(f"{page.name}:{line}: {target}: outside the repository")
        elif not file.exists():
            broken.append(f"{page.name}:{line}: {target}: no such file")
        elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
            broken.append(f"{page.name}:{line}: {target}: no heading #{anchor}")
    assert broken == []


def test_the_checker_sees_a_broken_link_and_a_broken_anchor(tmp_path):
    (tmp_path / "a.md").write_text(
        "# Title\n\n## Two words\n\nSee [b](b.md) and [x](#two-words).\n"
    )
    page = tmp_path / "b.md"
    page.write_text("[gone](c.md) [ok](a.md#two-words) [bad](a.md#three) `[code](d.md)`\n")
    assert [t for _, t in links(page)] == ["c.md", "a.md#two-words", "a.md#three"]
    assert "two-words" in anchors(tmp_path / "a.md") and "three" not in anchors(tmp_path / "a.md")


def _nav_files(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return []


def test_every_docs_page_is_in_the_mkdocs_nav_and_every_nav_entry_exists():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    listed = _nav_files(config["nav"])
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    missing = sorted(set(pages) - set(listed))
    assert missing == [], f"add {missing} to the nav of mkdocs.yml"
    assert sorted(set(listed) - set(pages)) == []
    assert len(listed) == len(set(listed))
