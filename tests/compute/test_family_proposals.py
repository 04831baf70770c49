"""`atlas families propose` (SQLite and PostgreSQL): stored best-partner matches and tuning
curves, built by hand so that every outcome is known, become proposals exactly where the
correlation reaches --min-score and the preferred stimuli agree; a group with several
units of one model is flagged as redundancy; --save stores two families and their
analogous link once, audited; hostile arguments are one line and store nothing."""

import json

import numpy as np
import pytest
from conftest import DEMO_LAYERS

from atlas import Catalog
from atlas.catalog.records import NewFamily
from atlas.cli import main
from atlas.compute.datasets.sweep_spec import check_sweep, sweep_values
from atlas.compute.tuning import store_tuning
from atlas.compute.tuning.curves import TuningCurves
from atlas.compute.universality.proposals import propose_families
from atlas.errors import InvalidInput
from atlas.vocabulary import FAMILY_PROPOSAL_METHOD, TUNING_ARTIFACT

STIMULI = {"dataset": {"kind": "synthetic", "n": 100, "seed": 0, "size": 64}, "sweeps": []}
ORIENTATION = check_sweep({"sweep": "orientation", "steps": 36, "size": 64})  # edges over [0, 360), cycle 180
FLAT = None  # a unit whose curve is flat: its preferred value is noise
# unit: preferred orientation (degrees) of demo/conv3 and other/conv3
TUNED_A = {4: 40.0, 17: 50.0, 5: 0.0, 6: 90.0, 10: 350.0, 12: 120.0, 13: FLAT}
TUNED_B = {9: 40.0, 2: 90.0, 3: 90.0, 11: 10.0, 14: 120.0}
MATCHES = [  # (demo/conv3 unit, other/conv3 unit, r) as stored best partners, demo to other
    (4, 9, 0.85),     # agree (40 vs 40)
    (17, 9, 0.7),     # agree (50 vs 40): a second unit of demo on other/9, redundancy
    (5, 2, 0.9),      # disagree (0 vs 90)
    (6, 3, 0.5),      # agree, but below the default --min-score 0.6
    (10, 11, 0.8),    # 350 vs 10: 20 degrees apart across the cycle, 0.11 of its 180
    (7, 7, 0.95),     # no tuning curves
    (13, 14, 0.9),    # demo/13 is flat on the sweep
]


def curves(layer: str, tuned: dict[int, float | None]) -> TuningCurves:
    """Curves peaking at each unit's preferred orientation (an orientation tuning with a
    slight polarity preference, so that the peak is one sampled value), or flat."""
    values = np.array(sweep_values(ORIENTATION), dtype=np.float64)
    rows = [np.ones_like(values) if pref is None else
            2 * np.cos(np.radians(2 * (values - pref))) + 0.1 * np.cos(np.radians(values - pref)) + 3
            for pref in tuned.values()]
    return TuningCurves(layer, list(tuned), ORIENTATION, values, np.stack(rows))


