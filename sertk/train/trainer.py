"""`sertk train`: one fold, cached features, selection on the VALID split only.

exp_dir gets: config.yaml (resolved), train.log, tensorboard/, last.pt (full state, every
epoch, atomic), best.pt (model for inference), history.json, curves.png, and train.done
(the marker that makes a rerun a no-op). An interrupted run resumes from last.pt and,
because the RNG state is checkpointed and the sampler is seeded per epoch, ends with the
same model as an uninterrupted one (on CPU).
"""
import functools
import json
import logging
import math
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from sertk.data.audio_dataset import AudioTextDataset, character_error_rate, collate_audio
from sertk.data.datadir import ATTRIBUTES, DataDir
from sertk.data.dataset import FeatureDataset, LengthBatchSampler, collate, to_device
from sertk.devices import flush_subnormals, resolve_device
from sertk.fileio import atomic_path, write_json
from sertk.models import MODELS, build_model, input_kind, model_args
from sertk.models.checkpoint import init_params, read_checkpoint, save_checkpoint, save_model
from sertk.models.losses import attribute_class
from sertk.score.metrics import METRICS, avd_metrics, is_better, ua_from_indices
from sertk.text.charvocab import CharVocab
from sertk.config import config_diff, load_yaml
from sertk.train.config import DEFAULTS, save_config

log = logging.getLogger("sertk.train")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def add_log_file(exp_dir: Path, rank: int = 0):
    """Log to exp_dir/train.log (rank 0) for the duration of one training run."""
    if rank != 0:
        return None
    fh = logging.FileHandler(exp_dir / "train.log")
    fh.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    log.addHandler(fh)
    log.setLevel(logging.INFO)
    return fh


def feature_stats(ds: FeatureDataset, reader, max_utts: int = 2000):
    """Per-layer, per-dim mean/std over the frames of (up to max_utts) training utterances."""
    L, D = reader.L, reader.D
    s, ss, n = np.zeros((L, D)), np.zeros((L, D)), 0
    step = max(1, len(ds) // max_utts)
    for u in ds.utts[::step]:
        x = reader[u].astype(np.float64)
        s += x.sum(1)
        ss += (x ** 2).sum(1)
        n += x.shape[1]
    mean = s / n
    return mean, np.sqrt(np.maximum(ss / n - mean ** 2, 1e-10))


def build_scheduler(name, conf, optimizer):
    if not name:
        return None
    if name == "warmup_invsqrt":  # ESPnet's WarmupLR: linear warmup then inverse sqrt decay
        w = float(conf.get("warmup_steps", 1000))
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / w, math.sqrt(w / (s + 1))))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=int(conf["total_steps"]))
    raise ValueError(f"unknown scheduler {name!r}: use warmup_invsqrt or cosine")


def build_optimizer(name, conf, named_params):
    """`conf` are the optimizer's arguments, plus an optional `param_lr` ({parameter-name prefix:
    lr}) giving some parameters their own learning rate, e.g. a pretrained encoder lower than
    freshly initialised heads (SpeechBrain's `lr` vs `lr_wav2vec`): with Adam a weight moves by
    about lr per update, so at a fine-tuning lr a new head barely leaves its initialisation on
    a small corpus. The longest matching prefix wins; other parameters use `lr`.

    Adam and AdamW default to torch's fused implementation (`fused: false` turns it off): one
    multi-threaded kernel per step instead of a chain of per-tensor ops, 1.79x faster per
    CAMuLeNet epoch on a 2-core CPU at the same accuracy over 10 folds (docs/speed.md). It
    changes the rounding, so runs before this default do not repeat bit for bit."""
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}.get(name)
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}: use adam, adamw or sgd")
    conf = dict(conf)
    param_lr = conf.pop("param_lr", None) or {}
    named_params = list(named_params)
    if name in ("adam", "adamw") and conf.get("fused") is None:
        # torch fuses float parameters on the CPU and CUDA; elsewhere keep its own default
        conf["fused"] = all(p.device.type in ("cpu", "cuda") and p.is_floating_point()
                            for _, p in named_params) or None
    groups = {None: []}  # the default group first, so param_groups[0] is the logged `lr`
    for n, p in named_params:
        prefix = max((k for k in param_lr if n.startswith(k)), key=len, default=None)
        groups.setdefault(prefix, []).append(p)
    unused = sorted(set(param_lr) - set(groups))
    if unused:
        raise ValueError(f"optim_conf.param_lr: no trainable parameter name starts with {unused}")
    return cls([{"params": ps, **({} if k is None else {"lr": float(param_lr[k])})}
                for k, ps in groups.items() if ps], **conf)


