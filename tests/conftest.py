import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(env: str, default: Path, what: str) -> Path:
    """A real corpus/model: $ENV or ../shared/...; skip with a message when missing."""
    p = Path(os.environ.get(env, default)).resolve()
    if not p.exists():
        msg = f"{what} not found at {p} (set {env}=/path to run this test)"
        if os.environ.get("SERTK_REQUIRE_REAL_DATA"):  # CI provides them: missing is an error
            pytest.fail(msg)
        pytest.skip(msg)
    return p


@pytest.fixture(scope="session")
def emodb():
    return shared_path("EMODB", SHARED / "data" / "emodb", "EmoDB corpus")


@pytest.fixture(scope="session")
def tava():
    return shared_path("TAVA", SHARED / "data" / "tava", "TAVA corpus")


@pytest.fixture(scope="session")
def urdu():
    return shared_path("URDU", SHARED / "data" / "urdu", "URDU corpus")


@pytest.fixture(scope="session")
def whisper_base():
    return shared_path("WHISPER_BASE", SHARED / "models" / "whisper-base-encoder", "Whisper-base encoder weights")


@pytest.fixture(scope="session")
def synth(tmp_path_factory):
    """A synthetic corpus (8 speakers, 4 emotions x 4 utts each); returns its data dir."""
    from sertk.data.synthetic import make_corpus

    return make_corpus(tmp_path_factory.mktemp("synth"), num_speakers=8, utts_per_emotion=4)


@pytest.fixture()
def synth_copy(synth, tmp_path):
    """A private copy of the synthetic data dir that a test may damage."""
    d = tmp_path / "data"
    shutil.copytree(synth, d)
    shutil.copy(synth.parent / "data" / "emotions.txt", d / "emotions.txt")
    return d


@pytest.fixture(scope="session")
def synth_fbank(synth, tmp_path_factory):
    """s3prl fbank features of the synthetic corpus (extracted once per session)."""
    from sertk.features.config import load_extract_config
    from sertk.features.extract import extract

    out = tmp_path_factory.mktemp("feats") / "fbank"
    conf = load_extract_config(overrides=["upstream=s3prl", "upstream_conf.name=fbank_no_cmvn", "chunk_utts=40"])
    assert extract(synth, out, conf)
    return out


@pytest.fixture(scope="session")
def synth_folds(synth, tmp_path_factory):
    from sertk.data.folds import make_folds

    out = tmp_path_factory.mktemp("folds")
    make_folds(synth, out, mode="speaker", num_folds=4, seed=0)
    return out


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory):
    """A randomly initialised Whisper of the real architecture, saved as a local dir."""
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("tiny_whisper")
    cfg = WhisperConfig(d_model=64, encoder_layers=2, decoder_layers=1, encoder_attention_heads=4,
                        decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
                        num_mel_bins=80, vocab_size=100, max_source_positions=1500,
                        pad_token_id=1, bos_token_id=2, eos_token_id=3, decoder_start_token_id=2)
    WhisperModel(cfg).save_pretrained(d)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def tiny_wav2vec2(tmp_path_factory):
    from tests.tiny_models import make_tiny_wav2vec2

    return make_tiny_wav2vec2(tmp_path_factory.mktemp("tiny_wav2vec2"))


@pytest.fixture(scope="session")
def tiny_hubert(tmp_path_factory):
    from tests.tiny_models import make_tiny_hubert

    return make_tiny_hubert(tmp_path_factory.mktemp("tiny_hubert"))


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory):
    from sertk.data.synthetic import WORDS
    from tests.tiny_models import make_tiny_roberta

    return make_tiny_roberta(tmp_path_factory.mktemp("tiny_roberta"), [w.upper() for w in WORDS.values()])
