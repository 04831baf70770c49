"""The experiment schema: a runnable spec passes, a malformed or hostile one is refused
with one line before anything runs."""

import copy

import pytest

from atlas.errors import InvalidInput
from atlas.experiments.spec import check_experiment, experiment_model

GOOD = {
    "intervention": {"kind": "edit_edges", "scale": 0.0, "edges": [["m/edges/0", "m/sum/0"]]},
    "stimuli": {"sweep": "orientation", "steps": 4, "samples": 8},
    "measure": {"unit": "m/sum/0", "reduce": "max", "site": "post"},
    "prediction": [{"condition": "0", "op": "<=", "value": -0.5}, {"condition": "!0", "op": "abs<=", "value": 0.1}],
    "control": {"draws": 2},
    "seed": 3,
}


def changed(path: str, value: object) -> dict:
    spec = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = spec
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return spec


def test_a_runnable_spec_passes_and_names_its_model():
    assert check_experiment(copy.deepcopy(GOOD)) == GOOD
    assert experiment_model(GOOD) == "m"
    units = changed("intervention", {"kind": "ablate_units", "units": ["m/edges/1", "m/edges/2"], "mode": "mean"})
    assert experiment_model(check_experiment(units)) == "m"
    steer = changed("intervention", {"kind": "steer", "direction": {"layer": "m/edges", "vector": [1, 0, 0, 0]},
                                     "scale": 2.5})
    check_experiment(steer)
    plain = changed("intervention", {"kind": "none"})
    plain["prediction"] = [{"condition": "0", "of": "response", "op": ">=", "value": 1.0}]
    plain["measure"] = {"logit": "circle"}
    check_experiment(plain)
    assert experiment_model(plain) is None
    check_experiment(changed("stimuli", {"dataset": {"kind": "synthetic", "n": 90, "seed": 1, "size": 64}}))
    check_experiment(changed("control", False))


HOSTILE = [
    (changed("intervention.kind", "rm -rf"), "intervention kind must be one of"),
    (changed("intervention.edges", [["m/edges/0", "other/sum/0"]]), "another layer of the same model"),
    (changed("intervention.edges", [["m/edges/0", "m/sum/0"], ["m/a/0", "m/sum/0"]]), "one source layer to one"),
    (changed("intervention.edges", [["m/sum/1", "m/sum/0"]]), "another layer of the same model"),
    (changed("intervention.edges", [["m/edges/0", "m/sum/0"]] * 2), "edited twice"),
    (changed("intervention.edges", [["../../etc/passwd", "m/sum/0"]]), "invalid"),
    (changed("intervention.edges", [["m/edges/dir:x", "m/sum/0"]]), "must be a unit"),
    (changed("intervention.edges", []), "list of 1 to"),
    (changed("intervention.edges", [["m/edges/0", "m/sum/0"]] * 300), "list of 1 to 256"),
    (changed("intervention.scale", float("nan")), "finite number"),
    (changed("intervention.scale", -1), "from 0 to"),
    (changed("intervention.units", ["m/a/1"]), "unknown fields"),
    (changed("stimuli", {"sweep": "orientation", "steps": 10**9}), "sweep steps"),
    (changed("stimuli", {"sweep": "curvature"}), "the sweep must be one of"),
    (changed("stimuli", {"sweep": "orientation", "steps": 360, "samples": 1000}), "more than 20,000"),
    (changed("stimuli", {"dataset": {"kind": "synthetic", "n": 10**6, "size": 64}}), "at most 20,000"),
    (changed("stimuli", {"dataset": {"kind": "folder", "path": "/nonexistent\x00", "size": 64}}), "folder"),
    (changed("measure", {"unit": "m/sum/0", "direction": {"layer": "m/sum", "vector": [1]}}), "exactly one"),
    (changed("measure.site", "middle"), "measurement site"),
    (changed("measure.unit", "other/sum/0"), "one model"),
    (changed("prediction", []), "list of 1 to"),
    (changed("prediction.0.op", "=="), "op must be one of"),
    (changed("prediction.0.value", float("inf")), "finite number"),
    (changed("prediction.0.condition", "x" * 1000), "condition name"),
    (changed("prediction.0.condition", "a\nb"), "condition name"),
    (changed("prediction.0.of", "__import__"), "compares must be one of"),
    (changed("control", {"draws": 10**6}), "control draws"),
    (changed("control", True), "the control"),
    (changed("seed", -1), "seed"),
    (changed("intervention", {"kind": "steer", "direction": {"layer": "m/sum", "vector": [0, 0]}}), "zero vector"),
    (changed("intervention", {"kind": "steer", "direction": {"layer": "m/sum", "vector": ["1"]}}), "finite number"),
    (changed("intervention", {"kind": "none"}), "changes nothing"),
    ("not an object", "must be an object"),
    (changed("measure", KeyError), "needs measure"),
]


@pytest.mark.parametrize(("spec", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_specs_are_refused_with_one_line(spec, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")) as error:
        check_experiment(spec)
    assert "\n" not in str(error.value) and len(str(error.value)) < 400
