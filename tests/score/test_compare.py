"""`sertk compare`: paired per-fold differences, refusal of unpaired runs."""
import json

import numpy as np
import pytest

from sertk.score.compare import bootstrap_interval, compare


def _results(path, uas, speakers=None, model=None):
    folds = [{"ua": u, "wa": u, "num_utts": 10, "speakers": [s]} for u, s in zip(uas, speakers or "abcdefgh")]
    path.mkdir(parents=True)
    provenance = {"resolved_configs": {f"{path}/fold1/config.yaml": f"model: {model}\n"}} if model else {}
    (path / "RESULTS.json").write_text(json.dumps({"folds": folds, "pooled": {"ua": float(np.mean(uas))},
                                                   "summary": {}, "provenance": provenance}))
    return path


def test_paired_differences_interval_and_plot(tmp_path):
    a = _results(tmp_path / "ref", [0.80, 0.70, 0.90, 0.60, 0.75, 0.85])
    b = _results(tmp_path / "new", [0.85, 0.74, 0.93, 0.66, 0.79, 0.86])
    text = compare([a, b], "ua", tmp_path / "cmp.md", tmp_path / "cmp.png")
    assert "| new | 80.50 | 80.50 (+3.83) | +3.83 | [+2.50, +5.00] | 0.0312 | 6 / 0 |" in text
    assert "+5.00 +4.00 +3.00 +6.00 +4.00 +1.00" in text
    assert (tmp_path / "cmp.png").stat().st_size > 0
    assert (tmp_path / "cmp.md").read_text() == text
    lo, hi = bootstrap_interval(np.array([5.0, 4, 3, 6, 4, 1]))
    assert 1 < lo < 3.83 < hi < 5.5


def test_unpaired_runs_are_refused(tmp_path):
    a = _results(tmp_path / "ref", [0.8, 0.7, 0.9])
    b = _results(tmp_path / "other", [0.8, 0.7, 0.9], speakers="xyz")
    with pytest.raises(ValueError, match="not scored on the same folds"):
        compare([a, b])
    with pytest.raises(ValueError, match="at least two"):
        compare([a])


def test_no_difference_and_seeds(tmp_path):
    """Identical systems: difference 0, interval [0, 0], p 1. Seeds pair seed by seed and a fold's
    difference is the mean over its seeds; another seed count is refused."""
    a = _results(tmp_path / "a", [0.8, 0.7, 0.9, 0.6])
    same = _results(tmp_path / "same", [0.8, 0.7, 0.9, 0.6])
    assert "| same | 75.00 | 75.00 (+0.00) | +0.00 | [+0.00, +0.00] | 1 | 0 / 0 |" in compare([a, same])
    a1 = _results(tmp_path / "a1", [0.7, 0.7, 0.8, 0.6])
    b0 = _results(tmp_path / "b0", [0.9, 0.7, 0.9, 0.7])   # +10 0 0 +10 against a
    b1 = _results(tmp_path / "b1", [0.7, 0.8, 0.9, 0.6])   # 0 +10 +10 0 against a1
    text = compare([f"{a},{a1}", f"{b0},{b1}"])
    assert "4 folds x 2 seeds" in text and "b0 (x2 seeds)" in text
    assert "+5.00 +5.00 +5.00 +5.00" in text and "| +5.00 | [+5.00, +5.00] |" in text
    with pytest.raises(ValueError, match="same seeds"):
        compare([f"{a},{a1}", str(b0)])


def test_one_run_of_a_seed_free_model_stands_for_every_seed(tmp_path):
    """The linear probe trains without random numbers: its one run pairs with each seed of a
    3-seed system (a fold's difference: the system's seed mean minus the probe). A one-run
    system of a seeded model is still refused."""
    probe = _results(tmp_path / "probe", [0.8, 0.7, 0.9, 0.6], model="linear")
    head = [_results(tmp_path / f"head{i}", u, model="pooled_mlp")
            for i, u in enumerate([[0.9, 0.7, 0.9, 0.6], [0.8, 0.8, 0.9, 0.6], [0.8, 0.7, 0.9, 0.9]])]
    text = compare([str(probe), ",".join(map(str, head))])
    assert "4 folds x 3 seeds" in text and "`probe`: one run, standing for every seed" in text
    assert "+3.33 +3.33 +0.00 +10.00" in text and "| head0 (x3 seeds) | 79.17 |" in text
    assert "+3.33 +3.33 +0.00 +10.00" in compare([",".join(map(str, head)), str(probe)]).replace("-", "+")
    with pytest.raises(ValueError, match="same seeds"):
        compare([str(head[0]), ",".join(map(str, head))])
    with pytest.raises(ValueError, match="same seeds"):  # no provenance: not known to be seed-free
        compare([str(_results(tmp_path / "bare", [0.8, 0.7, 0.9, 0.6])), ",".join(map(str, head))])


