"""How far apart classes lie in a model's embedding space: the average pairwise Fisher
discriminant ratio (the expression-aware ECAPA paper's Fig. 2, over emotions and over
acted/spontaneous styles, with and without multitask learning).

For classes i, j with per-dimension means mu and variances var over their utterances:
    FDR(i, j) = mean over dimensions d of (mu_i[d] - mu_j[d])^2 / (var_i[d] + var_j[d])
and the score is the mean of FDR over all class pairs. Higher = more separable.
"""
from itertools import combinations
from typing import Dict

import numpy as np

from sertk.data.datadir import NO_LABEL


def pairwise_fisher_ratio(emb: Dict[str, np.ndarray], labels: Dict[str, str], eps: float = 1e-8) -> Dict:
    """{"mean": average FDR, "pairs": {"a|b": FDR}, "counts": {class: n}} over the utterances
    that have an embedding and a label; classes with fewer than 2 utterances are left out."""
    by_class: Dict[str, list] = {}
    for u, e in emb.items():
        lab = labels.get(u, NO_LABEL)
        if lab != NO_LABEL:
            by_class.setdefault(lab, []).append(np.asarray(e, dtype=np.float64))
    stats = {c: (np.mean(v, 0), np.var(v, 0)) for c, v in sorted(by_class.items()) if len(v) >= 2}
    if len(stats) < 2:
        raise ValueError(f"separability needs 2 classes with 2+ utterances each, got {sorted(by_class)}")
    pairs = {f"{a}|{b}": float(np.mean((stats[a][0] - stats[b][0]) ** 2 / (stats[a][1] + stats[b][1] + eps)))
             for a, b in combinations(sorted(stats), 2)}
    return {"mean": float(np.mean(list(pairs.values()))), "pairs": pairs,
            "counts": {c: len(by_class[c]) for c in stats}}
