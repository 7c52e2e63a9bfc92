"""Tiny randomly initialised models of the real pretrained architectures, saved in the
Hugging Face `save_pretrained` layout (nothing can be downloaded here)."""
from pathlib import Path


def make_tiny_wav2vec2(out_dir) -> Path:
    """wav2vec2-base layout (7-layer group-norm CNN, 320x downsampling) at toy width."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    cfg = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                         conv_dim=(16,) * 7, feat_extract_norm="group", num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=4, mask_time_prob=0.05, vocab_size=32)
    Wav2Vec2Model(cfg).save_pretrained(out_dir)
    return Path(out_dir)


def make_tiny_hubert(out_dir) -> Path:
    """HuBERT-base layout (group-norm CNN, 320x downsampling, learned mask embedding) at toy
    width, 4 transformer layers so the third-to-last layer exists."""
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    cfg = HubertConfig(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                       conv_dim=(16,) * 7, feat_extract_norm="group", num_conv_pos_embeddings=16,
                       num_conv_pos_embedding_groups=4, vocab_size=32)
    HubertModel(cfg).save_pretrained(out_dir)
    return Path(out_dir)


def make_tiny_roberta(out_dir, corpus=("stop that now", "what a lovely day")) -> Path:
    """RoBERTa with a real byte-level BPE tokenizer trained on a few sentences."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(list(corpus) * 4, vocab_size=300, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(out))
    tok = RobertaTokenizerFast(vocab_file=str(out / "vocab.json"), merges_file=str(out / "merges.txt"))
    tok.save_pretrained(out)
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=24, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=48, max_position_embeddings=140, pad_token_id=tok.pad_token_id)
    RobertaModel(cfg).save_pretrained(out)
    return out
