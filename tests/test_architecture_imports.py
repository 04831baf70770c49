"""The catalogue side starts without torch: ``import atlas``, ``from atlas import Catalog``,
the CLI and the app import no torch and no compute module that needs it.

Each check runs in a fresh interpreter (this test process has imported torch long ago)
and reports which heavy modules the import pulled in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from atlas import Catalog

ROOT = Path(__file__).resolve().parents[1]

# Compute modules that are torch-free on purpose (the CLI checks a dataset spec, or a
# comparison's stimulus set, when it queues a job); any other ``atlas.compute`` module
# means compute code came in eagerly.
TORCH_FREE_COMPUTE = {"atlas.compute", "atlas.compute.datasets", "atlas.compute.datasets.spec",
                      "atlas.compute.datasets.sweep_spec", "atlas.compute.datasets.package_spec",
                      "atlas.compute.datasets.stimuli"}

REPORT = """
import json, sys
heavy = sorted(name for name in sys.modules
               if name.split(".")[0] in ("torch", "torchvision", "safetensors")
               or (name.startswith("atlas.compute") and name not in TORCH_FREE))
print(json.dumps(heavy))
"""


def _heavy_imports(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The heavy modules loaded after running ``code`` in a fresh interpreter."""
    script = f"TORCH_FREE = {sorted(TORCH_FREE_COMPUTE)!r}\n{code}\n{REPORT}"
    # The user comes from ATLAS_USER here, not from whatever ATLAS_AUTH the shell has.
    inherited = {key: value for key, value in os.environ.items() if key != "ATLAS_AUTH"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**inherited, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import atlas",
    "from atlas import Catalog",
    "import atlas.registry, atlas.errors, atlas.address, atlas.text",
    "import atlas.cli, atlas.cli.compute, atlas.cli.exchange, atlas.cli.jobs",
    "import atlas.compute.datasets.spec",
])
def test_catalogue_side_imports_no_torch(code: str):
    assert _heavy_imports(code) == []


def test_cli_help_starts_without_torch():
    code = ("import sys\nfrom atlas.cli import main\nsys.argv = ['atlas', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    assert _heavy_imports(code) == []


def test_the_app_runs_without_torch(catalog: Catalog, db_url: str, blob_dir: str):
    """Every page of the app renders in a process that never imports torch."""
    code = f"""
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(ROOT / "app" / "main.py")!r}, default_timeout=60).run()
assert not at.exception, at.exception
for page in ("home", "layer", "unit", "circuit", "search", "review", "jobs"):
    at.switch_page(f"views/{{page}}.py").run()
    assert not at.exception, (page, at.exception)
"""
    env = {"ATLAS_DATABASE_URL": db_url, "ATLAS_BLOB_URL": blob_dir, "ATLAS_USER": "alice"}
    assert _heavy_imports(code, env) == []
