"""Fitting the heads over pooled statistics (`linear`, `pooled_mlp`; sertk/models/pooled.py).

1. Every utterance is pooled once (per-layer mean + std; cached as `pooled_stats.npz` in the
   feature dir), so no epoch reads an ark file.
2. Hyperparameters (the probe's layer set and regularisation) and epochs (the MLP) are chosen
   by inner leave-speaker-out cross-validation over the fold's training speakers: train and
   valid together, scored pooled over the inner held-out predictions, so no single valid
   speaker decides. The test split is never read.
3. The final model is fitted on all training speakers (what `refit` did for the epoch loop).

Classes and V/A/D are fitted as separate heads, each selected on its own score (UA or WA;
mean CCC). Seconds per fold on a CPU.
"""
import copy
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp

from sertk.data.datadir import DataDir
from sertk.data.dataset import FeatureDataset
from sertk.fileio import atomic_path, write_json
from sertk.models import build_model
from sertk.models.checkpoint import save_model
from sertk.models.losses import ccc_loss
from sertk.models.pooled import SHRINKAGE_LDA, SPEAKER_NORM_AUTO, apply_scaler, fit_scaler, pooled_stats, speaker_normalise
from sertk.score.metrics import avd_metrics, ua_from_indices
from sertk.train.config import save_config
from sertk.train.shrinkage_lda import ShrinkageLDA
from sertk.train.span_linear import SpanBasis, SpanLogisticRegression

log = logging.getLogger("sertk.train")

CACHE = "pooled_stats.npz"


def pooled_features(reader, utts) -> np.ndarray:
    """(N, L, 2D) pooled statistics of `utts`, from the feature dir's cache (computed for
    every utterance of feats.scp on first use; an atomic write, so parallel folds agree)."""
    cache = Path(reader.dir) / CACHE
    table = None
    if cache.exists():
        with np.load(cache) as z:
            keys, stats = list(z["utts"]), z["stats"]
        table = dict(zip(keys, range(len(keys))))
        if any(u not in table for u in utts):
            table = None  # features were added since: recompute
    if table is None:
        keys = sorted(reader.scp)
        stats = pooled_stats(reader, keys)
        with atomic_path(cache) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, utts=np.array(keys), stats=stats)
        table = dict(zip(keys, range(len(keys))))
    return stats[[table[u] for u in utts]].astype(np.float32)


def speaker_folds(groups, k: int, repeat: int = 0):
    """Inner leave-speaker-out splits: min(k, #speakers) folds of whole speakers; repeat > 0: the
    speakers shuffled into folds (seeded by the repeat) instead of balanced by size."""
    from sklearn.model_selection import GroupKFold

    n = len(set(groups))
    if n < 2:
        raise ValueError("inner cross-validation needs at least 2 training speakers")
    kfold = GroupKFold(n_splits=min(k, n), shuffle=True, random_state=repeat) if repeat else GroupKFold(min(k, n))
    return list(kfold.split(np.zeros(len(groups)), groups=groups))


