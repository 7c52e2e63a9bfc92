"""Chain configs (sertk/train/chain.py): what a chain may say, checked before anything trains.
Running one end to end is tests/test_recipes_corpora.py::test_iemocap_gmp_atl_stages."""
import pytest

from sertk.train.chain import is_chain, load_chain
from tests.conftest import REPO

CONF = REPO / "egs" / "TEMPLATE" / "conf"


def test_gmp_atl_chain_follows_stage_c_for_the_cluster_counts():
    steps = {s.name: s for s in load_chain(CONF / "train_gmp_atl.yaml")}
    assert list(steps) == ["A", "B", "C", "D"] and is_chain(CONF / "train_gmp_atl.yaml")
    assert steps["B"].units == {"model": "A", "layer": -3, "clusters": [64, 512, 4096], "max_frames": 500_000,
                                "n_init": 1, "seed": 0}
    assert steps["C"].init == "A:speech." and steps["C"].units == "B"
    steps = {s.name: s for s in load_chain(CONF / "train_gmp_atl.yaml", [
        "max_epochs=3", "C:model_conf.cluster_sizes=[4,8]", "B:layer=-1", "D:model_conf.head=ce", "A:from=exp/x"])}
    assert steps["B"].units["clusters"] == [4, 8] and steps["B"].units["layer"] == -1
    assert steps["D"].overrides == ["max_epochs=3", "model_conf.head=ce"] and steps["A"].overrides == ["max_epochs=3"]
    assert str(steps["A"].reuse) == "exp/x" and not is_chain(CONF / "train_gmp_atl_a.yaml")


def _chain(tmp_path, steps):
    f = tmp_path / "chain.yaml"
    f.write_text("chain:\n" + "".join(f"  - {s}\n" for s in steps))
    for name in ("train_gmp_atl_a.yaml", "train_gmp_atl_c.yaml", "train_gmp_atl_d.yaml"):
        (tmp_path / name).write_text((CONF / name).read_text())
    return f


A = "{name: A, config: train_gmp_atl_a.yaml}"
B = "{name: B, units: {model: A}}"


@pytest.mark.parametrize("steps, overrides, message", [
    ([A, "{name: D, config: train_gmp_atl_d.yaml, init: 'C:speech.'}"], [], "init 'C' is not an earlier step"),
    ([A, A], [], "the name is used twice"),
    ([A, "{name: B, units: {model: A, layers: 3}}"], [], "unknown units key(s) layers"),
    ([A, "{name: X, config: train_gmp_atl_d.yaml, unit: B}"], [], "unknown key(s) unit"),
    ([A, B], [], "the last step must train"),
    ([A, B, "{name: C, config: train_gmp_atl_c.yaml, units: A}"], [], "names a training step"),
    ([A, "{name: C, config: train_gmp_atl_c.yaml}"], [], "learns frame labels here"),
    ([A, "{name: B, units: {model: A, clusters: [8]}}", "{name: C, config: train_gmp_atl_c.yaml, units: B}"], [],
     "learns [64, 512, 4096] clusters but step B makes [8]"),
    ([A, "{name: D, config: missing.yaml}"], [], "config missing.yaml not found"),
    ([A], ["Z:max_epochs=2"], "has no step 'Z'"),
    ([A], ["A:model_conf.nonsense=1"], "unknown key(s) model_conf.nonsense"),
])
def test_chain_mistakes_are_one_line_errors(tmp_path, steps, overrides, message):
    with pytest.raises((ValueError, FileNotFoundError)) as e:
        load_chain(_chain(tmp_path, steps), overrides)
    assert message in str(e.value) and "\n" not in str(e.value)