def test_reproduction_report_verdicts(tmp_path):
    """Claims -> rows: a real gain reproduced, a reversed one, no difference inconclusive, a
    claim whose runs are missing listed as not run (naming them), one with seeds 0-1 of 3 shown
    over those two seeds as interim, without a verdict."""
    import yaml
    from sertk.score.compare import reproduction_report

    exp = tmp_path / "egs" / "x" / "exp"
    base = [0.70, 0.60, 0.80, 0.65, 0.75, 0.72]
    for s in range(3):
        _results(exp / f"ref_s{s}", [u + 0.01 * s for u in base])
        _results(exp / f"up_s{s}", [u + 0.05 + 0.01 * s + 0.002 * i for i, u in enumerate(base)])
        _results(exp / f"down_s{s}", [u - 0.04 + 0.01 * s for u in base])
        _results(exp / f"flat_s{s}", [u + 0.01 * s + (0.01 if i % 2 else -0.01) for i, u in enumerate(base)])
        if s < 2:  # seed 2 not run yet
            _results(exp / f"half_s{s}", [u + 0.03 + 0.01 * s for u in base])
    runs = lambda n: [f"exp/{n}_s{s}" for s in range(3)]  # noqa: E731
    conf = tmp_path / "egs" / "x" / "conf"
    conf.mkdir(parents=True)
    (conf / "claims.yaml").write_text(yaml.safe_dump({"title": "X", "metric": "ua", "seeds": 3, "claims": [
        {"claim": "up helps", "paper": "+5", "reference": runs("ref"), "system": runs("up")},
        {"claim": "down helps", "paper": "+2", "reference": runs("ref"), "system": runs("down")},
        {"claim": "flat helps", "paper": "+1", "reference": runs("ref"), "system": runs("flat")},
        {"claim": "never run", "paper": "+3", "reference": runs("ref"), "system": runs("absent"), "note": "needs a GPU"},
        {"claim": "half run", "paper": "+3", "reference": runs("ref"), "system": runs("half")},
    ]}))
    text = reproduction_report(conf / "claims.yaml")
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ")}
    assert rows["up helps"].endswith("| 6 (6 up / 0 down) | reproduced |") and "+5.50 [" in rows["up helps"]
    assert rows["down helps"].endswith("| not reproduced (reversed) |") and "-4.00 [-4.00, -4.00]" in rows["down helps"]
    assert rows["flat helps"].endswith("| inconclusive |")
    assert rows["never run"].endswith("| not run (missing exp/absent_s0, exp/absent_s1, exp/absent_s2) |")
    assert rows["half run"].endswith("| +3.00 [+3.00, +3.00] | 0.0312 | 6 (6 up / 0 down) | interim, seeds 0, 1 of 3: "
                                     "no verdict (missing exp/half_s2) |")
    assert "- never run: needs a GPU" in text and "sertk compare --claims conf/claims.yaml" in text
    root = tmp_path / "egs" / "x"  # with plots: one per claim with a verdict, linked from the report's dir
    text = reproduction_report(conf / "claims.yaml", png_dir=root / "results" / "claims", link_from=root)
    assert sorted(p.name for p in (root / "results" / "claims").iterdir()) == ["claim1.png", "claim2.png", "claim3.png"]
    assert "- up helps: per-fold pairs (a fold's score: the mean over its seeds) [results/claims/claim1.png]" in text


def _claims_with_runs(tmp_path, claims):
    import yaml
    conf = tmp_path / "egs" / "x" / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "claims.yaml").write_text(yaml.safe_dump({"title": "X", "seeds": 2, "claims": claims}, sort_keys=False))
    return conf / "claims.yaml"