def inner_fold_count(n_speakers: int, conf) -> int:
    """How many inner folds over n training speakers: `inner_folds`, fewer where a fold would
    hold less than `inner_min_speakers` of them (at least 2 folds; at most one per speaker)."""
    k = min(conf["inner_folds"], n_speakers // conf["inner_min_speakers"])
    return min(max(k, 2), n_speakers)


def speaker_partitions(groups, conf) -> list:
    """The inner CV's partitions (`inner_repeats` of them, each a list of speaker folds). With one
    speaker per fold every partition is the same: leave-one-speaker-out, once."""
    n = len(set(groups))
    k = inner_fold_count(n, conf)
    repeats = 1 if k >= n else conf["inner_repeats"]
    return [speaker_folds(groups, k, r) for r in range(repeats)]


def mean_score(head, ref, runs, metric) -> float:
    """A choice's score over the partitions: the mean of each partition's pooled score."""
    return float(np.mean([score(head, ref, hyp, metric) for hyp in runs]))


def scaled(Z, ref, robust):
    """Z standardised with the statistics of `ref` (a training split), as the model will."""
    return apply_scaler(Z, *fit_scaler(ref, robust), robust)


def score(head, ref, hyp, metric):
    """Selection score of pooled inner predictions: UA/WA for classes, mean CCC for V/A/D."""
    if head == "cls":
        keep = ref >= 0
        r, h = ref[keep], hyp[keep].argmax(-1)
        return float(np.mean(r == h)) if metric == "wa" else ua_from_indices(r, h)
    return avd_metrics(ref, hyp)["ccc"]


def ranked_by(head, ref, runs: list, scores: dict, conf) -> dict:
    """What inner-CV choices are ranked by (higher is better): `scores` (the selection metric of
    each choice's held-out predictions, `runs`: one dict choice -> predictions per partition), or
    with `select_by: log_loss` (classes) the negative class-balanced log loss (mean over the
    partitions). UA on a few hundred held-out utterances moves in steps of whole utterances, so
    its argmax over a grid is noisy; the log loss, a proper scoring rule, moves smoothly."""
    if head != "cls" or conf["select_by"] != "log_loss":
        return scores
    return {k: -float(np.mean([balanced_log_loss(ref, run[k]) for run in runs])) for k in scores}


def balanced_log_loss(ref, hyp) -> float:
    """Log loss of posteriors `hyp` with each class weighted equally (as UA does); ref < 0: unlabelled."""
    keep = ref >= 0
    r, p = ref[keep], hyp[keep]
    w = class_weights(r, p.shape[1])[r]
    return -float(np.sum(w * np.log(np.clip(p[np.arange(len(r)), r], 1e-7, 1.0))) / np.sum(w))


def smooth3(values) -> np.ndarray:
    """Each value averaged with its two neighbours, the ends repeated (the inner-CV curves)."""
    return np.convolve(np.pad(np.asarray(values, dtype=np.float64), 1, mode="edge"), np.ones(3) / 3, mode="valid")


def smoothed_along(scores: dict, line) -> dict:
    """Each score averaged with its neighbours along the grid: `line(key)` -> (line id, position);
    keys of one line are ordered by position and smoothed over 3 (the ends repeated, as the epoch
    curve is). A line of one key keeps its score."""
    lines = {}
    for k in scores:
        lid, pos = line(k)
        lines.setdefault(lid, []).append((pos, k))
    out = {}
    for members in lines.values():
        keys = [k for _, k in sorted(members, key=lambda m: m[0])]
        out.update(zip(keys, smooth3([scores[k] for k in keys]).tolist()))
    return {k: out[k] for k in scores}  # the caller's order: ties go to the first key as before


def simplest_within(scores: dict, tolerance: float, complexity):
    """The key of the best score (ties: the first); with tolerance > 0, the simplest key (the
    smallest complexity(key)) among those scoring within `tolerance` of the best: inner-CV
    differences that small between choices are mostly noise on a few hundred utterances."""
    best = max(scores, key=scores.get)
    if tolerance <= 0:
        return best
    return min((k for k in scores if scores[k] >= scores[best] - tolerance), key=lambda k: (complexity(k), -scores[k]))


def class_weights(y, num_classes):
    counts = np.bincount(y[y >= 0], minlength=num_classes).astype(np.float64)
    return counts.sum() / np.maximum(counts, 1) / num_classes


# ----------------------------------------------------------------------------- linear probe
def _fit_estimator(head, X, t, param, balanced, num_classes, basis=None, warm=None):
    """Logistic regression (classes, in the span of the rows; param: C), shrinkage LDA (param:
    SHRINKAGE_LDA) or ridge per V/A/D dimension (param: alpha). `basis` and `warm` (the fit for
    the previous C) serve a grid over C on the same rows."""
    from sklearn.linear_model import Ridge

    if head == "cls":
        keep = t >= 0
        if param == SHRINKAGE_LDA:
            return ShrinkageLDA(num_classes, balanced).fit(X[keep], t[keep])
        if not keep.all():
            basis = warm = None
        return SpanLogisticRegression(param, num_classes, balanced).fit(X[keep], t[keep], basis, warm)
    fits = []  # V/A/D one by one: a dimension may lack labels where another has them
    for k in range(3):
        keep = np.isfinite(t[:, k])
        fits.append(Ridge(alpha=param).fit(X[keep], t[keep, k]))
    return fits


def _predict(head, est, X):
    if head == "reg":
        return np.stack([f.predict(X) for f in est], 1)
    return est.predict_proba(X)


def _linear_weights(head, est):
    """(out, dim) weight and (out,) bias that reproduce est's outputs (logits or V/A/D)."""
    if head == "reg":
        return np.stack([f.coef_ for f in est]), np.array([f.intercept_ for f in est])
    return est.coef_, est.intercept_


def averaged_over_grid(head, outs) -> np.ndarray:
    """The linear member's outputs averaged over its regularisation grid: V/A/D as they are, classes
    through their logits (the mean log posterior, renormalised: what averaging the weights gives)."""
    if head == "reg":
        return np.mean(outs, 0)
    z = np.mean([np.log(np.maximum(o, 1e-300)) for o in outs], 0)
    return np.exp(z - logsumexp(z, axis=1, keepdims=True))


def fits_over_grid(head, X, t, grid, conf, num_classes):
    """(param, fitted estimator) for each C (alpha) of the grid, ascending. Classes share one span
    basis over the grid and each fit starts from the previous one (warm start: the grid costs
    little more than its largest C)."""
    basis = SpanBasis(X) if head == "cls" and SHRINKAGE_LDA not in grid else None
    est = None
    for p in sorted(grid):
        est = _fit_estimator(head, X, t, p, conf["class_weight"], num_classes, basis,
                             est if head == "cls" else None)
        yield p, est


def out_of_fold(head, Z, t, folds, sets, grid, conf, num_classes, robust) -> dict:
    """(set index, param) -> held-out predictions of every utterance over one partition's folds."""
    preds = {(i, p): None for i in range(len(sets)) for p in grid}
    for tr, va in folds:
        Zs = scaled(Z, Z[tr], robust)
        for i, layers in enumerate(sets):
            X = Zs[:, layers].reshape(len(Z), -1)
            for p, est in fits_over_grid(head, X[tr], t[tr], grid, conf, num_classes):
                out = _predict(head, est, X[va])
                if preds[(i, p)] is None:
                    preds[(i, p)] = np.zeros((len(Z), out.shape[1]))
                preds[(i, p)][va] = out
    if conf["linear_grid_average"]:  # no choice of C left to make: one candidate per layer set
        preds = {(i, tuple(grid)): averaged_over_grid(head, [preds[(i, p)] for p in grid]) for i in range(len(sets))}
    return preds


def select_linear(head, Z, t, partitions, sets, grid, conf, num_classes, robust=False):
    """Inner CV over layer sets x regularisation: ((set index, param), metric scores, the chosen
    candidate's out-of-fold predictions (one array per partition), the scores it was chosen by).
    With `linear_grid_average` param is the whole grid (a tuple): each layer set's fits averaged
    over it."""
    grid = sorted(grid)
    runs = [out_of_fold(head, Z, t, folds, sets, grid, conf, num_classes, robust) for folds in partitions]
    averaged = conf["linear_grid_average"]
    scores = {k: mean_score(head, t, [run[k] for run in runs], _metric(head, conf)) for k in runs[0]}
    choice = ranked_by(head, t, runs, scores, conf)
    if conf["select_smooth"]:  # along C (or alpha) within each layer set
        choice = smoothed_along(choice, lambda k: k)
    # ties: the first candidate (single layers, small C); within select_tolerance of the best,
    # the strongest regularisation (small C, large alpha)
    best = simplest_within(choice, conf["select_tolerance"],
                           lambda k: 0 if averaged else (k[1] if head == "cls" else -k[1]))
    return best, scores, [run[best] for run in runs], choice


def fit_linear_map(head, Z, t, layers, param, conf, num_classes, lin: torch.nn.Linear, robust=False):
    """Fit on all of Z (standardised by its own statistics) and write the weights into `lin`
    (zero for the layers left out). `param` a tuple (linear_grid_average): the mean of the fits
    over those C (alpha), one linear map still."""
    L, W2 = Z.shape[1], Z.shape[2]
    X = scaled(Z, Z, robust)[:, layers].reshape(len(Z), -1)
    if isinstance(param, tuple):  # fitted as select_linear fitted them in each inner fold
        fits = [_linear_weights(head, est) for _, est in fits_over_grid(head, X, t, param, conf, num_classes)]
        W_sel, b = np.mean([w for w, _ in fits], 0), np.mean([c for _, c in fits], 0)
    else:
        W_sel, b = _linear_weights(head, _fit_estimator(head, X, t, param, conf["class_weight"], num_classes))
    W = np.zeros((W_sel.shape[0], L, W2))
    W[:, layers] = W_sel.reshape(W_sel.shape[0], len(layers), W2)
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(W.reshape(W.shape[0], -1), dtype=torch.float32))
        lin.bias.copy_(torch.as_tensor(b, dtype=torch.float32))


