"""The expression-aware ECAPA-TDNN end to end on the synthetic corpus, which has both styles
(spontaneous utterances are breathier, with a loudness flutter): the auxiliary head is
trained, its accuracy logged on valid, predicted at inference and scored on test."""
import json

from sertk.data.feature_reader import FeatureReader
from sertk.infer.predict import Predictor
from sertk.score.report import score_dir
from sertk.train.config import load_config
from sertk.train.trainer import train

TINY = ["model=ecapa_mtl", "model_conf.channels=32", "model_conf.model_scale=4", "model_conf.aggregation_dim=96",
        "model_conf.embed_dim=32", "batch_size=16", "max_epochs=12", "patience=12", "optim_conf.lr=2e-3"]


def test_ecapa_mtl_learns_emotion_and_style(synth_folds, synth_fbank, tmp_path):
    fold = synth_folds / "fold1"
    exp = tmp_path / "exp"
    train(load_config(overrides=TINY), fold / "train", fold / "valid", synth_fbank, exp)
    hist = json.loads((exp / "history.json").read_text())
    assert all("style_acc" in h["valid"] for h in hist)
    assert "valid style_acc" in (exp / "train.log").read_text()

    p = Predictor(exp / "best.pt")
    reader = FeatureReader(synth_fbank)
    utts = (fold / "test" / "utt2spk").read_text().split()[::2]
    p.write(p.from_features(utts, reader), tmp_path / "dec")
    hyp_styles = dict(line.split() for line in (tmp_path / "dec" / "utt2style_hyp").read_text().splitlines())
    assert set(hyp_styles) == set(utts) and set(hyp_styles.values()) <= {"acted", "spontaneous"}
    assert "style" in json.loads((tmp_path / "dec" / "predictions.json").read_text())[0]

    m = score_dir(fold / "test" / "utt2emo", tmp_path / "dec" / "utt2emo_hyp",
                  ["angry", "happy", "neutral", "sad"], tmp_path / "score", attr_ref_dir=fold / "test",
                  attr_hyp_dir=tmp_path / "dec")
    assert m["style_acc"] >= 0.75  # 2 balanced styles: chance 0.5
    assert m["ua"] > 0.5           # 4 balanced emotions: chance 0.25
    assert "gender_acc" not in m   # no gender head

    # `sertk analyze separability` on the trained model's embeddings: emotion and style
    from click.testing import CliRunner
    from sertk.cli import main
    r = CliRunner().invoke(main, ["analyze", "separability", "--model", str(exp / "best.pt"), "--feat-dir",
                                  str(synth_fbank), "--out", str(tmp_path / "sep.json"), str(fold / "test")])
    assert r.exit_code == 0, r.output
    sep = json.loads((tmp_path / "sep.json").read_text())
    assert set(sep) >= {"utt2emo", "utt2style"} and len(sep["utt2emo"]["pairs"]) == 6
    assert sep["utt2emo"]["mean"] > 0 and sep["utt2style"]["mean"] > 0
    # an all-acted split (EmoDB-like): the style table has one class and is skipped
    from sertk.data.datadir import DataDir
    d = DataDir(fold / "test")
    d.subset(d.select({"utt2style": ["acted"]}), tmp_path / "acted")
    r = CliRunner().invoke(main, ["analyze", "separability", "--model", str(exp / "best.pt"), "--feat-dir",
                                  str(synth_fbank), str(tmp_path / "acted")])
    assert r.exit_code == 0 and "utt2style: one class only (acted), skipped" in r.output
    assert "utt2emo: average pairwise Fisher ratio" in r.output


def test_without_mtl_predicts_no_style(synth_folds, synth_fbank, tmp_path):
    fold = synth_folds / "fold1"
    train(load_config(overrides=TINY + ["max_epochs=2", "model_conf.multitask=false"]),
          fold / "train", fold / "valid", synth_fbank, tmp_path / "exp")
    hist = json.loads((tmp_path / "exp" / "history.json").read_text())
    assert "style_acc" not in hist[-1]["valid"] and "ua" in hist[-1]["valid"]


def test_a_training_set_one_past_a_whole_batch_trains_with_batch_norm(synth_folds, synth_fbank, tmp_path):
    """k * batch_size + 1 training utterances used to end every epoch on a batch of one, which
    batch norm refuses in training (an inner CV split of EmoDB hit it); it joins the batch before."""
    fold = synth_folds / "fold1"
    n = len((fold / "train" / "utt2spk").read_text().splitlines())
    conf = load_config(overrides=TINY + ["max_epochs=1", "model_conf.multitask=false", f"batch_size={n - 1}"])
    train(conf, fold / "train", fold / "valid", synth_fbank, tmp_path / "exp")
    assert (tmp_path / "exp" / "best.pt").exists()
