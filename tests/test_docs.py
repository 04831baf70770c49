"""docs/architecture.md stays true: every path and module it names exists in the tree;
and every image a document embeds (``![caption](figures/x.png)``) is there.

A moved or renamed module fails here until the document follows it, so the folder map
and the data-flow walk-through cannot drift from the code unnoticed. Only the source is
read (no imports: naming a compute module must not load torch).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# Paths inside the repository that the document may name.
PATH_ROOTS = ("atlas/", "app/", "tests/", "migrations/", "docs/", "examples/")
CODE = re.compile(r"`([^`\n]+)`")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
DOCUMENTS = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


def named_in(doc: Path) -> list[str]:
    """Every span in backticks, in order, without duplicates."""
    return list(dict.fromkeys(CODE.findall(doc.read_text(encoding="utf-8"))))


def paths_in(doc: Path) -> list[str]:
    return [span for span in named_in(doc) if span.startswith(PATH_ROOTS) and " " not in span]


def dotted_in(doc: Path) -> list[str]:
    """`atlas.x.y` names, with a call's parentheses and arguments dropped."""
    names = (re.match(r"atlas(\.\w+)+", span) for span in named_in(doc))
    return list(dict.fromkeys(m.group(0) for m in names if m))


def module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def defines(source: Path, name: str) -> bool:
    """The module defines or imports ``name`` (a class, function, constant or re-export)."""
    text = source.read_text(encoding="utf-8")
    return re.search(rf"(^|\s)(def|class)\s+{name}\b|^{name}\s*[:=]|\bimport\b.*\b{name}\b", text, re.M) is not None


def test_the_architecture_doc_names_paths_and_modules():
    """The checks below must have something to check."""
    assert len(paths_in(ARCHITECTURE)) > 20
    assert len(dotted_in(ARCHITECTURE)) > 3


@pytest.mark.parametrize("path", paths_in(ARCHITECTURE))
def test_every_named_path_exists(path: str):
    assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which is not in the tree"
    if path.endswith("/") and path.startswith("atlas/"):
        assert (ROOT / path / "__init__.py").is_file(), f"{path} is named as a package but has no __init__.py"


@pytest.mark.parametrize("name", dotted_in(ARCHITECTURE))
def test_every_named_module_exists(name: str):
    """``atlas.a.b.C``: the longest prefix that is a module exists, and defines the rest's
    first name (``atlas.catalog.resolve.get_feature``: resolve.py defines get_feature)."""
    parts = name.split(".")
    for cut in range(len(parts), 1, -1):
        source = module_file(parts[:cut])
        if source is not None:
            break
    else:
        pytest.fail(f"docs/architecture.md names {name}, but no module {'.'.join(parts[:2])} exists")
    if cut < len(parts):
        assert defines(source, parts[cut]), f"docs/architecture.md names {name}: {source.name} has no {parts[cut]}"


def test_the_readme_links_the_architecture_doc():
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def embedded_images() -> list[tuple[str, str]]:
    """(document, image path) for every image a document embeds from the tree."""
    return [(str(doc.relative_to(ROOT)), target) for doc in DOCUMENTS
            for target in IMAGE.findall(doc.read_text(encoding="utf-8")) if "://" not in target]


def test_the_documents_embed_images():
    """The check below must have something to check (docs/app.md's screenshots among them)."""
    assert ("docs/app.md", "figures/app/home.png") in embedded_images()


@pytest.mark.parametrize(("doc", "target"), embedded_images())
def test_every_embedded_image_exists(doc: str, target: str):
    assert ((ROOT / doc).parent / target).is_file(), f"{doc} embeds {target}, which is not in the tree"