def test_pending_runs_from_run_specs(tmp_path, monkeypatch):
    """Sides with a run spec list run.sh arguments for each experiment not finished over every
    fold: first seeds of all claims first, `seed=N` added after the first, one experiment named
    by two claims once; lists without a spec (hand-run) are skipped; $VARS come from the
    environment; one experiment made two ways, or outside exp/, is refused."""
    from sertk.score.compare import pending_runs, reproduction_report

    side = lambda tag, args=None: {"exps": [f"exp/{tag}", f"exp/{tag}_seed_1"], "train_config": "conf/t.yaml",  # noqa: E731
                                    **({"train_args": args} if args else {})}
    root = tmp_path / "egs" / "x"
    claims = _claims_with_runs(tmp_path, [
        {"claim": "a", "reference": side("base"), "system": side("new", "model_conf.k=$K_VALUE")},
        {"claim": "b", "reference": ["exp/hand", "exp/hand_seed_1"], "system": side("base")}])
    for f in (1, 2):
        (root / "data" / "folds" / f"fold{f}").mkdir(parents=True)
    _results(root / "exp" / "base", [0.5, 0.6])          # finished: both folds
    _results(root / "exp" / "new_seed_1", [0.5])          # cut off after one fold
    with pytest.raises(ValueError, match=r"claim 1: train_args name \$K_VALUE, which is not set"):
        pending_runs(claims)
    assert [e for e, _ in pending_runs(claims, match="base")] == ["exp/base_seed_1"]  # no $K_VALUE needed
    monkeypatch.setenv("K_VALUE", "3")
    runs = pending_runs(claims)
    assert [e for e, _ in runs] == ["exp/new", "exp/base_seed_1", "exp/new_seed_1"]
    assert runs[0][1] == ["--train_config", "conf/t.yaml", "--train_args", "model_conf.k=3", "--tag", "new"]
    assert runs[1][1] == ["--train_config", "conf/t.yaml", "--train_args", "seed=1", "--tag", "base_seed_1"]
    assert runs[2][1][3] == "model_conf.k=3 seed=1"
    text = reproduction_report(claims)  # the commands behind each side, as written (no expansion)
    row = [line for line in text.splitlines() if line.startswith("| a |")][0]
    assert row.endswith("| not run (missing exp/base_seed_1, exp/new; unfinished exp/new_seed_1) |")
    assert "--train_args model_conf.k=$K_VALUE --tag new`; seeds 1-1: `seed=N` added" in text.replace("'", "")
    assert "- b, system: `base` as above (a, reference)" in text  # a shared side's command once

    two_ways = _claims_with_runs(tmp_path / "2", [{"claim": "a", "reference": side("base"), "system": side("new")},
                                                  {"claim": "b", "reference": side("base", "lr=1"), "system": side("new")}])
    with pytest.raises(ValueError, match="exp/base is made two ways"):
        pending_runs(two_ways)
    outside = _claims_with_runs(tmp_path / "3", [{"claim": "a", "reference": side("base"),
                                                  "system": {"exps": ["runs/new"], "train_config": "conf/t.yaml"}}])
    with pytest.raises(ValueError, match="must be exp/<tag>"):
        pending_runs(outside)


def test_pending_runs_put_what_an_experiment_reads_first(tmp_path):
    """An ablation that reuses the system's first stage (`A:from={system}`) reads the system's
    experiment of the same seed, and runs after it even when its side comes first; reading an
    unfinished experiment left out of the list, or itself, is refused."""
    from sertk.score.compare import pending_runs, reproduction_report

    side = lambda tag, args=None: {"exps": [f"exp/{tag}", f"exp/{tag}_seed_1"], "train_config": "conf/t.yaml",  # noqa: E731
                                    **({"train_args": args} if args else {})}
    root = tmp_path / "egs" / "x"
    claims = _claims_with_runs(tmp_path, [{"claim": "stages help", "reference": side("abl", "A:from={system} lr=1"),
                                           "system": side("sys")}])
    (root / "data" / "folds" / "fold1").mkdir(parents=True)
    runs = pending_runs(claims)
    assert [e for e, _ in runs] == ["exp/sys", "exp/abl", "exp/sys_seed_1", "exp/abl_seed_1"]
    assert dict(runs)["exp/abl"][3] == "A:from=exp/sys lr=1"
    assert dict(runs)["exp/abl_seed_1"][3] == "A:from=exp/sys_seed_1 lr=1 seed=1"
    with pytest.raises(ValueError, match=r"claim 1: exp/abl reads exp/sys, which is neither finished nor among the "
                                         r"runs to make \(--match leaves it out\)"):
        pending_runs(claims, match="abl")
    _results(root / "exp" / "sys", [0.5])
    _results(root / "exp" / "sys_seed_1", [0.5])
    assert [e for e, _ in pending_runs(claims, match="abl")] == ["exp/abl", "exp/abl_seed_1"]
    text = reproduction_report(claims)
    assert "--train_args A:from={system} lr=1 --tag abl" in text.replace("'", "")
    assert "`{system}`: the system's experiment of the same seed" in text
    itself = _claims_with_runs(tmp_path / "2", [{"claim": "a", "reference": side("abl"),
                                                 "system": side("sys", "A:from={system}")}])
    with pytest.raises(ValueError, match=r"exp/sys: train_args name \{system\}, the experiment itself"):
        pending_runs(itself)
