"""MMER on tiny randomly initialised wav2vec2 / RoBERTa of the real architectures."""
import pytest
import torch

from sertk.models.mmer import MMER


def _model(w2v, rob, **kw):
    conf = dict(speech_encoder={"name_or_path": str(w2v)}, text_encoder={"name_or_path": str(rob)},
                fusion_dim=32, heads=4, ffn_dim=64)
    conf.update(kw)
    return MMER(num_classes=4, vocab_size=30, **conf)


def _batch():
    torch.manual_seed(1)
    return {"wav": torch.randn(2, 16000) * 0.1, "wav_lengths": torch.tensor([16000, 8000]),
            "text": ["STOP THAT NOW", "WHAT A LOVELY DAY"], "emo": torch.tensor([0, 3]),
            "ctc": torch.tensor([[5, 6, 7, -1], [8, 9, 10, 11]]), "ctc_lengths": torch.tensor([3, 4])}


def test_cnn_and_text_encoder_frozen_transformer_trained(tiny_wav2vec2, tiny_roberta):
    m = _model(tiny_wav2vec2, tiny_roberta).train()
    assert not any(p.requires_grad for p in m.speech.model.feature_extractor.parameters())
    assert all(p.requires_grad for p in m.speech.model.encoder.parameters())
    assert not any(p.requires_grad for p in m.text.parameters())
    assert not m.text.model.training  # frozen encoder: no dropout even in train mode
    batch = _batch()
    out = m(batch)
    loss = m.loss(out, batch)
    loss.backward()
    assert m.speech.model.encoder.pos_conv_embed.conv.bias.grad is not None  # (layers may be dropped: LayerDrop)
    assert m.ctc.ctc_lo.weight.grad is not None and m.fusion.gate.weight.grad is not None
    # CE + 0.1 * CTC, the CTC term from ESPnet's module
    ce = torch.nn.functional.cross_entropy(out["logits"], batch["emo"])
    assert torch.allclose(loss, ce + 0.1 * out["ctc_loss"])
    # the shorter utterance has fewer encoder frames (lengths follow the CNN's downsampling)
    assert out["speech_lengths"].tolist() == [49, 24]


def test_ctc_greedy_decoding_collapses_repeats_and_blanks(tiny_wav2vec2, tiny_roberta):
    m = _model(tiny_wav2vec2, tiny_roberta).eval()
    out = {"speech_hidden": torch.zeros(1, 6, 32), "speech_lengths": torch.tensor([5])}
    with torch.no_grad():
        m.ctc.ctc_lo.weight.zero_()
        m.ctc.ctc_lo.bias.zero_()
    m.ctc.ctc_lo.bias.data[7] = 1.0  # every frame says 7 -> one 7 after collapsing
    assert m.ctc_greedy(out) == [[7]]


@pytest.mark.parametrize("mode,ctc_weight", [("speech", 0.1), ("text", 0.0), ("multimodal", 0.0)])
def test_ablations_build_only_what_they_use(tiny_wav2vec2, tiny_roberta, mode, ctc_weight):
    m = _model(tiny_wav2vec2, tiny_roberta, mode=mode, ctc_weight=ctc_weight)
    assert (m.speech is None) == (mode == "text")
    assert (m.text is None) == (mode == "speech")
    assert (m.ctc is None) == (ctc_weight == 0 or mode == "text")
    batch = _batch()
    if mode == "speech":
        del batch["text"]  # the speech-only baseline never reads transcripts
    out = m(batch)
    assert out["logits"].shape == (2, 4)
    assert ("ctc_loss" in out) == (m.ctc is not None)


def test_text_padding_does_not_change_the_prediction(tiny_wav2vec2, tiny_roberta):
    """Masks in the cross-modal blocks and the pooling: a short transcript padded in a batch
    with a long one gives the same logits as alone (speech kept identical)."""
    m = _model(tiny_wav2vec2, tiny_roberta, ctc_weight=0.0).eval()
    wav = torch.randn(1, 12000) * 0.1
    one = {"wav": wav, "wav_lengths": torch.tensor([12000]), "text": ["STOP"]}
    two = {"wav": wav.repeat(2, 1), "wav_lengths": torch.tensor([12000, 12000]),
           "text": ["STOP", "WHAT A LOVELY DAY WHAT A LOVELY DAY"]}
    with torch.no_grad():
        a, b = m(one)["logits"][0], m(two)["logits"][0]
    assert torch.allclose(a, b, atol=1e-5)


def test_bad_options(tiny_wav2vec2, tiny_roberta):
    with pytest.raises(ValueError, match="mode"):
        _model(tiny_wav2vec2, tiny_roberta, mode="video")
    with pytest.raises(ValueError, match="vocabulary"):
        MMER(num_classes=4, vocab_size=0, mode="speech", speech_encoder={"name_or_path": str(tiny_wav2vec2)})


def test_whisper_encoder_as_the_speech_encoder(tiny_whisper, tiny_roberta):
    """A Whisper encoder fine-tunes through the trimmed front end: convolutions frozen,
    50 frames per second of real audio, gradients reach the transformer."""
    m = MMER(num_classes=4, vocab_size=30, fusion_dim=32, heads=4, ffn_dim=64,
             speech_encoder={"source": "whisper", "name_or_path": str(tiny_whisper)},
             text_encoder={"name_or_path": str(tiny_roberta)}).train()
    assert not m.speech.model.conv1.weight.requires_grad
    batch = _batch()
    out = m(batch)
    assert out["speech_lengths"].tolist() == [50, 25]
    m.loss(out, batch).backward()
    assert m.speech.model.layers[-1].fc1.weight.grad is not None


def test_weighted_speech_layers_feed_emotion_while_ctc_reads_the_last(tiny_whisper, tiny_roberta):
    """speech_layers=weighted: the emotion path reads a learned mix of every layer (from the
    cache of the frozen part too), the CTC head the encoder's last layer, as with `last`."""
    conf = dict(num_classes=4, vocab_size=30, fusion_dim=32, heads=4, ffn_dim=64,
                text_encoder={"name_or_path": str(tiny_roberta)})
    enc = {"source": "whisper", "name_or_path": str(tiny_whisper), "train_top_layers": 1}
    torch.manual_seed(0)
    mixed = MMER(speech_encoder=enc, speech_layers="weighted", **conf).eval()
    last = MMER(speech_encoder=enc, **conf).eval()
    last.speech.load_state_dict(mixed.speech.state_dict())
    assert mixed.speech_mix.layer_weights().shape == (mixed.speech.num_states,) == (3,)
    batch = {**_batch(), "utt": ["a", "b"]}
    with torch.no_grad():
        a, b = mixed(batch), last(batch)
    assert torch.allclose(a["speech_hidden"], b["speech_hidden"], atol=1e-6)
    assert torch.equal(a["speech_lengths"], b["speech_lengths"])
    mixed.train()
    out = mixed(batch)
    mixed.loss(out, batch).backward()
    assert mixed.speech_mix.weights.grad is not None and mixed.speech_mix.weights.grad.abs().sum() > 0
    assert mixed.speech.model.layers[-1].fc1.weight.grad is not None
    with pytest.raises(ValueError, match="speech_layers"):
        MMER(speech_encoder=enc, speech_layers="middle", **conf)
