#!/usr/bin/env python3
"""Fault injection: SIGKILL `sertk extract`, `sertk train` and `sertk infer` at random moments,
rerun the same command to completion, and compare with an uninterrupted run: the features
must be byte-identical (every matrix), the trained weights and valid history identical, the
predictions identical. On a generated corpus (128 utterances, fbank, the epoch-trained
baseline head, which resumes from last.pt).

  tools/venv/bin/python bench/bench_faults.py --trials 7 --json bench/results/faults.json
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def sertk(*args, kill_after=None):
    """Run `sertk ARGS`; with kill_after (seconds) SIGKILL it then. True if it ran to the end."""
    proc = subprocess.Popen([sys.executable, "-m", "sertk.cli", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"sertk {' '.join(map(str, args))} failed: {err.decode()[-800:]}")
        return True
    try:
        proc.wait(timeout=kill_after)
        return True
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return False


def timed(fn):
    t = time.time()
    fn()
    return time.time() - t


def same_features(a: Path, b: Path) -> bool:
    from sertk.data.feature_reader import FeatureReader
    ra, rb = FeatureReader(a), FeatureReader(b)
    return ra.scp.keys() == rb.scp.keys() and all(np.array_equal(ra[u], rb[u]) for u in ra.scp)


def same_model(a: Path, b: Path) -> bool:
    wa = torch.load(a / "best.pt", weights_only=True)["model"]
    wb = torch.load(b / "best.pt", weights_only=True)["model"]
    ha, hb = (json.loads((d / "history.json").read_text()) for d in (a, b))
    return all(torch.equal(wa[k], wb[k]) for k in wa) and [h["valid"] for h in ha] == [h["valid"] for h in hb]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=7, help="per command")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    from sertk.data.folds import make_folds
    from sertk.data.synthetic import make_corpus

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = make_corpus(tmp / "corpus", num_speakers=8, utts_per_emotion=4)
        make_folds(data, tmp / "folds", mode="speaker", num_folds=4, seed=0)
        (tmp / "e.yaml").write_text("upstream: s3prl\nupstream_conf: {name: fbank_no_cmvn}\nchunk_utts: 16\n")
        fold = tmp / "folds" / "fold1"
        train = lambda exp: ("train", "--train-dir", fold / "train", "--valid-dir", fold / "valid",  # noqa: E731
                             "--feat-dir", tmp / "ref_feats", "--exp-dir", exp, "max_epochs=8", "batch_size=8",
                             "average_best=3")
        infer = lambda exp, out: ("infer", "--model", exp / "best.pt", "--feat-dir", tmp / "ref_feats",  # noqa: E731
                                  "--out", out, fold / "test")
        durations = {
            "extract": timed(lambda: sertk("extract", "--config", tmp / "e.yaml", data, tmp / "ref_feats")),
            "train": timed(lambda: sertk(*train(tmp / "ref_exp"))),
        }
        durations["infer"] = timed(lambda: sertk(*infer(tmp / "ref_exp", tmp / "ref_out")))
        ref_pred = (tmp / "ref_out" / "predictions.json").read_text()
        results = {k: {"trials": 0, "killed": 0, "identical": 0} for k in durations}
        for t in range(a.trials):
            for stage, dur in durations.items():
                d = tmp / f"{stage}{t}"
                when = rng.uniform(0.5, max(1.0, dur))  # python start-up is ~2 s of every run
                if stage == "extract":
                    args = ("extract", "--config", tmp / "e.yaml", data, d)
                elif stage == "train":
                    args = train(d)
                else:
                    args = infer(tmp / "ref_exp", d)
                killed = not sertk(*args, kill_after=when)
                sertk(*args)  # the rerun, to the end
                ok = {"extract": lambda: same_features(tmp / "ref_feats", d),
                      "train": lambda: same_model(tmp / "ref_exp", d),
                      "infer": lambda: (d / "predictions.json").read_text() == ref_pred}[stage]()
                r = results[stage]
                r["trials"] += 1
                r["killed"] += killed
                r["identical"] += bool(ok)
                print(f"{stage} trial {t}: kill at {when:.1f} s ({'killed' if killed else 'had finished'}), "
                      f"rerun {'identical' if ok else 'DIFFERENT'}", flush=True)
    out = {"durations_s": {k: round(v, 1) for k, v in durations.items()}, "results": results, "cpus": os.cpu_count()}
    print(json.dumps(out, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