@torch.no_grad()
def evaluate(model, loader, device, class_weight=None, kind="features", vocab=None) -> dict:
    """Valid loss plus UA/WA (if the model classifies), CCC per V/A/D dimension (if it
    regresses) over the utterances that carry each label, gender/style accuracy (if it has
    such a head) and the CER of greedy CTC decoding (if it has a CTC head). Used for model selection; never run on test here."""
    model.eval()
    loss, n, ref, hyp, avd_ref, avd_hyp = 0.0, 0, [], [], [], []
    chars_ref, chars_hyp, attr_ok = [], [], {name: [] for name in ATTRIBUTES}
    for batch in loader:
        batch = to_device(batch, device)
        out = model(*model_args(kind, batch))
        loss += float(model.loss(out, batch, class_weight)) * len(batch["utt"])
        n += len(batch["utt"])
        if "logits" in out and "emo" in batch:
            keep = batch["emo"] >= 0
            ref += batch["emo"][keep].tolist()
            hyp += out["logits"][keep].argmax(-1).tolist()
        if "avd" in out and "avd" in batch:
            avd_ref.append(batch["avd"].cpu().numpy())
            avd_hyp.append(out["avd"].float().cpu().numpy())
        for name in ATTRIBUTES:  # multitask heads (CAMuLeNet's gender, ECAPA-MTL's style)
            if f"{name}_logits" in out and name in batch:
                keep = batch[name] >= 0
                attr_ok[name] += (attribute_class(out[f"{name}_logits"][keep]) == batch[name][keep]).tolist()
        if "ctc_loss" in out:
            chars_ref += [r[:k] for r, k in zip(batch["ctc"].tolist(), batch["ctc_lengths"].tolist())]
            chars_hyp += model.ctc_greedy(out)
    res = {"loss": loss / max(n, 1)}
    res.update({f"{name}_acc": float(np.mean(ok)) for name, ok in attr_ok.items() if ok})
    if chars_ref:
        res["cer"] = character_error_rate(chars_ref, chars_hyp)
        if vocab is not None:  # one decoded example: a sanity signal a number cannot give
            log.info("valid CTC example: ref %r hyp %r", vocab.decode(chars_ref[0]), vocab.decode(chars_hyp[0]))
    if ref:
        ref, hyp = np.array(ref), np.array(hyp)
        res["ua"], res["wa"] = ua_from_indices(ref, hyp), float(np.mean(ref == hyp))
    if avd_ref:
        res.update(avd_metrics(np.concatenate(avd_ref), np.concatenate(avd_hyp)))
    return res


