"""SpeechEncoder(train_top_layers=k): only the top k layers train, the frozen part's output is
cached per utterance, and a model trained from the cache computes exactly what running the
frozen part on the fly computes (tiny random Whisper and HuBERT of the real architectures)."""
import pytest
import torch

from sertk.models.pretrained import SpeechEncoder


def _batch(seed=0, lengths=(8000, 5600, 7000)):
    g = torch.Generator().manual_seed(seed)
    wav = torch.zeros(len(lengths), max(lengths))
    for i, n in enumerate(lengths):
        wav[i, :n] = 0.1 * torch.randn(n, generator=g)
    return wav, torch.tensor(lengths)


@pytest.fixture(params=["whisper", "hf"])
def encoder_dir(request, tiny_whisper, tiny_hubert):
    return request.param, tiny_whisper if request.param == "whisper" else tiny_hubert


def test_cached_frozen_part_equals_on_the_fly(encoder_dir):
    source, path = encoder_dir
    torch.manual_seed(0)
    enc = SpeechEncoder(str(path), source=source, train_top_layers=1).eval()
    n = len(enc._layers())
    trained = {name for name, p in enc.named_parameters() if p.requires_grad}
    assert trained and all(f"layers.{n - 1}." in name or "layer_norm" in name for name in trained)
    wav, lens = _batch()
    keys = ["a", "b", "c"]
    with torch.no_grad():
        fly, fly_lens = enc(wav, lens)                       # frozen part run on the fly
        enc(wav[[2, 0]], lens[[2, 0]], [keys[2], keys[0]])   # cache filled in another batch
        enc(wav[1:2, :5600], lens[1:2], [keys[1]])
        assert len(enc._cut_cache) == 3
        cached, cached_lens = enc(wav, lens, keys)           # from the cache
    assert torch.equal(fly_lens, cached_lens)
    assert torch.allclose(fly, cached, atol=1e-5)
    # the same utterance id with other samples is not served from the cache
    with torch.no_grad():
        other, _ = enc(wav.flip(1), lens, keys)
    assert len(enc._cut_cache) == 6 and not torch.allclose(other, cached)


def test_all_layers_on_top_reproduce_the_whole_encoder(encoder_dir):
    """train_top_layers = every layer: the split computation is the encoder's own (one utterance)."""
    source, path = encoder_dir
    whole = SpeechEncoder(str(path), source=source).eval()
    n = len(whole._layers())
    split = SpeechEncoder(str(path), source=source, train_top_layers=n).eval()
    wav, lens = _batch(lengths=(7000,))
    with torch.no_grad():
        a, _ = whole(wav, lens)
        b, _ = split(wav, lens, ["u"])
    assert torch.allclose(a, b, atol=1e-5)


def test_cache_of_all_frozen_layers_gives_the_whole_encoders_states(encoder_dir):
    """cache_all_layers: every hidden state, frozen ones from the cache, is the whole encoder's
    (one utterance), and a padded batch from the cache equals the one computed on the fly."""
    source, path = encoder_dir
    whole = SpeechEncoder(str(path), source=source).eval()
    split = SpeechEncoder(str(path), source=source, train_top_layers=1, cache_all_layers=True).eval()
    wav, lens = _batch(lengths=(7000,))
    with torch.no_grad():
        a, _ = whole.hidden_states(wav, lens)
        split.hidden_states(wav, lens, keys=["u"])      # fills the cache
        b, _ = split.hidden_states(wav, lens, keys=["u"])
    assert len(a) == len(b) == whole.num_states and len(split._cut_cache) == 1
    for x, y in zip(a, b):
        assert torch.allclose(x, y, atol=1e-5)
    wav, lens = _batch()
    with torch.no_grad():
        fly, fly_lens = split.hidden_states(wav, lens)
        cached, cached_lens = split.hidden_states(wav, lens, keys=["a", "b", "c"])
    assert torch.equal(fly_lens, cached_lens)
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(fly, cached))


def test_training_moves_only_the_top_layers(tiny_whisper):
    enc = SpeechEncoder(str(tiny_whisper), source="whisper", train_top_layers=1).train()
    assert not enc.model.layers[0].training and enc.model.layers[1].training  # frozen part: as at inference
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    opt = torch.optim.SGD([p for p in enc.parameters() if p.requires_grad], lr=0.1)
    wav, lens = _batch()
    out, _ = enc(wav, lens, ["a", "b", "c"])
    out.pow(2).mean().backward()
    opt.step()
    changed = {k for k, v in enc.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("model.layers.1.", "model.layer_norm.")) for k in changed)


def test_refusals(tiny_whisper, tiny_hubert):
    with pytest.raises(ValueError, match="the encoder has 2 layers"):
        SpeechEncoder(str(tiny_whisper), source="whisper", train_top_layers=3)
    enc = SpeechEncoder(str(tiny_hubert), source="hf", train_top_layers=1)
    wav, lens = _batch()
    with pytest.raises(ValueError, match="frame masking needs mask_embed"):
        enc.hidden_states(wav, lens, torch.zeros(3, 20, dtype=torch.bool))


def test_masking_at_the_cut_with_every_layer_trained_is_whispers_masking(tiny_whisper):
    """Masked prediction from the cache masks the first trained layer's input; with every layer
    trained that is the input embedding, where it equals masking the whole encoder's input."""
    whole = SpeechEncoder(str(tiny_whisper), source="whisper").eval()
    split = SpeechEncoder(str(tiny_whisper), source="whisper", train_top_layers=len(whole._layers())).eval()
    wav, lens = _batch(lengths=(7000,))
    T = int(whole.output_lengths(lens)[0])
    mask = torch.zeros(1, T, dtype=torch.bool)
    mask[0, 5:12] = True
    embed = torch.randn(whole.hidden_size)
    with torch.no_grad():
        a, _ = whole.hidden_states(wav, lens, mask, embed)
        b, _ = split.hidden_states(wav, lens, mask, embed, keys=["u"])
        plain, _ = split.hidden_states(wav, lens, keys=["u"])
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(a, b))
    assert not torch.allclose(b[-1][0, 5:12], plain[-1][0, 5:12])   # the masked frames changed
    assert torch.allclose(b[0][0, :5], plain[0][0, :5])              # the others' input did not


@pytest.mark.parametrize("source", ["whisper", "hf"])
def test_masked_frames_at_the_cut_keep_their_positions(source, tiny_whisper, tiny_hubert):
    """Below the top layers: masked frames are mask_embed plus their position, so that a span of
    masked frames does not become identical frames; the cache is of the unmasked states."""
    enc = SpeechEncoder(str(tiny_whisper if source == "whisper" else tiny_hubert), source=source,
                        train_top_layers=1).eval()
    wav, lens = _batch()
    T = int(enc.output_lengths(lens).max())
    mask = torch.zeros(3, T, dtype=torch.bool)
    mask[:, 2:8] = True
    embed = torch.zeros(enc.hidden_size, requires_grad=True)
    states, out_lens = enc.hidden_states(wav, lens, mask, embed, keys=["a", "b", "c"])
    cut = states[-2]
    assert torch.equal(out_lens, enc.output_lengths(lens).clamp(max=T))
    assert not torch.allclose(cut[0, 2], cut[0, 3]) and torch.allclose(cut[0, 2], cut[1, 2])
    states[-1][mask].sum().backward()
    assert embed.grad.abs().sum() > 0                                # the embedding learns
    with torch.no_grad():
        again, _ = enc.hidden_states(wav, lens, keys=["a", "b", "c"])
    assert not torch.allclose(again[-2][:, 2:8], cut[:, 2:8].detach())  # the cache is unmasked
