import glob

import numpy as np
import pytest

from sertk.data.audio import load_audio
from sertk.features.upstreams import build_upstream


def _wavs(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(int(16000 * d))).astype(np.float32) for d in (1.3, 2.05, 0.7)[:n]]


def test_s3prl_fbank_shapes_and_batch_independence():
    up = build_upstream("s3prl", {"name": "fbank"})
    wavs = _wavs()
    batch = up(wavs)
    for w, b in zip(wavs, batch):
        single = up([w])[0]
        assert b.shape == single.shape and b.shape[0] == 1 and b.shape[2] == 240
        assert abs(b.shape[1] - len(w) / 160) <= 2  # 100 frames per second
        np.testing.assert_allclose(b, single, atol=1e-4)


def test_librosa_mfcc():
    out = build_upstream("librosa_mfcc", {"n_mfcc": 40})(_wavs(1))[0]
    assert out.shape[0] == 1 and out.shape[2] == 40 and abs(out.shape[1] - 131) <= 1


def test_unknown_upstream():
    with pytest.raises(ValueError, match="unknown upstream 'nope'"):
        build_upstream("nope")


@pytest.mark.parametrize("layers", ["all", [1], 2])
def test_tiny_whisper_layers(tiny_whisper, layers):
    up = build_upstream("whisper", {"name_or_path": str(tiny_whisper), "layers": layers})
    (out,) = up(_wavs(1))
    n = {"all": 3, 2: 1}.get(layers, 1) if not isinstance(layers, list) else len(layers)
    assert out.shape == (n, 65, 64)  # 1.3 s -> 130 mel frames -> 65 encoder frames


def test_tiny_whisper_trimmed_matches_transformers_on_full_window(tiny_whisper):
    """Our trimmed path on a 30 s input must equal transformers' own encoder forward."""
    import torch
    from transformers import WhisperModel

    up = build_upstream("whisper", {"name_or_path": str(tiny_whisper), "convention": "trimmed"})
    w = (0.1 * np.random.default_rng(1).standard_normal(30 * 16000)).astype(np.float32)
    ours = up([w])[0]
    enc = WhisperModel.from_pretrained(tiny_whisper).get_encoder().eval()
    mel = up.fe(w, sampling_rate=16000, return_tensors="pt")["input_features"]
    with torch.no_grad():
        ref = enc(mel, output_hidden_states=True).hidden_states
    for i, h in enumerate(ref):
        np.testing.assert_allclose(ours[i], h[0].numpy(), atol=1e-4, err_msg=f"hidden state {i}")


def test_tiny_whisper_batch_equals_single(tiny_whisper):
    """Padding inside a trimmed batch is masked: batched = one at a time."""
    up = build_upstream("whisper", {"name_or_path": str(tiny_whisper), "convention": "trimmed"})
    wavs = _wavs()
    for b, w in zip(up(wavs), wavs):
        np.testing.assert_allclose(b, up([w])[0], atol=1e-4)


def test_tiny_whisper_padded_keeps_real_frames(tiny_whisper):
    up = build_upstream("whisper", {"name_or_path": str(tiny_whisper), "convention": "padded"})
    out = up(_wavs(2))
    assert [o.shape[1] for o in out] == [65, 103]


def test_real_whisper_base_on_emodb(whisper_base, emodb):
    """The real Whisper-base weights load and give finite, distinct states per utterance."""
    files = sorted(glob.glob(str(emodb / "wav" / "*.wav")))[:3]
    wavs = [load_audio(f, f) for f in files]
    out = build_upstream("whisper", {"name_or_path": str(whisper_base)})(wavs)
    assert all(o.shape == (7, 100, 512) for o in out)  # EmoDB copy: 2.0 s -> 100 frames
    assert all(np.isfinite(o).all() for o in out)
    # the real encoder's deep states differ across utterances far more than rounding
    assert np.abs(out[0][6].mean(0) - out[1][6].mean(0)).max() > 0.1