def plot_curves(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    a.plot(ep, [h["train_loss"] for h in history], label="train")
    valid = [h.get("valid") or {} for h in history]
    if any(valid):
        a.plot(ep, [v.get("loss") for v in valid], label="valid")
    for key in ("ua", "wa", "ccc"):
        if any(key in v for v in valid):
            b.plot(ep, [v.get(key) for v in valid], label=f"valid {key.upper()}")
    a.set_xlabel("epoch"), a.set_ylabel("loss"), a.legend()
    b.set_xlabel("epoch")
    if b.lines:
        b.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def train(conf: dict, train_dir, valid_dir, feat_dir, exp_dir, ngpu: int = 0) -> dict:
    """Train one fold. With `refit: true`, a second run then trains a fresh model on
    train+valid for the epochs the first run selected on valid (averaging the same epochs),
    and its weights become best.pt; the selection run's model is kept as select/best.pt.
    With `select: inner_cv` the epochs come from inner leave-speaker-out runs over train+valid
    (exp_dir/inner/, `select_inner`) and the model is then fitted on all of them the same way."""
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    done = exp_dir / "train.done"
    saved = exp_dir / "config.yaml"  # finished or resumed: only with the config it started with
    # a key added to DEFAULTS since then reads as its default (what the older code did)
    old = load_yaml(saved, defaults=DEFAULTS, strict=False) if saved.exists() else None
    if old is not None and old != conf:
        raise ValueError(f"{exp_dir} was {'trained' if done.exists() else 'started'} with another config "
                         f"({config_diff(old, conf)}); choose another exp dir (run.sh: --tag) or remove it")
    if done.exists():
        log.info("%s exists: training already finished", done)
        return json.loads(done.read_text())

    flush_subnormals()  # every model, under torchrun too (sertk/devices.py says why)
    if MODELS[conf["model"]].fits_on_pooled:  # `linear`, `pooled_mlp`
        from sertk.train.pooled import train_pooled

        handler = add_log_file(exp_dir)
        try:
            result = train_pooled(conf, train_dir, valid_dir, feat_dir, exp_dir)
        finally:
            log.removeHandler(handler)
            handler.close()
        write_json(done, result)
        return result
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world == 1:  # torchrun without CUDA is the gloo DDP path (multi-process on CPU, tested)
        resolve_device(ngpu)  # --ngpu 1 on a machine without CUDA: an error, not a silent CPU run
    use_cuda = ngpu > 0 and torch.cuda.is_available()
    if world > 1:
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if use_cuda else "cpu")
    handler = add_log_file(exp_dir, rank)
    ctx = (world, rank, use_cuda, device)
    if rank == 0:  # the fold's config (refit / inner_cv train in subdirs): resumes are checked against it
        save_config(conf, saved)
    try:
        if conf["select"] == "inner_cv":
            all_dir = _on_rank0(ctx, exp_dir / "refit" / "data", lambda d: DataDir.combine(
                [x for x in (train_dir, valid_dir) if x is not None], d))
            result = select_inner(conf, all_dir, feat_dir, exp_dir / "inner", ctx)
            result["refit"] = _refit(conf, all_dir, feat_dir, exp_dir, ctx, result["plan"])
        elif not conf["refit"]:
            result = _run(conf, train_dir, valid_dir, feat_dir, exp_dir, ctx)
        else:
            result = _run(conf, train_dir, valid_dir, feat_dir, exp_dir / "select", ctx)
            plan = result.get("averaged_epochs") or [result["best_epoch"]]
            refit_data = _on_rank0(ctx, exp_dir / "refit" / "data",
                                   lambda d: DataDir.combine([train_dir, valid_dir], d))
            result["refit"] = _refit(conf, refit_data, feat_dir, exp_dir, ctx, plan)
        if rank == 0:
            write_json(done, result)
        if world > 1:
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
        return result
    finally:
        if handler is not None:
            log.removeHandler(handler)
            handler.close()


def _on_rank0(ctx, data_dir: Path, write) -> Path:
    """A data dir written once (by rank 0, unless it is there from an earlier try), then read by all ranks."""
    world, rank = ctx[:2]
    if rank == 0 and not (data_dir / "spk2utt").exists():
        write(data_dir)
    if world > 1:
        torch.distributed.barrier()
    return data_dir


def _refit(conf, data_dir, feat_dir, exp_dir, ctx, plan) -> dict:
    """A fresh model trained on data_dir (all training speakers) for max(plan) epochs, best.pt
    the average of the plan's epochs; it becomes the fold's best.pt."""
    log.info("refit on %s for %d epochs (averaging epochs %s)", data_dir, max(plan), plan)
    result = _run(conf, data_dir, None, feat_dir, exp_dir / "refit", ctx, plan=plan)
    if ctx[1] == 0:
        shutil.copyfile(exp_dir / "refit" / "best.pt", exp_dir / "best.pt.tmp")
        os.replace(exp_dir / "best.pt.tmp", exp_dir / "best.pt")
    return result