def fit_linear(model, Z, targets, groups, conf):
    L = Z.shape[1]
    info = {}
    partitions = speaker_partitions(groups, conf)
    for head, t in targets.items():
        grid = model.linear_grid(head)
        sets = model.candidate_layer_sets()
        (i, p), scores, _, choice = select_linear(head, Z, t, partitions, sets, grid, conf, model.num_classes,
                                                  model.robust)
        fit_linear_map(head, Z, t, sets[i], p, conf, model.num_classes, getattr(model, head), model.robust)
        name = lambda layers: "all" if len(layers) == L else str(layers[0])  # noqa: E731
        kind = "alpha" if head == "reg" else "classifier" if p == SHRINKAGE_LDA else "C"
        info[head] = {"layers": name(sets[i]), kind: p,
                      "inner_score": scores[(i, p)],
                      "inner_scores": {f"{name(sets[j])}/{q}": round(s, 4) for (j, q), s in scores.items()}}
        if choice is not scores:  # select_by: log_loss and/or select_smooth
            info[head].update(ranking_record(head, conf, "inner", choice, lambda k: f"{name(sets[k[0]])}/{k[1]}"))
        log.info("%s: layers %s, %s %s, inner %s %.4f", head, info[head]["layers"], kind, p,
                 _metric(head, conf), scores[(i, p)])
    model.set_pooled_stats(*fit_scaler(Z, model.robust))
    return info