@pytest.fixture
def matched(demo_catalog: Catalog) -> Catalog:
    cat = demo_catalog
    cat.add_model("other", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    cat.add_relations("analogous", "pooled.best", STIMULI, "demo/conv3", "other/conv3", MATCHES)
    cat.add_relations("analogous", "pooled.best", STIMULI, "other/conv3", "demo/conv3", [(9, 4, 0.85)])
    cat.add_relations("analogous", "pooled.assignment", STIMULI, "demo/conv3", "other/conv3", [(12, 14, 0.99)])
    store_tuning(cat, "demo", curves("conv3", TUNED_A))
    store_tuning(cat, "other", curves("conv3", TUNED_B))
    return cat


@pytest.fixture
def cli(db_url, blob_dir):
    def run(*args: str, user: str = "alice") -> int:
        return main(["--db", db_url, "--blobs", blob_dir, "--user", user, *args])
    return run


def groups(proposals) -> list[tuple[list[str], list[str]]]:
    return [(p.members_a, p.members_b) for p in proposals]


def test_matches_whose_preferred_stimuli_agree_are_proposed(matched: Catalog):
    found = propose_families(matched, "demo", "other", "conv3", "conv3")
    # 10 ~ 11: 350 and 10 degrees are 20 apart, 0.11 of the 180-degree cycle: over the default 0.1
    assert groups(found) == [(["demo/conv3/4", "demo/conv3/17"], ["other/conv3/9"])]
    (proposal,) = found
    assert proposal.score == pytest.approx((0.85 + 0.7) / 2)  # 4 ~ 9 is stored both ways: one pair
    assert "2 units of demo/conv3" in (proposal.redundancy or "")
    assert [(g.preferred_a, g.preferred_b) for e in proposal.evidence for g in e.agreements if e.a.endswith("/17")] \
        == [(50.0, 40.0)]
    wider = propose_families(matched, "demo", "other", min_score=0.4, tolerance=0.12)
    assert groups(wider) == [(["demo/conv3/10"], ["other/conv3/11"]),
                             (["demo/conv3/4", "demo/conv3/17"], ["other/conv3/9"]),
                             (["demo/conv3/6"], ["other/conv3/3"])]
    assert wider[0].redundancy is None
    assert propose_families(matched, "demo", "other", min_score=0.96) == []


def test_save_stores_two_families_and_their_link_once(matched: Catalog, cli, capsys):
    assert cli("families", "propose", "--model-a", "demo", "--model-b", "other", "--save") == 0
    out = capsys.readouterr().out
    assert "1 proposed families of demo ~ other" in out and "redundancy" in out
    assert "demo/conv3/17 ~ other/conv3/9  r 0.700  orientation 50 ~ 40" in out
    name_a, name_b = "proposed: demo/conv3 4,17", "proposed: other/conv3 9"
    assert f"saved: {name_a} and {name_b}" in out
    family = matched.family(name_a)
    assert [m for m, _note in family.members] == ["demo/conv3/4", "demo/conv3/17"]
    assert family.description.startswith("proposed by atlas families propose from the pooled.best matches")
    assert "demo/conv3/17 ~ other/conv3/9 r=0.700 (orientation 50 vs 40)" in family.description
    (link,) = matched.family_relations(name_b)
    assert (link.relation, link.method, link.ends, link.src, link.dst) == (
        "analogous", FAMILY_PROPOSAL_METHOD, "families", name_a, name_b)
    assert link.score == pytest.approx(0.775) and link.stimuli == STIMULI and len(link.details["pairs"]) == 2
    assert matched.audit_log(f"family:{name_a}->{name_b}")[0].action == "relations.add"
    assert cli("families", "propose", "--model-a", "demo", "--model-b", "other", "--save") == 0
    assert "already stored" in capsys.readouterr().out
    assert len(matched.family_names()) == 2 and len(matched.family_relations(name_a)) == 1


def test_an_unreadable_tuning_summary_is_no_evidence(matched: Catalog):
    """A summary from elsewhere (a bundle) that is not finite numbers is skipped, never trusted."""
    blobs = {"summary": matched.blobs.put_bytes(json.dumps({"preferred": "NaN", "selectivity": 1}).encode())}
    other_sweep = {**ORIENTATION, "stimulus": "line"}
    for unit in (4, 9):
        model = "demo" if unit == 4 else "other"
        matched.add_artifact(f"{model}/conv3/{unit}", TUNING_ARTIFACT,
                             {"sweep": other_sweep, "site": "pre", "reduction": "max"}, blobs)
    assert groups(propose_families(matched, "demo", "other")) == [
        (["demo/conv3/4", "demo/conv3/17"], ["other/conv3/9"])]


def test_proposed_families_are_stored_all_or_nothing(matched: Catalog):
    two_layers = NewFamily("mixed", "", ("demo/conv3/4", "demo/conv2/1"))
    single = NewFamily("single", "", ("other/conv3/9",))
    with pytest.raises(InvalidInput, match="one model and layer"):
        matched.add_analogous_families(two_layers, single, STIMULI, 0.8)
    matched.create_family("single")
    with pytest.raises(InvalidInput, match="already exists"):
        matched.add_analogous_families(NewFamily("fresh", "", ("demo/conv3/4",)), single, STIMULI, 0.8)
    with pytest.raises(InvalidInput, match="finite"):
        matched.add_analogous_families(NewFamily("fresh", "", ("demo/conv3/4",)),
                                       NewFamily("fresh-b", "", ("other/conv3/9",)), STIMULI, float("nan"))
    assert matched.family_names() == ["single"] and matched.family_relations("single") == []


@pytest.mark.parametrize("args, message", [
    (("--model-a", "nope", "--model-b", "other"), "nope"),
    (("--model-a", "demo", "--model-b", "other", "--min-score", "1.5"), "min-score must be a number from -1 to 1"),
    (("--model-a", "demo", "--model-b", "other", "--min-score", "nan"), "min-score"),
    (("--model-a", "demo", "--model-b", "other", "--tolerance", "-1"), "tolerance"),
    (("--model-a", "demo", "--model-b", "other", "--layer-a", "conv3"), "both --layer-a and --layer-b"),
    (("--model-a", "demo", "--model-b", "other", "--layer-a", "conv9", "--layer-b", "conv3"), "conv9"),
])
def test_hostile_arguments_are_one_line(matched: Catalog, cli, capsys, args, message):
    assert cli("families", "propose", *args, "--save") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("atlas: error: ") and "\n" not in err and message in err, err
    assert matched.family_names() == []


def test_a_viewer_may_not_save_proposals(matched: Catalog, cli, capsys):
    assert cli("families", "propose", "--model-a", "demo", "--model-b", "other", "--save", user="vic") == 1
    assert capsys.readouterr().err.startswith("atlas: error: ")
    assert matched.family_names() == []
