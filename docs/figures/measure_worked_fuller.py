"""The worked example of docs/models.md rerun at the fuller settings, as pre-registered
there before it ran: the same two units (unit 0 of ``WORKED``'s layers), the same
commands and the same rule ("far above": ``vis - mean > 2 x (max - mean)``, the unit's
spatial-mean pre-activation on its own visualization against the 26 distinct photographs
of ``package:skimage``), changing only the visualization to the models' native 224 px
and the library's default 512 steps, with the photographs at 224 px too.

The protocol (commands, measure, rule, and now the fuller settings) is imported from the
test that runs the worked example (``tests/compute/test_real_worked_example.py``), so the
two cannot drift apart. Writes ``worked_fuller.md`` and ``worked_fuller.png`` (the four
visualizations: each unit at 128 px / 256 steps and at 224 px / 512 steps) next to this
file. Run from the repository root (minutes on a CPU):
``PYTHONPATH=. python docs/figures/measure_worked_fuller.py``.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "compute")]
from test_real_worked_example import FAR_ABOVE, SIZE, STEPS, WORKED, unit_means  # noqa: E402

from atlas import Catalog  # noqa: E402
from atlas.cli import main as atlas_main  # noqa: E402
from atlas.compute.datasets.folder import to_tensor  # noqa: E402
from atlas.compute.datasets.spec import open_dataset, parse_dataset  # noqa: E402
from atlas.compute.registration import load_registered  # noqa: E402
from examples.weights import fetch  # noqa: E402

OUT = Path(__file__).parent
EARLIER = (128, 256)  # (size, steps): the worked example's first settings
SETTINGS = (EARLIER, (SIZE, STEPS))  # then the pre-registered rerun's, which the test now uses


@dataclass(frozen=True)
class Measured:
    name: str
    size: int
    steps: int
    on_vis: float
    mean: float
    best: float
    image: Image.Image
    seconds: float

    @property
    def ratio(self) -> float:
        return (self.on_vis - self.mean) / (self.best - self.mean)

    @property
    def met(self) -> bool:
        return self.on_vis - self.mean > FAR_ABOVE * (self.best - self.mean)


def run_atlas(root: Path, *args: str) -> None:
    """One ``atlas`` command on the catalogue under ``root``; a failure ends the run."""
    code = atlas_main(["--db", f"sqlite:///{root}/atlas.db", "--blobs", str(root / "blobs"), *args])
    if code != 0:
        raise SystemExit(f"atlas {' '.join(args)} failed ({code})")


def run(name: str, size: int, steps: int) -> Measured:
    """The worked example's commands for one model at one setting, then the rule's numbers."""
    w = WORKED[name]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_atlas(root, "init", "--admin", "ada")
        as_ada = (root, "--user", "ada")
        run_atlas(*as_ada, "model", "add", w.name, "--arch", w.arch, "--weights", str(fetch(w.weights)),
                  *w.preprocess, "--layers", *w.layers)
        run_atlas(*as_ada, "compute", "vis", "--model", w.name, "--layer", w.layer, "--units", "0",
                  "--size", str(size), "--steps", str(steps))
        catalog = Catalog.open(f"sqlite:///{root}/atlas.db", str(root / "blobs"), user="ada")
        try:
            (vis,) = catalog.artifacts(f"{w.name}/{w.layer}/0", "vis.channel")
            image = catalog.blobs.get_png(vis.blobs["image"]).convert("RGB")
            model = load_registered(catalog, w.name, "cpu")
        finally:
            catalog.close()
    on_vis = float(unit_means(model, w.layer, 0, to_tensor(image)[None])[0])
    on_photos = unit_means(model, w.layer, 0, open_dataset(parse_dataset("package:skimage:26", size)))
    return Measured(name, size, steps, on_vis, float(on_photos.mean()), float(on_photos.max()), image,
                    time.monotonic() - started)


def table(rows: list[Measured]) -> list[str]:
    lines = ["| unit | size, steps | on its visualization | photographs: mean | max | (vis - mean) / (max - mean) "
             "| rule | time |", "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for m in rows:
        w = WORKED[m.name]
        lines.append(f"| `{w.name}/{w.layer}/0` | {m.size} px, {m.steps} | {m.on_vis:.3f} | {m.mean:.3f} | "
                     f"{m.best:.3f} | {m.ratio:.2f} | {'met' if m.met else '**not met**'} | {m.seconds:.0f} s |")
    return lines


def strip(rows: list[Measured], height: int = 224) -> Image.Image:
    """The visualizations side by side at one height, each captioned with its setting."""
    sheet = Image.new("RGB", (height * len(rows), height + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for i, m in enumerate(rows):
        sheet.paste(m.image.resize((height, height), Image.Resampling.LANCZOS), (i * height, 20))
        draw.text((i * height + 4, 4), f"{m.name} {m.size}px {m.steps} steps, ratio {m.ratio:.2f}", fill="black")
    return sheet


def main() -> None:
    os.environ.setdefault("ATLAS_ALLOWED_FACTORY_MODULES", "examples")
    rows = []
    for name in WORKED:
        for size, steps in SETTINGS:
            rows.append(run(name, size, steps))
            print(table(rows)[-1], flush=True)
    lines = ["# The worked example at 128 px / 256 steps and at 224 px / 512 steps", "",
             "Written by `docs/figures/measure_worked_fuller.py` (the pre-registered rerun of docs/models.md).",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}; "
             "times are loose (a shared machine), the values do not depend on load.", "", *table(rows), ""]
    (OUT / "worked_fuller.md").write_text("\n".join(lines))
    strip(rows).save(OUT / "worked_fuller.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
