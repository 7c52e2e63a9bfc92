"""The whole staged recipe on a generated corpus: a new recipe made by setup.sh, all 7
stages, then a rerun that must skip finished work, then `sertk infer` on the packed model."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO


TRAIN_YAML = """\
model: baseline
model_conf: {pooling: stats, projection_dim: 64, hidden_dims: [64], dropout: 0.1}
optim: adam
optim_conf: {lr: 2.0e-3}
batch_size: 8
max_epochs: 8
patience: 4
"""

DATA_SH = """\
#!/usr/bin/env bash
set -euo pipefail
. ./path.sh
datadir=${1:-data}
python -m sertk.data.synthetic corpus --num-speakers 8 --utts-per-emotion 4
mkdir -p ${datadir}
rm -rf ${datadir}/all && cp -r corpus/data ${datadir}/all
mv ${datadir}/all/emotions.txt ${datadir}/emotions.txt
"""


def _env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    return env


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, shell=True, capture_output=True, text=True, env=_env())
    assert p.returncode == 0, f"{cmd} failed:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
    return p.stdout + p.stderr


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    root = tmp_path_factory.mktemp("egs")
    d = root / "synth"
    run(f"{REPO}/egs/TEMPLATE/setup.sh {d}", root)
    assert (d / "ser.sh").is_symlink() and (d / "utils" / "run.pl").exists()
    (d / "local" / "data.sh").write_text(DATA_SH)
    (d / "conf" / "train_small.yaml").write_text(TRAIN_YAML)
    args = "--num_folds 4 --nj 2 --extract_config conf/extract_fbank.yaml --train_config conf/train_small.yaml"
    first = run(f"./run.sh {args}", d)
    return d, args, first


def test_all_stages_produce_results(recipe):
    d, _, out = recipe
    exp = d / "exp" / "train_small_fbank"
    for stage in range(1, 8):
        assert f"Stage {stage}:" in out
    assert (d / "data" / "folds" / "summary.txt").exists()
    assert len(list((d / "dump" / "fbank" / "log").glob("extract.*.log"))) == 2
    res = json.loads((exp / "RESULTS.json").read_text())
    assert len(res["folds"]) == 4
    assert res["summary"]["ua"]["mean"] > 0.6  # 4 classes: chance is 0.25
    text = (exp / "RESULTS.md").read_text()
    assert "mean ± std" in text and "| fold4 (spk " in text and "git:" in text
    for f in range(1, 5):
        assert (exp / f"fold{f}" / "score_test" / "confusion.png").exists()
        assert (exp / f"fold{f}" / "curves.png").exists()
    assert (exp / "packed" / "train_small_fbank_fold1.tar.gz").exists()


def test_rerun_skips_finished_work(recipe):
    d, args, _ = recipe
    exp = d / "exp" / "train_small_fbank"
    before = {p: p.stat().st_mtime for p in exp.glob("fold*/best.pt")}
    feats = (d / "dump" / "fbank" / "feats.scp").stat().st_mtime
    out = run(f"./run.sh {args} --stop_stage 4", d)
    assert "already prepared and validated" in out and "folds exist" in out and "features exist" in out
    assert out.count("already trained") == 4
    assert {p: p.stat().st_mtime for p in exp.glob("fold*/best.pt")} == before
    assert (d / "dump" / "fbank" / "feats.scp").stat().st_mtime == feats


def test_restart_from_stage_5_reproduces_scores(recipe):
    d, args, _ = recipe
    exp = d / "exp" / "train_small_fbank"
    old = (exp / "fold2" / "score_test" / "metrics.json").read_text()
    run(f"rm -r {exp}/fold2/decode_test", d)
    whole = json.loads((exp / "RESULTS.json").read_text())["summary"]
    run(f"./run.sh {args} --stage 5 --stop_stage 6 --folds 2", d)
    assert (exp / "fold2" / "score_test" / "metrics.json").read_text() == old
    # RESULTS stay over every fold scored from the run's inputs, not over fold 2 alone ...
    res = json.loads((exp / "RESULTS.json").read_text())
    assert len(res["folds"]) == 4 and res["summary"] == whole
    # ... and a fold whose recorded inputs differ is left out, not mixed in
    inputs = exp / "fold3" / "train.inputs"
    kept = inputs.read_text()
    try:
        inputs.write_text("other " + kept)
        run(f"./run.sh {args} --stage 6 --stop_stage 6 --folds 2", d)
        res = json.loads((exp / "RESULTS.json").read_text())
        assert len(res["folds"]) == 3
        assert "(folds 1 2 4 of 4 so far)" in (exp / "RESULTS.md").read_text()
    finally:
        inputs.write_text(kept)
        run(f"./run.sh {args} --stage 6 --stop_stage 6", d)


def test_packed_model_infers_from_raw_audio(recipe, tmp_path):
    d, _, _ = recipe
    exp = d / "exp" / "train_small_fbank"
    test_scp = d / "data" / "folds" / "fold1" / "test" / "wav.scp"
    lines = test_scp.read_text().splitlines()[:6]
    wavs = [l.split(maxsplit=1)[1] for l in lines]
    run(f"sertk infer --model {exp}/packed/train_small_fbank_fold1.tar.gz --out {tmp_path}/out {' '.join(wavs)}", d)
    ours = {p["utt"]: p for p in json.loads((tmp_path / "out" / "predictions.json").read_text())}
    stage5 = {}
    for line in (exp / "fold1" / "decode_test" / "posteriors.txt").read_text().splitlines()[1:]:
        utt, *p = line.split()
        stage5[utt] = np.array([float(x) for x in p])
    labels = (d / "data" / "emotions.txt").read_text().split()
    for line in lines:
        utt = line.split()[0]
        got = np.array([ours[utt]["posteriors"][l] for l in labels])
        np.testing.assert_allclose(got, stage5[utt], atol=2e-3)


CAMULENET_YAML = """\
model: camulenet
model_conf: {max_frames: 256, att_dim: 16, gru_hidden: 8, image_size: 64, alexnet_weights: none, net_dims: [16, 16, 16]}
optim: adam
optim_conf: {lr: 1.0e-3}
batch_size: 16
max_epochs: 2
select_metric: loss
"""


def test_three_feature_streams_camulenet(recipe, tmp_path):
    """Several extraction configs = several feature streams: extracted once each, trained on
    together (CAMuLeNet), packed together, and the pack infers on raw audio."""
    d, _, _ = recipe
    (d / "conf" / "train_camu.yaml").write_text(CAMULENET_YAML)
    streams = "conf/extract_fbank.yaml conf/extract_spectrogram.yaml conf/extract_mfcc40.yaml"
    out = run(f"./run.sh --stage 3 --extract_config '{streams}' --train_config conf/train_camu.yaml "
              "--folds 1 --tag camu", d)
    assert "Stage 3: features exist (dump/fbank/feats.scp)" in out
    assert (d / "dump" / "spectrogram" / "feats.scp").exists() and (d / "dump" / "mfcc40" / "feats.scp").exists()
    exp = d / "exp" / "camu"
    history = json.loads((exp / "fold1" / "history.json").read_text())
    assert "gender_acc" in history[-1]["valid"]
    lines = (d / "data" / "folds" / "fold1" / "test" / "wav.scp").read_text().splitlines()[:4]
    run(f"sertk infer --model {exp}/packed/camu_fold1.tar.gz --out {tmp_path}/out "
        + " ".join(l.split(maxsplit=1)[1] for l in lines), d)
    ours = {p["utt"]: p for p in json.loads((tmp_path / "out" / "predictions.json").read_text())}
    labels = (d / "data" / "emotions.txt").read_text().split()
    stage5 = {}
    for line in (exp / "fold1" / "decode_test" / "posteriors.txt").read_text().splitlines()[1:]:
        utt, *p = line.split()
        stage5[utt] = [float(x) for x in p]
    assert set(ours) <= set(stage5) and len(ours) == 4
    # the paper's Fig. 3: t-SNE of the final embeddings of a fold's test split
    run(f"sertk tsne --model {exp}/fold1/best.pt --feat-dir dump/fbank,dump/spectrogram,dump/mfcc40 "
        f"--out {tmp_path}/tsne.png data/folds/fold1/test", d)
    assert (tmp_path / "tsne.png").stat().st_size > 1000
    # EmoDB's probe of the embedding parts (RESULTS.md): a table row per part and task
    probe = run(f"python {REPO}/egs/emodb/local/probe_camulenet.py {exp}/fold1 --feat-dir "
                "dump/fbank,dump/spectrogram,dump/mfcc40 --fold-dir data/folds/fold1", d)
    rows = [l.split("|")[1:-1] for l in probe.splitlines() if l.startswith("| ") and "train" not in l]
    assert len(rows) == 8 and {r[1].strip() for r in rows} == {"emotion", "gender"}
    assert all(0 <= float(x) <= 100 for r in rows for x in r[2:])
    for utt, pred in ours.items():  # raw audio through the three packed upstreams = the cached streams
        np.testing.assert_allclose([pred["posteriors"][l] for l in labels], stage5[utt], atol=2e-3)


def run_fails(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, shell=True, capture_output=True, text=True, env=_env())
    assert p.returncode != 0, f"{cmd} should have failed:\n{p.stdout[-2000:]}"
    return p.stdout + p.stderr


def test_stages_never_mix_runs(recipe):
    """Other training arguments: another experiment (the tag follows them); an edited config
    under the same tag, another extraction config on a finished dump, another corpus path on
    prepared data: refused with a hint."""
    d, args, _ = recipe
    out = run(f"./run.sh {args} --stage 4 --stop_stage 4 --folds 1 --train_args 'max_epochs=1 seed=3'", d)
    assert (d / "exp" / "train_small_fbank_max_epochs_1_seed_3" / "fold1" / "train.done").exists(), out
    conf = d / "conf" / "train_small.yaml"
    original = conf.read_text()
    try:
        conf.write_text(original.replace("max_epochs: 8", "max_epochs: 9"))
        out = run_fails(f"./run.sh {args} --stage 4 --stop_stage 4 --folds 1", d)
        assert "was trained from other inputs" in out and "choose another --tag" in out
        conf.write_text("# a comment changes nothing that trains\n" + original)
        assert "fold1: already trained" in run(f"./run.sh {args} --stage 4 --stop_stage 4 --folds 1", d)
        # a fold recorded by an older sertk (hash of the raw file), file unchanged: the same inputs
        record = d / "exp" / "train_small_fbank" / "fold1" / "train.inputs"
        now = record.read_text()
        record.write_text(hashlib.sha1(conf.read_bytes()).hexdigest()[:12] + now[12:])
        assert "fold1: already trained" in run(f"./run.sh {args} --stage 4 --stop_stage 4 --folds 1", d)
        assert record.read_text() == now
        conf.write_text("model: [unclosed\n")
        out = run_fails(f"./run.sh {args} --stage 4 --stop_stage 4 --folds 1", d)
        assert "train_small.yaml, line 2: not valid YAML" in out and "Traceback" not in out
    finally:
        conf.write_text(original)
    out = run_fails(f"./run.sh {args} --stage 3 --stop_stage 3 --extract_args 'dtype=float16'", d)
    assert "features of another config" in out and "dtype" in out
    out = run_fails(f"CORPUS=/elsewhere ./run.sh {args} --stop_stage 1", d)
    assert "was prepared from" in out and "CORPUS=/elsewhere" in out


def test_eval_on_valid_and_provenance(recipe):
    """--eval_set valid fits on train only and scores valid (choosing settings without test);
    RESULTS record the user-level command, the git state and the resolved configs."""
    d, args, _ = recipe
    run(f"WHISPER=/not/used ./run.sh {args} --stage 4 --stop_stage 6 --folds '1 2' --eval_set valid", d)
    exp = d / "exp" / "train_small_fbank_on_valid"
    assert (exp / "fold1" / "score_valid" / "metrics.json").exists() and not (exp / "fold1" / "decode_test").exists()
    res = json.loads((exp / "RESULTS.json").read_text())
    assert "scored on the valid split" in (exp / "RESULTS.md").read_text()
    p = res["provenance"]
    assert p["command"].startswith("WHISPER=/not/used ./run.sh --num_folds 4") and "--eval_set valid" in p["command"]
    assert "--stage" not in p["command"] and p["git"] != "unknown"
    (train_conf,) = [v for k, v in p["resolved_configs"].items() if k.endswith("config.yaml")]
    assert "fit_valid: false" in train_conf and "max_epochs: 8" in train_conf
    assert any(k.endswith("fbank/extract.yaml") for k in p["resolved_configs"])


def test_fold_pipeline_keeps_finished_folds(recipe):
    """--fold_pipeline: train -> infer -> score fold by fold, RESULTS.md re-aggregated as each fold
    finishes; a run that stops at a broken fold still leaves the scores of the folds before it
    (a GPU lease that ends early), and the rerun completes the rest."""
    d, args, _ = recipe
    run("rm -rf data_cut && cp -r data data_cut && mv data_cut/folds/fold2/train/wav.scp data_cut/wav.scp.bak", d)
    cut = f"{args} --datadir data_cut --stage 4 --fold_pipeline true --max_parallel_folds 1 --tag pipe --stop_stage 6"
    out = run_fails(f"./run.sh {cut}", d)
    assert "fold1: trained, inferred and scored" in out and "fold2: trained" not in out
    exp = d / "exp" / "pipe"
    res = json.loads((exp / "RESULTS.json").read_text())
    assert len(res["folds"]) == 1 and "(folds 1 of 4 so far)" in (exp / "RESULTS.md").read_text()
    run("mv data_cut/wav.scp.bak data_cut/folds/fold2/train/wav.scp", d)
    out = run(f"./run.sh {cut}", d)
    assert "fold1: already trained" in out and out.count("trained, inferred and scored") == 4
    res = json.loads((exp / "RESULTS.json").read_text())
    assert len(res["folds"]) == 4 and "so far" not in (exp / "RESULTS.md").read_text()
    assert min(f["ua"] for f in res["folds"]) > 0.6  # trained as by stages 4-6 (4 classes: chance 0.25)


def test_kept_scores_restore_folds_on_a_fresh_checkout(recipe):
    """--keep_scores: each scored fold is kept as results/scores/<tag>/foldN.json (what git can
    hold); with the exp dir gone (a fresh checkout) the same command restores every fold instead
    of training it, fold by fold or stage by stage, and aggregates the same RESULTS; a record
    kept from other inputs is refused; records of a finished exp dir can be kept afterwards."""
    d, args, _ = recipe
    keep = f"{args} --stage 4 --stop_stage 6 --train_args max_epochs=2 --tag kept --keep_scores results/scores"
    run(f"./run.sh {keep} --fold_pipeline true", d)
    exp, kept = d / "exp" / "kept", d / "results" / "scores" / "kept"
    first = json.loads((exp / "RESULTS.json").read_text())
    assert sorted(r.name for r in kept.glob("*.json")) == [f"fold{f}.json" for f in range(1, 5)]
    rec = json.loads((kept / "fold1.json").read_text())
    assert rec["inputs"] == (exp / "fold1" / "train.inputs").read_text().strip() and "max_epochs: 2" in rec["config"]
    for pipeline in ("--fold_pipeline true", ""):
        run(f"rm -rf {exp}", d)
        out = run(f"./run.sh {keep} {pipeline}", d)
        assert out.count("scores restored from results/scores/kept") == 4 and "trained, inferred" not in out
        assert not list(exp.glob("fold*/train.done")) and not list(exp.glob("fold*/decode_test"))
        again = json.loads((exp / "RESULTS.json").read_text())
        assert again["folds"] == first["folds"] and again["pooled"] == first["pooled"]
        assert again["provenance"]["kept_folds"] == {f"fold{f}": rec["git"] for f in range(1, 5)}
        assert "max_epochs: 2" in "".join(again["provenance"]["resolved_configs"].values())
        assert "restored from kept scores" in (exp / "RESULTS.md").read_text()
    run(f"rm -rf {exp}", d)
    out = run_fails(f"./run.sh {keep.replace('max_epochs=2', 'max_epochs=3')} --fold_pipeline true", d)
    assert "kept from other inputs" in out and "results/scores/kept/fold" in out and "Traceback" not in out
    assert not list(exp.glob("fold*/train.done"))
    # an exp dir that ran without --keep_scores: its folds kept afterwards, with its commit
    out = run("sertk keep-scores save --exp-dir exp/train_small_fbank --to results/scores", d)
    assert len(out.split()) == 4
    done = json.loads((d / "exp" / "train_small_fbank" / "RESULTS.json").read_text())  # (over fold 2 only
    rec = json.loads((d / "results" / "scores" / "train_small_fbank" / "fold3.json").read_text())  # after a restart)
    metrics = json.loads((d / "exp" / "train_small_fbank" / "fold3" / "score_test" / "metrics.json").read_text())
    assert rec["git"] == done["provenance"]["git"] and rec["metrics"] == metrics and rec["num_folds"] == 4


CLAIMS_YAML = """\
title: synth claims
seeds: 2
claims:
  - claim: more epochs help
    paper: "+1"
    reference:
      exps: [exp/claim_short, exp/claim_short_seed_1]
      train_config: conf/train_small.yaml
      extract_config: conf/extract_fbank.yaml
      train_args: max_epochs=1
    system:
      exps: [exp/claim_long, exp/claim_long_seed_1]
      train_config: conf/train_small.yaml
      extract_config: conf/extract_fbank.yaml
