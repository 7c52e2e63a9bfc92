"""Real data: the EmoDB recipe end to end (fbank + the default head, all 10 leave-one-speaker-out folds)."""
import json
import os
import subprocess
import sys
from pathlib import Path

from sertk.data.datadir import DataDir
from tests.conftest import REPO


def test_emodb_fbank_recipe_all_folds(emodb, tmp_path):
    recipe = REPO / "egs" / "emodb"
    env = dict(os.environ, EMODB=str(emodb))
    env.pop("WHISPER", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    cmd = (f"./run.sh --datadir {tmp_path}/data --dumpdir {tmp_path}/dump --expdir {tmp_path}/exp "
           "--extract_config conf/extract_fbank.yaml --stop_stage 6")
    p = subprocess.run(cmd, shell=True, cwd=recipe, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]

    data = DataDir(tmp_path / "data" / "all")
    assert len(data.utts) == 535 and len(data.speakers()) == 10
    assert sorted(set(data.tables["spk2gender"].values())) == ["f", "m"]
    tested = []
    for f in range(1, 11):
        fold = tmp_path / "data" / "folds" / f"fold{f}"
        test_spk = DataDir(fold / "test").speakers()
        assert len(test_spk) == 1
        assert not set(test_spk) & (set(DataDir(fold / "train").speakers()) | set(DataDir(fold / "valid").speakers()))
        tested += test_spk
    assert sorted(tested) == data.speakers()

    res = json.loads((tmp_path / "exp" / "train_pooled_mlp_fbank" / "RESULTS.json").read_text())
    ua = res["summary"]["ua"]["mean"]
    print(f"EmoDB fbank 10-fold UA {ua:.3f} WA {res['summary']['wa']['mean']:.3f}")
    assert len(res["folds"]) == 10
    assert ua > 0.45, f"UA {ua:.3f}: chance is 0.143, a logistic regression on pooled fbank reaches 0.527"

    # a long recording of the fold-1 test speaker's clips with pauses between them (48 kHz stereo,
    # one channel inverted): silero-vad finds each clip, and the segments mostly get the label the
    # same model gives each clip alone
    import numpy as np
    import soundfile as sf

    from sertk.data.audio import load_audio, resample
    from sertk.fileio import read_table
    test = DataDir(tmp_path / "data" / "folds" / "fold1" / "test")
    alone = read_table(tmp_path / "exp" / "train_pooled_mlp_fbank" / "fold1" / "decode_test" / "utt2emo_hyp")
    clips = test.utts[::max(1, len(test.utts) // 12)][:12]  # 12 x 2 s + pauses: longer than 30 s
    pause = np.zeros(int(1.5 * 48000), np.float32)
    parts, spans, t = [pause], [], 1.5
    for u in clips:
        y = resample(load_audio(u, test.tables["wav.scp"][u]), 16000, 48000)
        parts += [y, pause]
        spans.append((t, t + len(y) / 48000))
        t += len(y) / 48000 + 1.5
    mono = np.concatenate(parts)
    sf.write(tmp_path / "talk.wav", np.stack([mono, -0.8 * mono], 1), 48000)
    p = subprocess.run(f"sertk infer --model {tmp_path}/exp/train_pooled_mlp_fbank/fold1/best.pt --extract-config "
                       f"{tmp_path}/dump/fbank/extract.yaml --out {tmp_path}/talk {tmp_path}/talk.wav", shell=True,
                       cwd=recipe, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    rows = json.loads((tmp_path / "talk" / "segments.json").read_text())
    assert len(rows) == len(clips), [(r["start"], r["end"]) for r in rows]
    agree = 0
    for r, (s, e), u in zip(rows, spans, clips):
        assert s - 0.3 < r["start"] < r["end"] < e + 0.3  # each segment lies on its clip
        agree += r["label"] == alone[u]
    # a segment is the clip less its edge pauses, which a head trained on whole 2 s clips reads a
    # little differently (measured: 9 of 12 the same label, 2026-11-30)
    print(f"long recording: {agree}/{len(clips)} segment labels equal the clip's own")
    assert agree >= 2 * len(clips) // 3
    assert (tmp_path / "talk" / "timeline_talk.png").exists()
