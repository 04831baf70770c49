"""One registry pattern (atlas.registry) and the four extension points built on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atlas.errors import InvalidInput, NotFound
from atlas.registry import Registry, resolve_target

ROOT = Path(__file__).resolve().parents[1]


def first_handler(ctx: object) -> None:
    """A stand-in extension object (a plain function, registered by name)."""


def second_handler(ctx: object) -> None:
    """Another one, to clash with the first."""


def test_register_get_names_and_the_decorator_form():
    things: Registry = Registry("thing")
    assert things.register("b", first_handler) is first_handler

    @things.register("a")
    def decorated(ctx: object) -> None:
        """Registered by the decorator."""

    assert things.get("a") is decorated and things.get("b") is first_handler
    assert things.names() == ["a", "b"] and things.names(sort=False) == ["b", "a"]
    assert "a" in things and "zz" not in things and ["x"] not in things


def test_a_clash_is_one_line_and_the_same_object_again_is_not_a_clash():
    things: Registry = Registry("thing")
    things.register("a", first_handler)
    things.register("a", first_handler)  # a re-imported module registers again: harmless
    with pytest.raises(InvalidInput, match=r"^thing 'a' is already registered by (tests\.)?test_registry\."
                                           r"first_handler$"):
        things.register("a", second_handler)
    assert things.get("a") is first_handler
    with pytest.raises(InvalidInput, match="invalid thing name ''"):
        things.register("", first_handler)


def test_an_unknown_name_is_one_line_listing_the_known_ones():
    things: Registry = Registry("thing", hint=", or module:factory")
    things.register("b", first_handler)
    things.register("a", second_handler)
    with pytest.raises(NotFound) as err:
        things.get("c")
    assert str(err.value) == "unknown thing 'c'; known: a, b, or module:factory"
    formats: Registry = Registry("format", error=InvalidInput)
    with pytest.raises(InvalidInput, match=r"unknown format 'xxxx.*\.\.\.; known: none$"):
        formats.get("x" * 10_000)  # a hostile name is cut, not echoed whole
    with pytest.raises(InvalidInput, match="unknown format"):
        formats.get(["not", "hashable"])  # type: ignore[arg-type]


def test_lazy_entries_and_builtin_modules_are_imported_on_first_lookup(tmp_path, monkeypatch):
    (tmp_path / "regtest_points.py").write_text(
        "from atlas.registry import Registry\nPLUGINS = Registry('plugin', ['regtest_builtin'])\n")
    (tmp_path / "regtest_builtin.py").write_text(
        "from regtest_points import PLUGINS\nPLUGINS.register('from-module', len)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("regtest_points", "regtest_builtin"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import regtest_points

    plugins = regtest_points.PLUGINS
    plugins.register_lazy("joined", "os.path:join")
    assert "regtest_builtin" not in sys.modules  # nothing imported yet
    assert plugins.names() == ["from-module", "joined"]
    assert "regtest_builtin" in sys.modules
    import os.path

    assert plugins.get("joined") is os.path.join and plugins.get("from-module") is len
    with pytest.raises(InvalidInput, match="use package.module:attribute"):
        plugins.register_lazy("bad", "no-colon")
    assert resolve_target("os.path:join") is os.path.join


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_job_kinds_load_their_builtin_modules_on_first_lookup():
    """A worker that never called import_kind_modules still finds the built-in kinds."""
    out = _fresh("import sys\nfrom atlas.jobs.runtime.kinds import handler_for, registered_kinds\n"
                 "assert 'atlas.compute.connections.jobs' not in sys.modules\n"
                 "print(handler_for('connections').__name__, 'examples' in registered_kinds())")
    assert out.splitlines()[-1].split()[1] == "True"


def test_the_four_extension_points_are_registries():
    from atlas.compute.datasets.spec import DATASET_KINDS, check_dataset
    from atlas.compute.models import ARCHITECTURES, get_architecture
    from atlas.exchange.export import EXPORTERS, FORMATS, render
    from atlas.jobs.runtime.kinds import KINDS, handler_for

    assert {"inceptionv1", "demo"} <= set(ARCHITECTURES.names())
    assert DATASET_KINDS.names() == ["folder", "package", "synthetic"]
    assert {"connections", "examples"} <= set(KINDS.names())
    assert FORMATS == ("json", "graphml", "cytoscape", "dot", "svg", "png") == tuple(EXPORTERS.names(sort=False))
    with pytest.raises(NotFound, match="unknown architecture 'resnet9'; known: .*inceptionv1.*, or module:factory"):
        get_architecture("resnet9")
    with pytest.raises(InvalidInput, match="unknown dataset kind 'url'; known: folder, package, synthetic"):
        check_dataset({"kind": "url", "size": 64})
    with pytest.raises(InvalidInput, match="unknown export format 'pdf'; known: cytoscape, dot"):
        render(None, "pdf")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="no job kind 'nope' in this worker"):
        handler_for("nope")