def test_real_whisper_base_variable_lengths_on_tava(whisper_base, tava):
    """Real speech of 1.3-3.5 s: a padded batch gives each utterance its own-length output,
    equal to encoding it alone (padding masked), in both conventions."""
    files = sorted(glob.glob(str(tava / "audio" / "recordings" / "*.wav")))[:40:8]
    wavs = [load_audio(f, f) for f in files]
    lens = [len(w) for w in wavs]
    assert len(set(lens)) == len(lens)  # genuinely different lengths
    trimmed = build_upstream("whisper", {"name_or_path": str(whisper_base), "layers": [3, 6]})
    batch = trimmed(wavs)
    for w, b in zip(wavs, batch):
        assert b.shape == (2, (len(w) // 160 + 1) // 2, 512)
        np.testing.assert_allclose(b, trimmed([w])[0], atol=2e-2, rtol=1e-3)
    padded = build_upstream("whisper", {"name_or_path": str(whisper_base), "layers": [3],
                                        "convention": "padded"})
    p = padded(wavs[:2])
    assert [x.shape[1] for x in p] == [b.shape[1] for b in batch[:2]]


def test_tiny_hf_wav2vec2_from_local_dir(tmp_path):
    """The `hf` upstream on a randomly initialised wav2vec2 of the real architecture."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    cfg = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                         conv_dim=(16, 16, 16, 16, 16, 16, 16), num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=2, feat_extract_norm="layer", do_stable_layer_norm=True)
    Wav2Vec2Model(cfg).save_pretrained(tmp_path)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(tmp_path)
    up = build_upstream("hf", {"name_or_path": str(tmp_path)})
    wavs = _wavs()
    out = up(wavs)
    for w, o in zip(wavs, out):
        assert o.shape[0] == 3 and o.shape[2] == 32  # embeddings + 2 layers
        assert abs(o.shape[1] - len(w) / 320) <= 1  # 50 frames per second
        np.testing.assert_allclose(o, up([w])[0], atol=1e-3)  # attention mask hides the padding


def test_opensmile_egemaps_descriptors_and_functionals():
    """The handcrafted baseline: eGeMAPS LLDs as 100 frames/s, functionals as one frame."""
    import numpy as np

    from sertk.features.upstreams import build_upstream

    t = np.arange(16000 * 2) / 16000
    wavs = [0.3 * np.sin(2 * np.pi * 180 * t).astype(np.float32), 0.1 * np.random.default_rng(0).normal(size=8000).astype(np.float32)]
    lld = build_upstream("opensmile", {"feature_set": "eGeMAPSv02", "level": "lld"})(wavs)
    assert [x.shape[0] for x in lld] == [1, 1] and lld[0].shape[2] == 25
    assert abs(lld[0].shape[1] - 200) <= 5 and abs(lld[1].shape[1] - 50) <= 5
    fun = build_upstream("opensmile", {"feature_set": "eGeMAPSv02", "level": "functionals"})(wavs)
    assert all(f.shape == (1, 1, 88) and np.all(np.isfinite(f)) for f in fun)
    with pytest.raises(ValueError, match="feature_set"):
        build_upstream("opensmile", {"feature_set": "GeMAPS"})


def test_whisper_longer_than_30s_is_encoded_in_pieces(tiny_whisper):
    """45 s: two 22.5 s pieces, each encoded as a short utterance, frames concatenated."""
    up = build_upstream("whisper", {"name_or_path": str(tiny_whisper), "convention": "trimmed"})
    rng = np.random.default_rng(0)
    long = (0.1 * rng.standard_normal(45 * 16000)).astype(np.float32)
    short = (0.1 * rng.standard_normal(3 * 16000)).astype(np.float32)
    out_long, out_short = up([long, short])
    halves = [up([long[:360000]])[0], up([long[360000:]])[0]]
    np.testing.assert_allclose(out_long, np.concatenate(halves, axis=1), atol=1e-5)
    assert out_long.shape[1] == 2250  # 50 frames per second
    np.testing.assert_allclose(out_short, up([short])[0], atol=1e-5)
