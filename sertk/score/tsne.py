"""t-SNE map of utterance embeddings (CAMuLeNet's Fig. 3): colour = emotion, marker = gender."""
from typing import Dict, Optional

import numpy as np

from sertk.fileio import atomic_path


def plot_tsne(emb: Dict[str, np.ndarray], utt2emo: Dict[str, str], path, utt2gender: Optional[Dict[str, str]] = None,
              title: str = "", seed: int = 0) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    utts = sorted(u for u in emb if u in utt2emo)
    if len(utts) < 5:
        raise ValueError(f"t-SNE needs at least 5 labelled utterances, got {len(utts)}")
    x = TSNE(n_components=2, perplexity=min(30.0, (len(utts) - 1) / 3), init="pca",
             random_state=seed).fit_transform(np.stack([emb[u] for u in utts]))
    fig, ax = plt.subplots(figsize=(6, 5))
    markers = {"f": "o", "m": "^"}
    for i, emo in enumerate(sorted({utt2emo[u] for u in utts})):
        for g in sorted({(utt2gender or {}).get(u, "") for u in utts}):
            keep = [k for k, u in enumerate(utts) if utt2emo[u] == emo and (utt2gender or {}).get(u, "") == g]
            if keep:
                ax.scatter(x[keep, 0], x[keep, 1], s=14, color=plt.cm.tab10(i % 10), marker=markers.get(g, "o"),
                           label=f"{emo} ({g})" if g else emo)
    ax.set_xticks([]), ax.set_yticks([]), ax.set_title(title)
    ax.legend(fontsize=7, markerscale=1.2, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