"""


def test_run_claims_trains_what_is_missing_and_reports(recipe):
    """utils/run_claims.sh runs each claim side's missing experiments fold by fold (seed 0 of
    every side first), writes REPRODUCTION.md with a verdict, and on a rerun finds nothing to do."""
    d, _, _ = recipe
    (d / "conf" / "claims_synth.yaml").write_text(CLAIMS_YAML)
    dry = run("utils/run_claims.sh --claims conf/claims_synth.yaml --dry_run true --nj 2", d)
    tags = [line.split("'--tag' ")[1].split()[0].strip("'") for line in dry.splitlines() if "--tag" in line]
    assert tags == ["claim_short", "claim_long", "claim_short_seed_1", "claim_long_seed_1"]
    assert "'max_epochs=1 seed=1'" in dry and not (d / "exp" / "claim_short").exists()
    out = run("utils/run_claims.sh --claims conf/claims_synth.yaml --parallel 2", d)
    assert "4 experiment(s) to run" in out and "wrote REPRODUCTION.md" in out
    for tag in tags:
        assert len(json.loads((d / "exp" / tag / "RESULTS.json").read_text())["folds"]) == 4
    assert "seed=1" in (d / "exp" / "claim_long_seed_1" / "fold1" / "train.inputs").read_text()
    row = [line for line in (d / "REPRODUCTION.md").read_text().splitlines() if line.startswith("| more epochs")][0]
    assert "| 4 (" in row and row.rstrip(" |").rsplit("| ", 1)[1] in ("reproduced", "inconclusive", "not reproduced (reversed)")
    assert (d / "results" / "claims_synth" / "claim1.png").exists()  # the claim's per-fold pairs, linked
    assert "[results/claims_synth/claim1.png](results/claims_synth/claim1.png)" in (d / "REPRODUCTION.md").read_text()
    assert "0 experiment(s) to run" in run("utils/run_claims.sh --claims conf/claims_synth.yaml", d)
    # a checkout without the runs (exp/ gone) reads them from the kept scores: the same row
    assert sorted(p.name for p in (d / "results" / "scores" / "claim_long_seed_1").iterdir()) == \
        [f"fold{f}.json" for f in range(1, 5)]
    run("mv exp exp_aside", d)
    try:
        report = run("sertk compare --claims conf/claims_synth.yaml", d)
        assert row in report and "read from the scores kept in results/scores/" in report
        (d / "conf" / "claims_edited.yaml").write_text(CLAIMS_YAML.replace("max_epochs=1", "max_epochs=3"))
        out = run_fails("sertk compare --claims conf/claims_edited.yaml", d)
        assert "claim_short: fold 1 was kept from other inputs" in out and "Traceback" not in out
        # a run here over fewer folds than its kept scores (the rest ran elsewhere): read whole from them
        run("mkdir exp && cp -r exp_aside/claim_long_seed_1 exp/", d)
        here = d / "exp" / "claim_long_seed_1" / "RESULTS.json"
        res = json.loads(here.read_text())
        here.write_text(json.dumps({**res, "folds": res["folds"][2:]}))
        report = run("sertk compare --claims conf/claims_synth.yaml", d)
        note = [line for line in report.splitlines() if "read from the scores kept" in line][0]
        assert row in report and "results/scores/, not from exp/:" in note and "`claim_long_seed_1`" in note
    finally:
        run("rm -rf exp && mv exp_aside exp", d)
    # a claims file the runs list refuses (an unset $VAR) stops the runner, in one line
    (d / "conf" / "claims_var.yaml").write_text(CLAIMS_YAML.replace("max_epochs=1", "model_conf.x=$SERTK_UNSET_VAR"))
    out = run_fails("utils/run_claims.sh --claims conf/claims_var.yaml --dry_run true", d)
    assert "$SERTK_UNSET_VAR, which is not set" in out and "experiment(s) to run" not in out and "Traceback" not in out


CHAIN_YAML = """\
chain:
  - {name: A, config: conf/train_small.yaml}
  - {name: B, config: conf/train_small.yaml, init: A}