def select_inner(conf, all_dir, feat_dir, inner_dir, ctx) -> dict:
    """Epochs by inner leave-speaker-out cross-validation over the fold's training speakers
    (`inner_folds` splits of whole speakers, as the pooled heads choose theirs), so that no
    choice hangs on one valid speaker: one run per split, selecting on its held-out speakers
    with the usual early stopping; their valid scores are averaged per epoch, up to the last
    epoch every run reached. The plan is the best epoch of that curve or, with `average_best`
    N > 1, its N best epochs, but only when the splits' own N-best averages scored (on mean)
    at least as well on their held-out speakers as their best single epochs."""
    from sertk.train.pooled import inner_fold_count, plot_inner_curves, speaker_folds

    data = DataDir(all_dir)
    utts = sorted(data.utt2spk)
    groups = [data.utt2spk[u] for u in utts]
    splits = speaker_folds(groups, inner_fold_count(len(set(groups)), conf))
    metric, runs = conf["select_metric"], []
    for i, (tr, va) in enumerate(splits, 1):
        split = inner_dir / "data" / f"split{i}"
        for part, idx in (("train", tr), ("valid", va)):
            _on_rank0(ctx, split / part, lambda d, idx=idx: data.subset([utts[j] for j in idx], d))
        log.info("inner split %d of %d: %d training / %d held-out speakers", i, len(splits),
                 len({data.utt2spk[utts[j]] for j in tr}), len({data.utt2spk[utts[j]] for j in va}))
        result = _run(conf, split / "train", split / "valid", feat_dir, inner_dir / f"split{i}", ctx)
        if ctx[0] > 1:
            torch.distributed.barrier()  # rank 0 writes history.json at the end of the run
        history = json.loads((inner_dir / f"split{i}" / "history.json").read_text())
        runs.append((result, [h["valid"][metric] for h in history]))
    n = min(len(scores) for _, scores in runs)
    curve = np.mean([scores[:n] for _, scores in runs], axis=0)
    sign = 1 if METRICS[metric].higher_is_better else -1
    ranked = sorted(range(1, n + 1), key=lambda e: (-sign * curve[e - 1], e))
    averaged = [r for r, _ in runs if "valid_averaged" in r]
    keep_average = conf["average_best"] > 1 and len(averaged) == len(runs) and not is_better(
        metric, float(np.mean([r["best_valid"] for r in averaged])),
        float(np.mean([r["valid_averaged"][metric] for r in averaged])))
    plan = sorted(ranked[:conf["average_best"]] if keep_average else ranked[:1])
    log.info("inner %s by epoch (%d splits): %s -> epochs %s", metric, len(runs),
             " ".join(f"{c:.3f}" for c in curve), plan)
    if ctx[1] == 0:
        plot_inner_curves({metric: {"inner_curve": curve.tolist(), "epochs": ranked[0]}},
                          inner_dir / "curves.png")
    return {"select": "inner_cv", "select_metric": metric, "plan": plan, "inner_splits": len(runs),
            "inner_curve": [round(float(c), 4) for c in curve], "best_inner": float(curve[ranked[0] - 1]),
            "average_kept": keep_average}


