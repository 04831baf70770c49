"""Figures and table of docs/science.md, "Universality in the demo models": do the two
shipped demo CNNs share features beyond what untrained networks of the same design share?

For every layer pair at the same depth (``convK`` of ``demo`` with ``convK`` of
``demo-b``) it counts the units of one model whose best partner in the other has a pooled
pre-activation correlation of at least 0.8, 0.6 and 0.4, both ways, next to the same
count against a CONTROL: the other model's architecture at its random initialization
(``untrained_demo``, seed ``CONTROL_SEED``, chosen before measuring), so that both counts
draw each unit's best partner from the same number of candidates. Redundancy (several
units sharing one best partner) is counted too. The stimuli are those ``atlas compare``
uses: ``synthetic:2000`` plus every registered tuning sweep at 36 steps, streamed through
the models by the library functions ``atlas compare`` runs (``measure``, ``correlation``,
``cka_matrix``, ``plot_cka``).

Writes ``universality_demo.md`` (the tables), ``cka_demo_demo-b.png`` and
``cka_demo_control.png`` next to this file. With ``--save-control DIR`` it also writes
the control's weights (``demo-b-random.safetensors``), so that the control can be
registered and compared in a catalogue:
``atlas model add demo-b-random --arch demo-b --weights DIR/demo-b-random.safetensors``.

Run from the repository root: ``python docs/figures/measure_universality.py`` (one CPU
minute; four minutes of wall time on a busy two-core machine).
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from atlas.compute.datasets.spec import parse_dataset
from atlas.compute.datasets.sweep_spec import SWEEPS, check_sweep, parse_sweep
from atlas.compute.models import load_model
from atlas.compute.models.demo_cnn import INPUT_SIZE, untrained_demo
from atlas.compute.universality.assignment import match, partners_above, redundancy
from atlas.compute.universality.cka import cka_matrix
from atlas.compute.universality.measure import ChunkMoments, Side, blocks, measure, part_images
from atlas.compute.universality.moments import correlation
from atlas.compute.universality.plot import plot_cka

OUT = Path(__file__).parent
LAYERS = [f"conv{i}" for i in range(1, 6)]
THRESHOLDS = (0.8, 0.6, 0.4)
REDUNDANCY_AT = 0.6
CONTROL_SEED = 2  # demo was trained from seed 0, demo-b from seed 1
DATASET, SWEEP_STEPS = "synthetic:2000", "36"


def stimuli() -> Iterator[torch.Tensor]:
    """The shared stimulus set, in batches at the demo's input size."""
    yield from part_images({"dataset": parse_dataset(DATASET, INPUT_SIZE), "start": 0, "stop": None}, INPUT_SIZE)
    for name in SWEEPS.names():
        yield from part_images({"sweep": check_sweep({**parse_sweep(name, SWEEP_STEPS), "size": INPUT_SIZE})},
                               INPUT_SIZE)


def moments(a: nn.Module, b: nn.Module) -> ChunkMoments:
    return measure(Side(a, INPUT_SIZE, LAYERS, LAYERS[-1]), Side(b, INPUT_SIZE, LAYERS, LAYERS[-1]),
                   stimuli(), "cpu")


class Pooled:
    """The pooled correlations of every layer pair of two models, from their moments."""

    def __init__(self, stats: ChunkMoments):
        self.images = stats.pooled.n
        _mean, self.comoment = stats.pooled.arrays()
        self.blocks_a = blocks(stats.widths_a)
        self.blocks_b = blocks(stats.widths_b, sum(stats.widths_a))

    def flipped(self) -> Pooled:
        """The same correlations seen from B (B's units as rows)."""
        flipped = copy.copy(self)
        flipped.blocks_a, flipped.blocks_b = self.blocks_b, self.blocks_a
        return flipped

    def corr(self, i: int, j: int) -> np.ndarray:
        """Rows: units of A's layer ``i``; columns: units of B's layer ``j``."""
        a, b, m = self.blocks_a[i], self.blocks_b[j], self.comoment
        return correlation(m[a, b], np.diag(m[a, a]), np.diag(m[b, b]))

    def cka(self) -> np.ndarray:
        return cka_matrix(self.comoment, self.blocks_a, self.blocks_b)


