import torch

from sertk.models.crossmodal import CrossModalFusion


def test_fusion_shapes_and_padding_is_ignored():
    torch.manual_seed(0)
    f = CrossModalFusion(dim=16, heads=2, ffn_dim=32, dropout=0.0).eval()
    speech, text = torch.randn(2, 12, 16), torch.randn(2, 5, 16)
    s_mask = torch.tensor([[True] * 12, [True] * 7 + [False] * 5])
    t_mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    m = f(speech, s_mask, text, t_mask)
    assert m.shape == (2, 5, 16)
    # changing padded speech frames or padded words changes nothing at the real words
    speech2, text2 = speech.clone(), text.clone()
    speech2[1, 7:] = 100.0
    text2[1, 3:] = -100.0
    m2 = f(speech2, s_mask, text2, t_mask)
    assert torch.allclose(m[1, :3], m2[1, :3], atol=1e-5) and torch.allclose(m[0], m2[0], atol=1e-6)
    # and equals running the second example alone, unpadded
    alone = f(speech[1:, :7], s_mask[1:, :7], text[1:, :3], t_mask[1:, :3])
    assert torch.allclose(m[1, :3], alone[0], atol=1e-5)


def test_each_block_is_used():
    f = CrossModalFusion(dim=16, heads=2, ffn_dim=32)
    m = f(torch.randn(2, 6, 16), torch.ones(2, 6, dtype=torch.bool), torch.randn(2, 4, 16), torch.ones(2, 4, dtype=torch.bool))
    m.sum().backward()
    for name in ("block_b", "block_c", "block_d", "gate", "merge"):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(f, name).parameters()), name