def _run(conf, train_dir, valid_dir, feat_dir, exp_dir, ctx, plan=None) -> dict:
    """One training run in exp_dir (phase marker exp_dir/run.done). Without `plan` it selects
    on valid_dir; with `plan` (a list of epochs) it trains max(plan) epochs without a valid
    split and best.pt averages the plan's epochs."""
    world, rank, use_cuda, device = ctx
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    if (exp_dir / "run.done").exists():
        return json.loads((exp_dir / "run.done").read_text())
    if rank == 0:
        save_config(conf, exp_dir / "config.yaml")
    seed_everything(conf["seed"])

    emotions = DataDir(train_dir).emotions() or []
    # recorded in best.pt: `sertk infer` refuses to score these speakers as unseen test data
    seen = {"train_speakers": DataDir(train_dir).speakers(),
            "valid_speakers": DataDir(valid_dir).speakers() if valid_dir is not None else []}
    kind = input_kind(conf["model"])
    make_dataset, collate_fn, io, vocab = _datasets(conf, kind, train_dir, feat_dir, emotions, exp_dir)
    train_ds = make_dataset(train_dir)
    valid_ds = make_dataset(valid_dir) if valid_dir is not None else None
    if kind == "features":
        io.update(train_ds.input_io())
    if valid_ds is not None:
        train_spk, valid_spk = set(train_ds.data.utt2spk.values()), set(valid_ds.data.utt2spk.values())
        if train_spk & valid_spk:
            raise ValueError(f"speaker(s) {sorted(train_spk & valid_spk)} in both {train_dir} and {valid_dir}")

    model = build_model(conf["model"], conf["model_conf"], **io)
    if conf["init_param"] and "last.pt" not in os.listdir(exp_dir):  # on resume they come with last.pt
        log.info("initialised %d tensors from %s", init_params(model, conf["init_param"]), conf["init_param"])
    if "last.pt" not in os.listdir(exp_dir):  # on resume the stats come with the weights
        if kind == "features":
            model.set_feature_stats([feature_stats(train_ds, r) for r in train_ds.readers])  # one per stream
        if train_ds.avd_stats() is not None:
            model.set_target_stats(*train_ds.avd_stats())
    model.to(device)
    class_weight = None
    if emotions:
        counts = np.bincount(train_ds.labels(), minlength=len(emotions))
        missing = [e for e, c in zip(emotions, counts) if c == 0]
        if missing:
            log.warning("classes with no training utterance: %s", missing)
        if conf["class_weight"]:
            class_weight = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(emotions),
                                        dtype=torch.float32, device=device)
    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if use_cuda else None)
    optimizer = build_optimizer(conf["optim"], conf["optim_conf"],
                                [(n, p) for n, p in model.named_parameters() if p.requires_grad])
    scheduler = build_scheduler(conf["scheduler"], conf["scheduler_conf"], optimizer)
    scaler = torch.amp.GradScaler("cuda", enabled=use_cuda)

    # min_batch 2: batch norm cannot train on a batch of one utterance (a training set of
    # k * batch_size + 1 utterances ended every epoch with one; it now joins the batch before)
    sampler = LengthBatchSampler(train_ds.lengths, conf["batch_size"], shuffle=True,
                                 seed=conf["seed"], rank=rank, world_size=world, min_batch=2)
    train_loader = DataLoader(train_ds, batch_sampler=sampler, collate_fn=collate_fn,
                              num_workers=conf["num_workers"])
    valid_loader = None
    if valid_ds is not None:
        valid_loader = DataLoader(valid_ds, collate_fn=collate_fn, num_workers=conf["num_workers"],
                                  batch_sampler=LengthBatchSampler(valid_ds.lengths, conf["batch_size"], shuffle=False))

    state = {"epoch": 0, "best": None, "best_epoch": 0, "bad_epochs": 0, "history": [], "step": 0,
             "nbest": []}
    last = exp_dir / "last.pt"
    if last.exists():
        ckpt = read_checkpoint(last, map_location=device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"].cpu())  # map_location moved it to the GPU; the CPU generator needs it back
        if use_cuda and ckpt.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(ckpt["cuda_rng"].cpu(), device)
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        state = ckpt["state"]
        log.info("resumed from %s at epoch %d", last, state["epoch"])

    writer = None
    if rank == 0:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(exp_dir / "tensorboard"))
    metric = conf["select_metric"]
    max_epochs, patience = (conf["max_epochs"], conf["patience"]) if plan is None else (max(plan), math.inf)
    log.info("train %d utts / valid %s utts, %d classes, %d trainable parameters, device %s, world %d",
             len(train_ds), len(valid_ds) if valid_ds is not None else "no", len(emotions),
             sum(p.numel() for p in model.parameters() if p.requires_grad), device, world)
    accum = int(conf["accum_grad"])
    evaluate_valid = functools.partial(evaluate, model, valid_loader, device, class_weight, kind, vocab)

    while state["epoch"] < max_epochs and state["bad_epochs"] < patience:
        epoch = state["epoch"] + 1
        sampler.set_epoch(epoch)
        model.set_epoch(epoch)  # per-epoch schedules (ECAPA-MTL's alpha); a no-op for most models
        ddp_model.train()
        t0, total, n = time.time(), 0.0, 0
        optimizer.zero_grad()
        for k, batch in enumerate(tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=rank != 0)):
            batch = to_device(batch, device)
            with torch.autocast("cuda", enabled=use_cuda):
                out = ddp_model(*model_args(kind, batch))
                loss = model.loss(out, batch, class_weight, conf["label_smoothing"])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"epoch {epoch}: non-finite loss on batch {batch['utt'][:4]}...")
            scaler.scale(loss / accum).backward()
            # one update per `accum` batches (and for the remainder at the end of the epoch)
            if (k + 1) % accum == 0 or k + 1 == len(train_loader):
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), conf["grad_clip"])
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                if scheduler is not None:
                    scheduler.step()
                state["step"] += 1
            total += loss.item() * len(batch["utt"])
            n += len(batch["utt"])
        # every rank scores the full valid split: identical decisions without communication
        valid = evaluate_valid() if valid_loader is not None else None
        state["history"].append({"epoch": epoch, "train_loss": total / max(n, 1), "valid": valid,
                                 "seconds": time.time() - t0, "lr": optimizer.param_groups[0]["lr"]})
        state["epoch"] = epoch
        if valid is not None:
            if metric not in valid:
                raise ValueError(f"select_metric {metric!r} is not available for this model and valid "
                                 f"split (have: {sorted(valid)})")
            score = valid[metric]
        else:  # refit: the plan's epochs rank first, later ones first among them
            score = (epoch in plan) * 1e6 + epoch
        improved = is_better(metric if valid is not None else "ua", score, state["best"])
        if improved:
            state["best"], state["best_epoch"], state["bad_epochs"] = score, epoch, 0
        else:
            state["bad_epochs"] += 1
        log.info("epoch %d train_loss %.4f%s (%.1fs, %d utt/s)%s", epoch, total / max(n, 1),
                 "".join(f" valid {k} {v:.4f}" for k, v in (valid or {}).items()), time.time() - t0,
                 n * world / max(time.time() - t0, 1e-9), " *best*" if improved and valid else "")
        if rank == 0:
            for k, v in (valid or {}).items():
                writer.add_scalar(f"valid/{k}", v, epoch)
            writer.add_scalar("train/loss", total / max(n, 1), epoch)
            if improved and valid is not None:
                save_model(exp_dir / "best.pt", model, conf, emotions, train_ds.meta,
                           {"epoch": epoch, "valid": valid, **seen}, io)
            n_keep = conf["average_best"] if plan is None else len(plan)
            if n_keep > 1 or plan is not None:
                keep_nbest(state, exp_dir, model, epoch, score, metric if plan is None else "ua", n_keep)
            save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "scheduler": scheduler.state_dict() if scheduler else None,
                             "rng": torch.get_rng_state(), "state": state,
                             "cuda_rng": torch.cuda.get_rng_state(device) if use_cuda else None,
                             "scaler": scaler.state_dict()}, last)
    result = {"best_epoch": state["best_epoch"], "select_metric": metric, "best_valid": state["best"],
              "epochs_run": state["epoch"], "valid": state["history"][state["best_epoch"] - 1]["valid"]}
    if plan is not None:
        result = {"epochs_run": state["epoch"], "averaged_epochs": sorted(plan)}
    if rank == 0:
        writer.close()
        epochs = sorted(e for _, e in state["nbest"])
        if plan is not None or conf["average_best"] > 1:
            model.load_state_dict(average_states([exp_dir / "nbest" / f"epoch{e}.pt" for e in epochs]))
            info, keep = {"averaged_epochs": epochs, **seen}, True
            if valid_loader is not None:
                result["valid_averaged"] = info["valid"] = evaluate_valid()
                # the average must be at least as good on valid as the best single epoch (on a
                # one-speaker valid split it often is not); else best.pt stays that epoch
                keep = not is_better(metric, state["best"], info["valid"][metric])
                result["averaged_epochs"] = epochs if keep else [state["best_epoch"]]
            if keep:
                save_model(exp_dir / "best.pt", model, conf, emotions, train_ds.meta, info, io)
                log.info("best.pt = average of epochs %s", epochs)
            else:
                result["average_rejected"] = True
                log.info("the average of epochs %s scores valid %s %.4f < %.4f of epoch %d alone: "
                         "best.pt keeps that epoch", epochs, metric, info["valid"][metric], state["best"],
                         state["best_epoch"])
        write_json(exp_dir / "history.json", state["history"])
        plot_curves(state["history"], exp_dir / "curves.png")
        write_json(exp_dir / "run.done", result)
    log.info("run done in %s: %s", exp_dir, json.dumps(result)[:300])
    return result