def shared(corr: np.ndarray) -> str:
    """Redundancy: the columns that are the best partner (>= REDUNDANCY_AT) of several rows,
    as 'column x count'."""
    counts = redundancy(match(corr).best_a, corr.shape[1], REDUNDANCY_AT)
    many = sorted(((int(c), int(n)) for c, n in enumerate(counts) if n > 1), key=lambda cn: (-cn[1], cn[0]))
    return ", ".join(f"{c}×{n}" for c, n in many) or "-"


def fmt(counts: list[int], control: list[int], units: int) -> str:
    return " · ".join(f"**{n}**/{c}" if n > c else f"{n}/{c}" for n, c in zip(counts, control)) + f" (of {units})"


def table(trained: Pooled, control: Pooled, names: tuple[str, str, str]) -> list[str]:
    """Rows of the same-depth table: A's units with a partner in B, against A's units with
    a partner in the control of B's architecture."""
    a, b, c = names
    head = " · ".join(f"r ≥ {t}" for t in THRESHOLDS)
    lines = [f"| layer | units of {a} with a partner in {b} / in {c}: {head} | "
             f"redundancy in {b} (unit×{a} units sharing it, r ≥ {REDUNDANCY_AT}) | same, in {c} |",
             "| --- | --- | --- | --- |"]
    for i, layer in enumerate(LAYERS):
        real, ctrl = trained.corr(i, i), control.corr(i, i)
        lines.append(f"| {layer} | {fmt(partners_above(real, THRESHOLDS), partners_above(ctrl, THRESHOLDS), len(real))}"
                     f" | {shared(real)} | {shared(ctrl)} |")
    return lines


def all_pairs(trained: Pooled, control: Pooled, names: tuple[str, str], threshold: float) -> list[str]:
    """Every layer pair: A's units with a partner at or above ``threshold``, trained / control."""
    lines = [f"| {names[0]} \\ {names[1]} | " + " | ".join(LAYERS) + " |", "|---" * (len(LAYERS) + 1) + "|"]
    for i, layer in enumerate(LAYERS):
        cells = [f"{partners_above(trained.corr(i, j), [threshold])[0]}/"
                 f"{partners_above(control.corr(i, j), [threshold])[0]}" for j in range(len(LAYERS))]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save-control", type=Path, help="also write the control's weights to this folder")
    args = parser.parse_args()
    torch.set_num_threads(2)
    started = time.monotonic()
    demo, demo_b = load_model("demo")[0], load_model("demo-b")[0]
    random_demo, random_b = untrained_demo("demo", CONTROL_SEED), untrained_demo("demo-b", CONTROL_SEED)
    if args.save_control:
        args.save_control.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in random_b.state_dict().items()},
                  str(args.save_control / "demo-b-random.safetensors"))
    ab, a_ctrl = Pooled(moments(demo, demo_b)), Pooled(moments(demo, random_b))
    b_ctrl = Pooled(moments(demo_b, random_demo))
    ba, images = ab.flipped(), ab.images
    control_a, control_b = f"untrained demo-b (seed {CONTROL_SEED})", f"untrained demo (seed {CONTROL_SEED})"
    for name, pooled, columns in (("cka_demo_demo-b.png", ab, "demo-b"), ("cka_demo_control.png", a_ctrl, control_a)):
        title = f"linear CKA, demo (rows) ~ {columns} (columns), {images} images"
        plot_cka(pooled.cka(), LAYERS, LAYERS, title).save(OUT / name)
    lines = [f"Stimuli: {DATASET} and the {len(SWEEPS.names())} tuning sweeps at {SWEEP_STEPS} steps "
             f"({images} images); pooled pre-activation correlation, best partner. "
             f"Cells: trained / control, bold where the trained pair has more.", "",
             *table(ab, a_ctrl, ("demo", "demo-b", control_a)), "",
             *table(ba, b_ctrl, ("demo-b", "demo", control_b)), "",
             f"Every layer pair, units of demo with a partner at r ≥ 0.6 in each layer of demo-b / of {control_a}:", "",
             *all_pairs(ab, a_ctrl, ("demo", "demo-b"), 0.6), "",
             "CKA (same-depth layers): " + ", ".join(
                 f"{layer} {ab.cka()[i, i]:.2f} (control {a_ctrl.cka()[i, i]:.2f})" for i, layer in enumerate(LAYERS)),
             ""]
    (OUT / "universality_demo.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
