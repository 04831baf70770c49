"""The second, pre-registered search for a demo circuit that holds against its control
(docs/experiments.md, "A second search, pre-registered"); every constant below was fixed
in that text, committed before the first run, and is never changed to make a claim pass.

    python seed_data/measure_demo_circuits_2.py

For each demo model: the ``conv4`` unit most selective on the clean ``curve_orientation``
sweep among those with a real dynamic range, its top ``TOP`` ``conv2`` inputs by net
expanded weight, and the claim "ablating them lowers the unit's response to its preferred
stimulus by at least half, and a matched control does not, nor by half as much", run as
an ``experiment`` job through a catalogue on a scratch SQLite database (the path `make
demo` takes). Every result is printed with its experiment, held or not.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from atlas.catalog import Catalog
from atlas.compute.connections.linear import expanded_kernels
from atlas.compute.demo_atlas import DEMO_MODELS, register_demo_models
from atlas.compute.models import load_model
from atlas.compute.run import run_jobs
from atlas.compute.tuning import tuning_curves

LAYER, SOURCE, SWEEP, STEPS, SIZE = "conv4", "conv2", "curve_orientation", 36, 64
MIN_RANGE, TOP, DROP, CONTROL_DRAWS, SAMPLES, HELD_OUT_SEED = 0.5, 8, -0.5, 3, 8, 2


def chosen_unit(model, name: str) -> tuple[int, float, dict]:  # noqa: ANN001
    """The most selective unit with peak > 0 and peak - min >= ``MIN_RANGE`` x peak."""
    summaries = tuning_curves(model, LAYER, {"sweep": SWEEP, "steps": STEPS}, size=SIZE).summaries()
    eligible = [u for u, s in enumerate(summaries) if s["peak"] > 0 and s["peak"] - s["min"] >= MIN_RANGE * s["peak"]]
    unit = max(eligible, key=lambda u: summaries[u]["selectivity"])
    return unit, summaries[unit]["preferred"], summaries[unit] | {"eligible": len(eligible)}


def top_inputs(model, unit: int) -> list[int]:  # noqa: ANN001
    """The ``TOP`` source units with the largest net expanded weight into ``unit``."""
    kernels = expanded_kernels(model, SOURCE, LAYER, SIZE, units=[unit])[0].detach()
    return kernels.sum((1, 2)).argsort(descending=True)[:TOP].tolist()


def experiment(name: str, unit: int, preferred: float, inputs: list[int]) -> dict:
    return {"intervention": {"kind": "ablate_units", "mode": "zero", "units": [f"{name}/{SOURCE}/{i}" for i in inputs]},
            "stimuli": {"sweep": SWEEP, "steps": STEPS, "samples": SAMPLES, "seed": HELD_OUT_SEED, "size": SIZE},
            "measure": {"unit": f"{name}/{LAYER}/{unit}", "reduce": "max", "site": "post"},
            "prediction": [{"condition": f"{preferred:g}", "op": "<=", "value": DROP}],
            "control": {"draws": CONTROL_DRAWS}, "seed": 0}


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="atlas-search2-"))
    catalog = Catalog.init(f"sqlite:///{scratch / 'atlas.db'}", str(scratch / "blobs"), admin="search")
    register_demo_models(catalog)
    for name in DEMO_MODELS:
        model, _info = load_model(name)
        unit, preferred, summary = chosen_unit(model, name)
        inputs = top_inputs(model, unit)
        spec = experiment(name, unit, preferred, inputs)
        circuit = f"{name}-search2"
        catalog.create_circuit(circuit, "pre-registered search 2")
        claim = catalog.add_claim(circuit, "ablating the top 8 conv2 inputs halves the preferred response", spec)
        claim_id = claim.claims[-1].id
        run_jobs(catalog, catalog.enqueue_experiments(circuit, claim_id), ("experiment",), "cpu",
                 description=circuit)
        run = catalog.claim_results(claim_id)[0]
        [comparison] = run.result["comparisons"]
        specific = comparison["control"] is not None and comparison["measured"] is not None \
            and comparison["control"] > comparison["measured"] / 2  # its drop, if any, under half
        held = run.verdict == "held" and specific
        print(json.dumps({"unit": f"{name}/{LAYER}/{unit}", "summary": summary, "inputs": inputs,
                          "executor": run.result["summary"], "comparison": comparison,
                          "controls": run.result["controls"], "control_under_half": specific,
                          "verdict": "held" if held else run.verdict if run.verdict != "held" else "refuted"}))
        print("EXPERIMENT", json.dumps(spec))


if __name__ == "__main__":
    main()