def _datasets(conf, kind, train_dir, feat_dir, emotions, exp_dir):
    """(dataset factory, collate function, constructor io, character vocabulary) for the model's
    input kind. Audio models that need CTC targets get a character vocabulary built from the
    training transcripts only (exp_dir/chars.model)."""
    io = {"num_classes": len(emotions)}
    if kind == "features":
        if not feat_dir:
            raise ValueError(f"model {conf['model']!r} trains on cached features: give --feat-dir")
        return (lambda d: FeatureDataset(d, feat_dir, emotions)), collate, io, None
    cls, mconf = MODELS[conf["model"]], conf["model_conf"] or {}
    vocab = None
    if cls.needs_ctc(**mconf):
        vocab_file = Path(exp_dir) / "chars.model"
        if vocab_file.exists():
            vocab = CharVocab(vocab_file)
        else:
            train = DataDir(train_dir)
            vocab = CharVocab.build(train.table("text").values(), vocab_file)
        io["vocab_size"] = len(vocab)
    need_text, need_audio = cls.needs_text(**mconf), cls.needs_audio(**mconf)
    scales = cls.needs_units(**mconf)
    if scales and not conf["units_dir"]:
        raise ValueError(f"{conf['model']} with these settings learns frame labels: set units_dir "
                         "(the output of `sertk units`)")
    unit_dirs = [Path(conf["units_dir"]) / f"k{k}" for k in scales]
    return ((lambda d: AudioTextDataset(d, emotions, need_text, vocab, need_audio=need_audio, unit_dirs=unit_dirs)),
            collate_audio, io, vocab)


def keep_nbest(state, exp_dir: Path, model, epoch: int, score: float, metric: str, n: int) -> None:
    """Keep the weights of the n best epochs by valid score in exp_dir/nbest/ (ESPnet-style
    checkpoint averaging); the ranking lives in the resumable training state."""
    sign = -1 if METRICS[metric].higher_is_better else 1
    ranked = sorted([tuple(se) for se in state["nbest"]] + [(score, epoch)], key=lambda se: (sign * se[0], se[1]))
    kept, dropped = ranked[:n], ranked[n:]
    if (score, epoch) in kept:
        with atomic_path(exp_dir / "nbest" / f"epoch{epoch}.pt") as tmp:
            torch.save(model.state_dict(), tmp)
    for _, e in dropped:
        (exp_dir / "nbest" / f"epoch{e}.pt").unlink(missing_ok=True)
    state["nbest"] = kept


def average_states(paths):
    states = [torch.load(p, map_location="cpu", weights_only=True) for p in paths]
    avg = {}
    for k, v in states[0].items():
        avg[k] = sum(s[k] for s in states) / len(states) if v.is_floating_point() else v
    return avg