# ------------------------------------------------------------------------------ pooled MLP
def _fresh(member, seed):
    """A re-initialised copy of an ensemble member (same architecture), seeded."""
    torch.manual_seed(seed)
    m = copy.deepcopy(member)
    for mod in m.modules():
        if hasattr(mod, "reset_parameters") and mod is not m:
            mod.reset_parameters()
    if hasattr(m, "weights"):
        torch.nn.init.zeros_(m.weights)
    return m


def _member_loss(head, out, t, weight):
    if head == "cls":
        return torch.nn.functional.cross_entropy(out, t, weight=weight)
    # V/A/D in standardised units: CCC (what is scored) plus a little MSE (keeps the scale)
    keep = torch.isfinite(t)
    return ccc_loss(out, t) + 0.1 * ((out - torch.nan_to_num(t)) ** 2)[keep].mean()


def train_member(head, member, Z, t, epochs, conf, seed, weight=None, on_epoch=None):
    """Minibatch AdamW over pooled statistics (tensors in memory); on_epoch(epoch, member)
    is called after each epoch (inner validation)."""
    g = torch.Generator().manual_seed(seed)
    keep = (t >= 0) if head == "cls" else torch.isfinite(t).any(1)
    Z, t = Z[keep], t[keep]
    opt = torch.optim.AdamW(member.parameters(), lr=conf["optim_conf"].get("lr", 1e-3),
                            weight_decay=conf["optim_conf"].get("weight_decay", 1e-2))
    bs = conf["batch_size"]
    for epoch in range(1, epochs + 1):
        member.train()
        order = torch.randperm(len(Z), generator=g)
        for i in range(0, len(Z), bs):
            idx = order[i: i + bs]
            if head == "reg" and len(idx) < 2:
                continue  # CCC needs two examples
            loss = _member_loss(head, member(Z[idx]), t[idx], weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(member.parameters(), conf["grad_clip"])
            opt.step()
        if on_epoch is not None:
            member.eval()
            with torch.no_grad():
                on_epoch(epoch, member)
    member.eval()
    return member


def _head_targets(head, t, model):
    if head == "cls":
        return torch.as_tensor(t, dtype=torch.long)
    return torch.as_tensor((t - model.avd_mean.numpy()) / model.avd_std.numpy(), dtype=torch.float32)


def _outputs(head, member, Zs, model):
    out = member(Zs)
    if head == "cls":
        return torch.softmax(out, -1).numpy()
    return (out * model.avd_std + model.avd_mean).numpy()


def fit_mlp(model, Z, targets, groups, conf):
    """Epochs by inner leave-speaker-out CV (one member per inner fold, pooled inner scores per
    epoch, smoothed over 3 epochs); with a linear member, its regularisation and its weight in
    the output from the same inner folds' predictions; then `ensemble` members with their own
    seeds, and the linear member, fitted on all."""
    info = {}
    partitions = speaker_partitions(groups, conf)
    E, seed = conf["max_epochs"], conf["seed"]
    for head, t in targets.items():
        members = getattr(model, head)
        tt = _head_targets(head, t, model)
        weight = None
        if head == "cls" and conf["class_weight"]:
            weight = torch.as_tensor(class_weights(t, model.num_classes), dtype=torch.float32)
        width = model.num_classes if head == "cls" else 3
        preds = np.zeros((len(partitions), E, len(Z), width))  # held-out outputs per partition, epoch
        for r, folds in enumerate(partitions):
            for k, (tr, va) in enumerate(folds):
                Zs = torch.as_tensor(scaled(Z, Z[tr], model.robust))

                def on_epoch(epoch, m, va=va, Zs=Zs, r=r):
                    preds[r, epoch - 1][va] = _outputs(head, m, Zs[va], model)
                s = seed + 100 * r + k  # the first partition's members as before repeats existed
                train_member(head, _fresh(members[0], s), Zs[tr], tt[tr], E, conf, s, weight, on_epoch)
        curve = np.array([mean_score(head, t, preds[:, e], _metric(head, conf)) for e in range(E)])
        epochs = int(np.argmax(smooth3(curve))) + 1
        log.info("%s: inner %s by epoch %s -> %d epochs", head, _metric(head, conf),
                 " ".join(f"{c:.3f}" for c in curve), epochs)
        info[head] = {"epochs": epochs, "inner_score": float(curve[epochs - 1]),
                      "inner_curve": [round(float(c), 4) for c in curve]}
        linear = getattr(model, f"{head}_linear")
        if linear is not None:  # the linear member, and how much of it to mix in
            grid = model.linear_grid(head)
            sets = model.candidate_layer_sets()
            (i, p), _, oof, _ = select_linear(head, Z, t, partitions, sets, grid, conf, model.num_classes,
                                              model.robust_linear)
            mixed = [{w: (1 - w) * preds[r, epochs - 1] + w * oof[r] for w in MIX_GRID} for r in range(len(partitions))]
            mix = {w: mean_score(head, t, [run[w] for run in mixed], _metric(head, conf)) for w in MIX_GRID}
            choice = ranked_by(head, t, mixed, mix, conf)
            if conf["select_smooth"]:  # along the weight grid
                choice = smoothed_along(choice, lambda w: (0, w))
            # within select_tolerance of the best: the largest weight of the linear member, the
            # simpler model (on a few hundred utterances the MLPs' inner edge is often noise)
            w = simplest_within(choice, conf["select_tolerance"], lambda v: -v)
            fit_linear_map(head, Z, t, sets[i], p, conf, model.num_classes, linear, model.robust_linear)
            model.set_mix(head, w)
            info[head].update({"linear_layers": "all" if len(sets[i]) == Z.shape[1] else sets[i][0],
                               "linear_param": p, "linear_weight": w, "inner_score": mix[w],
                               "inner_mix_scores": {str(k): round(v, 4) for k, v in mix.items()}})
            if choice is not mix:  # select_by: log_loss and/or select_smooth
                info[head].update(ranking_record(head, conf, "inner_mix", choice, str))
            log.info("%s: linear member %s; inner %s by its weight %s -> %g", head, p, _metric(head, conf),
                     " ".join(f"{k}:{v:.3f}" for k, v in mix.items()), w)
        if linear is not None and float(model.mix[0 if head == "cls" else 1]) == 1.0:
            log.info("%s: the linear member takes all the weight; the MLPs are not trained", head)
            continue
        Zs = torch.as_tensor(scaled(Z, Z, model.robust))
        for m in range(len(members)):
            members[m] = train_member(head, _fresh(members[m], seed + 1000 + m), Zs, tt, epochs, conf,
                                      seed + 1000 + m, weight)
    model.set_pooled_stats(*fit_scaler(Z, model.robust))
    if model.own_linear_scaling:
        model.set_linear_std(fit_scaler(Z, model.robust_linear)[1])
    return info


FITTERS = {"linear": fit_linear, "pooled_mlp": fit_mlp}
MIX_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # weight of the linear member in pooled_mlp's output


def ranking_record(head, conf, prefix, choice: dict, name) -> dict:
    """For selection.json, what the choices were ranked by when not the metric itself: the log
    loss (`<prefix>_log_loss`, lower is better) or, smoothed, `<prefix>_ranked_by` (higher is better)."""
    loss = head == "cls" and conf["select_by"] == "log_loss" and not conf["select_smooth"]
    return {f"{prefix}_log_loss" if loss else f"{prefix}_ranked_by":
            {name(k): round(-v if loss else v, 4) for k, v in choice.items()}}


def _metric(head, conf):
    if head == "reg":
        return "ccc"
    return "wa" if conf["select_metric"] == "wa" else "ua"


def plot_inner_curves(info, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {h: v["inner_curve"] for h, v in info.items() if isinstance(v, dict) and "inner_curve" in v}
    if not curves:
        return
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for h, c in curves.items():
        ax.plot(range(1, len(c) + 1), c, label=f"{h} (chosen: {info[h]['epochs']})")
        ax.axvline(info[h]["epochs"], ls=":", c="grey")
    ax.set_xlabel("epoch"), ax.set_ylabel("inner leave-speaker-out score"), ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def warn_speaker_norm(mode, groups, labels):
    """Per-speaker normalisation removes the class of a speaker who shows one class only: say so
    when over a quarter of the training speakers do (few utterances: speaker_normalise warns)."""
    classes = {}
    for g, c in zip(groups, labels):
        if c >= 0:
            classes.setdefault(g, set()).add(int(c))
    one = [g for g, c in classes.items() if len(c) == 1]
    if len(one) > len(classes) / 4:
        log.warning("speaker_norm %s: %d of %d training speakers show one class only; normalising by "
                    "speaker removes what tells their classes apart", mode, len(one), len(classes))


def fit_model(conf, io, Z, targets, groups, speaker_norm):
    """A fresh model with this per-speaker normalisation, selected and fitted on the training
    speakers: (model, selection info, mean inner score over its heads)."""
    model_conf = {**(conf["model_conf"] or {}), "speaker_norm": speaker_norm}
    model = build_model(conf["model"], model_conf, **io)
    if "reg" in targets:
        a = targets["reg"]
        model.set_target_stats(np.nanmean(a, 0), np.maximum(np.nanstd(a, 0), 1e-6))
    if speaker_norm != "none":  # each training speaker by its own utterances, as test speakers will be
        if "cls" in targets:
            warn_speaker_norm(speaker_norm, groups, targets["cls"])
        Z = speaker_normalise(Z, groups, speaker_norm)
    info = FITTERS[conf["model"]](model, Z, targets, np.array(groups), conf)
    return model, info, float(np.mean([info[h]["inner_score"] for h in targets]))


def fit_speaker_norm(conf, io, Z, targets, groups):
    """fit_model with the configured normalisation, or with `auto` each of SPEAKER_NORM_AUTO
    selected and fitted in full, the best mean inner score winning (ties: none).
    Returns (normalisation, model, info)."""
    mode = (conf["model_conf"] or {}).get("speaker_norm", "none")
    if mode != "auto":
        return (mode, *fit_model(conf, io, Z, targets, groups, mode)[:2])
    fits = {m: fit_model(conf, io, Z, targets, groups, m) for m in SPEAKER_NORM_AUTO}
    mode = max(fits, key=lambda m: fits[m][2])
    log.info("speaker_norm auto: inner score %s -> %s", " ".join(f"{m}:{f[2]:.4f}" for m, f in fits.items()), mode)
    model, info, _ = fits[mode]
    info["speaker_norm"] = {"chosen": mode, "inner_scores": {m: round(f[2], 4) for m, f in fits.items()}}
    return mode, model, info


def train_pooled(conf, train_dir, valid_dir, feat_dir, exp_dir) -> dict:
    """One fold: pooled statistics of train (+ valid) -> inner selection -> final fit -> best.pt."""
    t0 = time.time()
    exp_dir = Path(exp_dir)
    save_config(conf, exp_dir / "config.yaml")
    torch.manual_seed(conf["seed"])
    emotions = DataDir(train_dir).emotions() or []
    dirs = [d for d in (train_dir, valid_dir if conf["fit_valid"] else None) if d is not None]
    sets = [FeatureDataset(d, feat_dir, emotions) for d in dirs]
    if sets[0].multi_stream:
        raise ValueError(f"model {conf['model']!r} reads one feature stream; got {feat_dir}")
    spk = [s.data.utt2spk for s in sets]
    if len(sets) == 2 and set(spk[0].values()) & set(spk[1].values()):
        raise ValueError(f"speaker(s) {sorted(set(spk[0].values()) & set(spk[1].values()))} in both "
                         f"{train_dir} and {valid_dir}")
    utts = [u for s in sets for u in s.utts]
    groups = [s.data.utt2spk[u] for s in sets for u in s.utts]
    Z = pooled_features(sets[0].reader, utts)
    targets = {}
    if emotions and all(s.emo is not None for s in sets):
        targets["cls"] = np.concatenate([s.emo for s in sets])
    if all(s.avd is not None for s in sets):
        targets["reg"] = np.concatenate([s.avd for s in sets]).astype(np.float64)
    if not targets:
        raise ValueError(f"{train_dir}: neither utt2emo nor utt2avd to learn from")
    io = {**sets[0].input_io(), "num_classes": len(emotions) if "cls" in targets else 0,
          "avd": "reg" in targets}
    n_partitions = len(speaker_partitions(groups, conf))
    log.info("%s: %d utterances of %d training speakers (%s), %d inner folds x %d partitions", conf["model"],
             len(utts), len(set(groups)), " + ".join(str(d) for d in dirs), inner_fold_count(len(set(groups)), conf),
             n_partitions)
    mode, model, info = fit_speaker_norm(conf, io, Z, targets, groups)
    # the checkpoint records the normalisation the model was fitted with (not `auto`)
    if "speaker_norm" in (conf["model_conf"] or {}):
        conf = {**conf, "model_conf": {**conf["model_conf"], "speaker_norm": mode}}
    info["seconds"] = round(time.time() - t0, 2)
    info["train_speakers"] = sorted(set(groups))
    info["inner_partitions"] = n_partitions
    save_model(exp_dir / "best.pt", model, conf, emotions, sets[0].meta, info, io)
    write_json(exp_dir / "selection.json", info)
    plot_inner_curves(info, exp_dir / "selection.png")
    log.info("fitted in %.1f s: %s", info["seconds"], json.dumps({k: v for k, v in info.items()
                                                                   if k in ("cls", "reg")})[:400])
    return {"model": conf["model"], **{k: v for k, v in info.items() if k != "train_speakers"}}