"""

CHAIN_CLAIMS_YAML = """\
title: synth chain claims
seeds: 1
claims:
  - claim: the second stage needs its own first stage
    reference:
      exps: [exp/claim_reused_a]
      train_config: conf/chain_small.yaml
      extract_config: conf/extract_fbank.yaml
      train_args: "A:from={system} B:max_epochs=2"
    system:
      exps: [exp/claim_own_a]
      train_config: conf/chain_small.yaml
      extract_config: conf/extract_fbank.yaml
"""


def test_run_claims_runs_an_ablation_after_the_run_it_reuses(recipe):
    """A claim side that reuses the other side's first stage (`A:from={system}`) is started after
    that experiment has ended, even with two at a time, and trains only its own stage."""
    d, _, _ = recipe
    (d / "conf" / "chain_small.yaml").write_text(CHAIN_YAML)
    (d / "conf" / "claims_chain.yaml").write_text(CHAIN_CLAIMS_YAML)
    out = run("utils/run_claims.sh --claims conf/claims_chain.yaml --parallel 2", d)
    assert out.index("start claim_own_a") < out.index("start claim_reused_a")
    reused = d / "exp" / "claim_reused_a"
    for f in range(1, 5):
        assert not (reused / f"fold{f}" / "A").exists() and (reused / f"fold{f}" / "B" / "train.done").exists()
        assert f"claim_own_a/fold{f}/A/best.pt" in (reused / f"fold{f}" / "B" / "config.yaml").read_text()
    assert len(json.loads((reused / "RESULTS.json").read_text())["folds"]) == 4
    assert "| the second stage needs" in (d / "REPRODUCTION.md").read_text()


@pytest.mark.skipif(not (REPO / "tools" / "venv" / "bin" / "activate").exists(),
                    reason="path.sh checks tools/venv, which this run does not use")
def test_path_sh_refuses_a_venv_that_runs_another_checkout(tmp_path):
    """A venv shared between clones holds one editable install; a recipe must not run another
    clone's sertk under this checkout's name (its git hash goes into every record)."""
    fake = tmp_path / "other_clone" / "sertk"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    env = {**_env(), "PYTHONPATH": str(fake.parent)}  # found before the venv's own sertk
    src = f"cd {REPO}/egs/TEMPLATE && . ./path.sh"
    sh = dict(shell=True, executable="/bin/bash", capture_output=True, text=True)  # recipes are bash
    p = subprocess.run(f"{src} && echo sourced", env=env, **sh)
    assert p.returncode == 1 and "sourced" not in p.stdout
    assert p.stderr.strip().splitlines() == [
        f"path.sh: tools/venv runs sertk from {fake.resolve() / '__init__.py'}, not from this "
        f"checkout: rerun {REPO}/tools/install.sh"]
    ok = subprocess.run(f"{src} && echo sourced", env=_env(), **sh)
    assert ok.returncode == 0 and ok.stdout.strip() == "sourced", ok.stderr


def test_fuse_runs_scores_the_mean_of_seeds(recipe):
    """utils/fuse_runs.sh: the runs of two seeds fused fold by fold into a new experiment whose
    posteriors are the mean of theirs, scored, aggregated and kept like a run; rerun: the same;
    the same tag from other runs: refused; a fold a run did not decode: skipped, named; the runs'
    exp dirs gone: fused again from their kept records."""
    d, args, _ = recipe
    for s in (1, 2):
        run(f"./run.sh {args} --stage 4 --stop_stage 6 --train_args 'max_epochs=2 seed={s}' --tag fz_{s} "
            "--keep_scores results/scores", d)
    fuse = "utils/fuse_runs.sh --keep_scores results/scores --tag fz_mean fz_1 fz_2"
    out = run(fuse, d)
    exp = d / "exp" / "fz_mean"
    res = json.loads((exp / "RESULTS.json").read_text())
    assert len(res["folds"]) == 4 and "fz_mean" in out
    for f in (1, 3):
        runs = [np.loadtxt(d / "exp" / f"fz_{s}" / f"fold{f}" / "decode_test" / "posteriors.txt",
                           usecols=range(1, 5)) for s in (1, 2)]
        fused = np.loadtxt(exp / f"fold{f}" / "decode_test" / "posteriors.txt", usecols=range(1, 5))
        np.testing.assert_allclose(fused, (runs[0] + runs[1]) / 2, atol=1e-5)
    rec = json.loads((d / "results" / "scores" / "fz_mean" / "fold2.json").read_text())
    assert rec["inputs"].startswith("fusion (mean): fz_1 [") and " fz_2 [" in rec["inputs"]
    assert rec["metrics"] == json.loads((exp / "fold2" / "score_test" / "metrics.json").read_text())
    run(fuse, d)
    again = json.loads((exp / "RESULTS.json").read_text())
    assert again["folds"] == res["folds"] and again["pooled"] == res["pooled"]
    out = run_fails("utils/fuse_runs.sh --tag fz_mean fz_2 fz_1", d)
    assert "exp/fz_mean/fold1 was fused from other runs" in out and "Traceback" not in out
    run("rm -rf exp/fz_2/fold4/decode_test", d)
    out = run("utils/fuse_runs.sh --tag fz_mean_3 fz_1 fz_2", d)
    assert "fold4: not decoded on test in every run: skipped" in out
    assert "(folds 1 2 3 of 4)" in (d / "exp" / "fz_mean_3" / "RESULTS.md").read_text()
    # the runs' exp dirs gone (a fresh machine): fused again from their kept records alone
    run("rm -rf exp/fz_1 exp/fz_2 exp/fz_mean_3", d)
    run("utils/fuse_runs.sh --keep_scores results/scores --tag fz_mean_3 fz_1 fz_2", d)
    kept = json.loads((d / "exp" / "fz_mean_3" / "RESULTS.json").read_text())
    assert kept["folds"] == res["folds"] and kept["pooled"] == res["pooled"]
    out = run_fails("utils/fuse_runs.sh --tag fz_mean_4 fz_1 fz_2", d)  # no --keep_scores: nothing to read
    assert "exp/fz_1 not found" in out and "Traceback" not in out
