"""sertk command line: data -> extract -> train -> infer -> score -> aggregate -> pack."""
import logging
import os
import shlex
import sys
from pathlib import Path

import click

from sertk.config import read_yaml


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Speech emotion recognition toolkit (ESPnet-style recipes in egs/)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _fail(e: Exception):
    raise click.ClickException(str(e)) from e


def _fold_numbers(folds: str):
    """`--folds "1 2 3"` (or "1,2,3") as ints; anything else is a one-line error."""
    try:
        return [int(f) for f in folds.replace(",", " ").split()]
    except ValueError:
        _fail(ValueError(f"--folds {folds!r}: fold numbers separated by spaces, e.g. \"1 2 3\""))


# ----------------------------------------------------------------------------- data
@main.group()
def data():
    """Data directory tools."""


@data.command("validate")
@click.argument("data_dir")
@click.option("--no-audio", is_flag=True, help="Skip reading the audio headers.")
@click.option("--write-utt2dur", is_flag=True, help="Also write utt2dur (durations in seconds).")
def data_validate(data_dir, no_audio, write_utt2dur):
    """Check a Kaldi-style data dir: keys, labels, speakers, genders, audio."""
    from sertk.data.validate import validate_datadir
    try:
        d = validate_datadir(data_dir, check_audio=not no_audio, write_utt2dur=write_utt2dur)
    except ValueError as e:
        _fail(e)
    click.echo(f"{data_dir}: OK ({len(d.utts)} utterances, {len(d.speakers())} speakers, "
               f"files: {' '.join(sorted(d.tables))})")


@data.command("folds")
@click.argument("data_dir")
@click.argument("out_dir")
@click.option("--mode", type=click.Choice(["speaker", "session", "predefined"]), default="speaker")
@click.option("--num-folds", default=5, show_default=True)
@click.option("--n-valid-spk", default=2, show_default=True, help="session mode: held-out valid speakers")
@click.option("--split-file", default=None, help="predefined mode: utt2split (train/valid/test)")
@click.option("--seed", default=0, show_default=True)
def data_folds(data_dir, out_dir, mode, num_folds, n_valid_spk, split_file, seed):
    """Write speaker-disjoint folds OUT_DIR/fold{i}/{train,valid,test} with a leakage check."""
    from sertk.data.folds import make_folds
    try:
        make_folds(data_dir, out_dir, mode, num_folds, seed, n_valid_spk, split_file)
    except ValueError as e:
        _fail(e)
    click.echo((Path(out_dir) / "summary.txt").read_text())


@data.command("subset")
@click.argument("data_dir")
@click.argument("out_dir")
@click.option("--where", multiple=True, metavar="TABLE=V1,V2",
              help="keep utterances with one of these values, e.g. utt2style=acted, spk2gender=f")
@click.option("--emotions", default=None, metavar="E1,E2",
              help="keep these emotions only; they become the subset's inventory (emotions.txt)")
def data_subset(data_dir, out_dir, where, emotions):
    """Write the utterances of DATA_DIR that match every condition to OUT_DIR."""
    from sertk.data.datadir import DataDir
    try:
        conds = {}
        for w in where:
            name, sep, values = w.partition("=")
            if not sep or not values:
                raise ValueError(f"--where {w!r}: expected TABLE=V1,V2")
            conds[name] = values.split(",")
        inv = emotions.split(",") if emotions else None
        if inv:
            conds["utt2emo"] = inv
        d = DataDir(data_dir)
        out = d.subset(d.select(conds), out_dir, inv)
    except ValueError as e:
        _fail(e)
    click.echo(f"{out_dir}: {len(out.utts)} of {len(d.utts)} utterances, {len(out.speakers())} speakers")


@data.command("combine")
@click.argument("out_dir")
@click.argument("dirs", nargs=-1, required=True)
def data_combine(out_dir, dirs):
    """Union of data dirs (disjoint utterances, one emotion inventory) into OUT_DIR, with the
    tables they all have."""
    from sertk.data.datadir import DataDir
    try:
        out = DataDir.combine(dirs, out_dir)
    except ValueError as e:
        _fail(e)
    click.echo(f"{out_dir}: {len(out.utts)} utterances, {len(out.speakers())} speakers, "
               f"files: {' '.join(sorted(out.tables))}")


@data.command("harden")
@click.argument("data_dir")
@click.argument("out_dir")
@click.option("--gain-db", default=10.0, show_default=True, help="per-speaker gain, uniform in +-this")
@click.option("--flip-fraction", default=0.3, show_default=True, help="stereo files whose 2nd channel is inverted")
@click.option("--mono-fraction", default=0.02, show_default=True, help="files left mono")
@click.option("--crop-ms", default=0.0, show_default=True, help="cut up to this much off each file's start and end")
@click.option("--seed", default=0, show_default=True)
def data_harden(data_dir, out_dir, gain_db, flip_fraction, mono_fraction, crop_ms, seed):
    """Copy DATA_DIR's audio under hard recording conditions: per-speaker levels, stereo from
    two microphones, some with one channel's polarity inverted (sertk/data/perturb.py)."""
    from sertk.data.perturb import harden
    try:
        rec = harden(data_dir, out_dir, gain_db, flip_fraction, mono_fraction, seed, crop_ms)
    except ValueError as e:
        _fail(e)
    g = rec["speaker_gain_db"].values()
    click.echo(f"{out_dir}: {len(g)} speakers at {min(g):+.1f} to {max(g):+.1f} dB, "
               f"{len(rec['flipped_polarity'])} files with an inverted channel, {len(rec['mono'])} mono")


@data.command("import")
@click.argument("root")
@click.argument("out_dir")
@click.option("--pattern", required=True, help="each file's path under ROOT with {spk} {emo} [{gender} {utt}] "
              "fields and {*} wildcards, e.g. '{emo}/{spk}_{*}.wav', or 're:<regex with named groups>'")
@click.option("--labels", default=None, help="YAML map raw label -> canonical label (its order = class order), "
              "e.g. conf/emotions.yaml")
@click.option("--genders", default=None, help="speaker -> m/f: a two-column file or a YAML map")
@click.option("--skip-unmatched", is_flag=True, help="leave out (and count) files the pattern does not match")
def data_import(root, out_dir, pattern, labels, genders, skip_unmatched):
    """Build a data dir from a directory tree whose paths name speakers and emotions."""
    from sertk.data.importer import import_tree
    from sertk.fileio import read_table
    try:
        label_map = spk2gender = None
        if labels:
            label_map = {str(k): str(v) for k, v in (read_yaml(labels) or {}).items()}
        if genders:
            spk2gender = read_yaml(genders) if genders.endswith((".yaml", ".yml")) else read_table(genders)
        r = import_tree(root, out_dir, pattern, label_map, spk2gender, skip_unmatched)
    except (ValueError, FileNotFoundError) as e:
        _fail(e)
    click.echo(f"{out_dir}: {r['utterances']} utterances, {r['speakers']} speakers, labels "
               + " ".join(f"{k}:{v}" for k, v in sorted(r["labels"].items()))
               + (f"; {r['unmatched']} unmatched file(s) left out" if r["unmatched"] else ""))


@data.command("leakage")
@click.argument("dirs", nargs=-1, required=True)
@click.option("--by", type=click.Choice(["speaker", "session"]), default="speaker")
def data_leakage(dirs, by):
    """Refuse speakers (or sessions) shared between any two of DIRS (train, valid, test, ...)."""
    from sertk.data.datadir import DataDir
    from sertk.data.folds import SPLITS, check_leakage
    if len(dirs) < 2:
        _fail(ValueError("give at least two data dirs"))
    names = list(SPLITS) if len(dirs) <= len(SPLITS) else [f"dir{i}" for i in range(1, len(dirs) + 1)]
    try:
        check_leakage({n: DataDir(d) for n, d in zip(names, dirs)}, by)
    except ValueError as e:
        _fail(e)
    click.echo("no leakage")


# ----------------------------------------------------------------------------- features
@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config", required=True, help="Extraction YAML (upstream, upstream_conf, dtype...).")
@click.argument("data_dir")
@click.argument("out_dir")
@click.option("--nj", default=1, show_default=True, help="Number of shards.")
@click.option("--job", default=None, type=int, help="Run only this shard (1-based); merge when all are done.")
@click.option("--num-threads", default=None, type=int, help="Torch threads (default: cores / nj).")
@click.option("--ngpu", default=0, show_default=True, help="0: CPU; 1: the first CUDA device.")
@click.argument("overrides", nargs=-1)
def extract(config, data_dir, out_dir, nj, job, num_threads, ngpu, overrides):
    """Run an upstream once over DATA_DIR and store ark/scp features in OUT_DIR.

    OVERRIDES are key=value, e.g. upstream_conf.name_or_path=/models/whisper-base."""
    from sertk.features.config import load_extract_config
    from sertk.features.extract import extract as run
    from sertk.devices import resolve_device
    try:
        conf = load_extract_config(config, overrides)
        complete = run(data_dir, out_dir, conf, nj=nj, job=job, num_threads=num_threads,
                       device=resolve_device(ngpu))
    except (ValueError, RuntimeError, OSError) as e:
        _fail(e)
    click.echo(f"{out_dir}: {'complete' if complete else 'shard done; other shards pending'}")


# ----------------------------------------------------------------------------- train
@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config", default=None, help="Training YAML.")
@click.option("--train-dir", required=True)
@click.option("--valid-dir", required=True)
@click.option("--feat-dir", default=None, help="Output dir of `sertk extract` (models on cached features).")
@click.option("--exp-dir", required=True)
@click.option("--ngpu", default=0, show_default=True,
              help="0: CPU; 1: one GPU; N>1: DDP over N processes via torchrun (gloo on CPU).")
@click.argument("overrides", nargs=-1)
def train(config, train_dir, valid_dir, feat_dir, exp_dir, ngpu, overrides):
    """Train one fold. OVERRIDES are key=value (e.g. optim_conf.lr=1e-4 seed=3). A chain config
    (several training steps, e.g. GMP-ATL's A-D: sertk/train/chain.py) also takes NAME:key=value
    for step NAME only and NAME:from=EXP_DIR to reuse a finished step of another experiment."""
    from sertk.train.chain import is_chain, run_chain
    try:
        if is_chain(config):
            result = run_chain(config, overrides, train_dir, valid_dir, feat_dir, exp_dir, ngpu)
            click.echo(f"{exp_dir}: chain finished; the fold's model is step {result['final_step']}'s")
            return
    except (ValueError, KeyError, FileNotFoundError) as e:
        _fail(e)
    if ngpu > 1 and "RANK" not in os.environ:
        # Re-launch ourselves under torchrun: one process per device.
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={ngpu}", "-m", "sertk.cli"] + sys.argv[1:]
        os.execv(sys.executable, cmd)
    from sertk.train.config import load_config
    from sertk.train.trainer import train as run
    try:
        conf = load_config(config, overrides)
        result = run(conf, train_dir, valid_dir, feat_dir, exp_dir, ngpu=ngpu)
    except (ValueError, KeyError, FileNotFoundError) as e:
        _fail(e)
    if "best_epoch" in result:
        click.echo(f"best epoch {result['best_epoch']}: valid {result['select_metric']} {result['best_valid']:.4f}")
    if "plan" in result:  # select: inner_cv
        click.echo(f"inner leave-speaker-out {result['select_metric']} {result['best_inner']:.4f}: "
                   f"fitted on all training speakers for epochs {result['plan']}")
    for head in ("cls", "reg"):  # heads fitted on pooled statistics: inner-CV selection
        if head in result:
            chosen = {k: v for k, v in result[head].items() if not k.startswith("inner_")}
            click.echo(f"{head}: inner leave-speaker-out score {result[head]['inner_score']:.4f} with {chosen}")


# ----------------------------------------------------------------------------- infer
@main.command()
@click.option("--model", "model_path", required=True, help="best.pt, a packed dir or .tar.gz, or an ONNX "
              "export dir (`sertk export`)")
@click.option("--out", "out_dir", default=None, help="Output dir (hyp files, predictions.json, segments.tsv, "
              "summary, timelines); without it the segments are printed.")
@click.option("--feat-dir", default=None, help="Use cached features (with a data dir input; a head trained "
              "with speaker_norm needs them and normalises each speaker of the data dir's utt2spk).")
@click.option("--extract-config", default=None, help="Extraction YAML for raw audio with an unpacked model.")
@click.option("--ngpu", default=0, show_default=True, help="0: CPU; 1: the first CUDA device.")
@click.option("--allow-seen-speakers", is_flag=True, help="Infer on a data dir with speakers the model "
              "was trained or selected on (refused by default; the output then carries a warning).")
@click.option("--one-speaker", is_flag=True, help="All the audio inputs are one speaker's: a head trained with "
              "speaker_norm normalises them together (without it such a head takes only a data dir + --feat-dir).")
@click.option("--segment", type=click.Choice(["vad", "energy", "none"]), default="vad", show_default=True,
              help="how recordings longer than --long-seconds are cut into speech segments: silero-vad, an "
              "energy threshold, or not at all (one prediction per file)")
@click.option("--long-seconds", default=30.0, show_default=True, help="recordings up to this long are one "
              "segment (0: cut every recording)")
@click.option("--max-seconds", default=10.0, show_default=True, help="longer speech is read in windows of this length")
@click.option("--overlap", default=2.0, show_default=True, help="seconds shared by neighbouring windows")
@click.option("--glob", "pattern", default=None, help="files searched in a directory input, e.g. '*.wav,*.m4a' "
              "(default: every audio suffix)")
@click.option("--format", "fmt", type=click.Choice(["table", "tsv", "json"]), default="table", show_default=True,
              help="how segments are printed without --out")
@click.argument("inputs", nargs=-1, required=True)
def infer(model_path, out_dir, feat_dir, extract_config, ngpu, allow_seen_speakers, one_speaker, segment,
          long_seconds, max_seconds, overlap, pattern, fmt, inputs):
    """Predict emotions for INPUTS: a data dir, a wav.scp, audio files or directories of them,
    or `-` (a WAV stream on stdin). Long recordings get one prediction per speech segment."""
    from sertk.data.dataset import split_feat_dirs
    from sertk.infer.predict import Predictor, audio_sources
    from sertk.infer import recording as rec
    from sertk.devices import resolve_device
    try:
        conf = None
        if extract_config:  # several comma-separated configs: one per feature stream
            confs = [read_yaml(c) for c in extract_config.split(",")]
            conf = confs[0] if len(confs) == 1 else confs
        from sertk.export import OnnxPredictor, is_onnx_export
        if is_onnx_export(model_path):  # onnxruntime, no torch model
            if feat_dir:
                raise ValueError(f"{model_path}: an ONNX export reads audio; --feat-dir is for torch models")
            pred = OnnxPredictor(model_path)
        else:
            pred = Predictor(model_path, conf, device=resolve_device(ngpu))
            pred.one_speaker = one_speaker
        data_dir = len(inputs) == 1 and (Path(inputs[0]) / "wav.scp").exists()
        if data_dir and (Path(inputs[0]) / "utt2spk").exists():  # a data dir: who is in it
            pred.check_speakers(inputs[0], allow_seen_speakers)
        if (pred.kind == "audio" and data_dir) or feat_dir:
            if feat_dir:
                from sertk.data.datadir import DataDir
                from sertk.data.feature_reader import FeatureReader
                readers = [FeatureReader(d) for d in split_feat_dirs(feat_dir)]
                d = DataDir(inputs[0])
                post = pred.from_features(d.utts, readers, utt2spk=d.utt2spk)
            else:
                post = pred.from_data_dir(inputs[0])  # waveforms and transcripts of a data dir
            if out_dir is None:
                raise ValueError("give --out for a data dir")
            pred.write(post, out_dir)
            click.echo(f"{out_dir}: {len(post)} utterances")
            return
        is_scp = data_dir or (len(inputs) == 1 and inputs[0].endswith(".scp"))
        sources = audio_sources(list(inputs)) if is_scp else rec.recording_sources(list(inputs), pattern)
        segments, post, durations, envelopes = rec.predict_recordings(
            pred, sources, segment, long_seconds, max_seconds, overlap)
        rows = rec.segment_records(segments, post, pred.emotions)
        if out_dir is None:
            click.echo(rec.table_text(rows, fmt))
            return
        pred.write(post, out_dir)
        rec.write_outputs(out_dir, rows, rec.summarise(rows, durations, pred.emotions), pred.emotions, envelopes)
    except (ValueError, KeyError, FileNotFoundError, RuntimeError) as e:
        _fail(e)
    click.echo(f"{out_dir}: {len(durations)} recording(s), {len(post)} segment(s)")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True)
@click.option("--extract-config", default=None, help="Extraction YAML (not needed for a packed model).")
@click.argument("model_path")
@click.argument("out_dir")
def export(fmt, extract_config, model_path, out_dir):
    """Export MODEL_PATH (best.pt or a packed model over one feature stream: Whisper trimmed, s3prl
    fbank or librosa MFCCs) with its upstream as one ONNX graph in OUT_DIR, behind a numpy front
    end (sertk/frontends.py); `sertk infer --model OUT_DIR` runs it with onnxruntime."""
    from sertk.export import export_onnx
    try:
        conf = read_yaml(extract_config) if extract_config else None
        out = export_onnx(model_path, out_dir, conf)
        click.echo(f"{out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    except (ValueError, FileNotFoundError) as e:
        _fail(e)


@main.command()
@click.option("--model", "model_path", required=True, help="best.pt, a packed dir, or a packed .tar.gz")
@click.option("--feat-dir", required=True, help="cached features of the data dir (comma-separated streams)")
@click.option("--out", "out_file", required=True, help="PNG file")
@click.argument("data_dir")
def tsne(model_path, feat_dir, out_file, data_dir):
    """t-SNE map of a model's final embeddings on DATA_DIR (colour = emotion, marker = gender)."""
    from sertk.data.datadir import DataDir
    from sertk.infer.predict import model_embeddings
    from sertk.score.tsne import plot_tsne
    try:
        d = DataDir(data_dir)
        emb = model_embeddings(model_path, feat_dir, d.utts)
        genders = {u: d.tables.get("spk2gender", {}).get(s, "") for u, s in d.utt2spk.items()}
        plot_tsne(emb, d.table("utt2emo"), out_file, genders, title=Path(data_dir).name)
    except (ValueError, KeyError, FileNotFoundError) as e:
        _fail(e)
    click.echo(out_file)


@main.group()
def analyze():
    """Analyses of trained models."""


@analyze.command("separability")
@click.option("--model", "model_path", required=True, help="best.pt, a packed dir, or a packed .tar.gz")
@click.option("--feat-dir", required=True, help="cached features of the data dir (comma-separated streams)")
@click.option("--by", "by", default="utt2emo,utt2style", show_default=True,
              help="label tables to measure over (comma-separated; missing ones are skipped)")
@click.option("--out", "out_file", default=None, help="JSON file with the pairwise ratios")
@click.argument("data_dir")
def analyze_separability(model_path, feat_dir, by, out_file, data_dir):
    """Average pairwise Fisher discriminant ratio of the model's utterance embeddings on
    DATA_DIR, over emotion classes and over expression (acted/spontaneous) classes."""
    from sertk.data.datadir import DataDir
    from sertk.fileio import write_json
    from sertk.infer.predict import model_embeddings
    from sertk.score.separability import pairwise_fisher_ratio
    try:
        d = DataDir(data_dir)
        tables = [t for t in by.split(",") if d.has(t)]
        if not tables:
            raise ValueError(f"{data_dir}: none of {by} present")
        emb = model_embeddings(model_path, feat_dir, d.utts)
        res = {}
        for t in tables:
            values = {v for u, v in d.table(t).items() if u in emb and v != "-"}
            if len(values) < 2:  # e.g. an all-acted corpus's utt2style
                click.echo(f"{t}: one class only ({' '.join(values)}), skipped")
                continue
            res[t] = pairwise_fisher_ratio(emb, d.table(t))
        if not res:
            raise ValueError(f"{data_dir}: no label table with two classes among {tables}")
    except (ValueError, KeyError, FileNotFoundError) as e:
        _fail(e)
    if out_file:
        write_json(out_file, {"model": str(model_path), "data_dir": str(data_dir), **res})
    for t, r in res.items():
        click.echo(f"{t}: average pairwise Fisher ratio {r['mean']:.4f} over {len(r['counts'])} classes")


@main.command()
@click.option("--model", "model_path", required=True, help="a trained audio model (GMP-ATL stage A best.pt)")
@click.option("--fit", "fit_dir", required=True, help="data dir whose frames the k-means is fitted on (train)")
@click.option("--out", "out_dir", required=True)
@click.option("--clusters", default="64,512,4096", show_default=True, help="cluster counts (scales)")
@click.option("--layer", default=-3, show_default=True, help="hidden layer of the encoder (-1 = last)")
@click.option("--max-frames", default=500_000, show_default=True, help="frames sampled for fitting")
@click.option("--n-init", default=1, show_default=True, help="k-means++ runs per scale (best kept)")
@click.option("--seed", default=0, show_default=True)
@click.option("--ngpu", default=0, show_default=True, help="0: CPU; 1: the first CUDA device (the encoder pass; k-means runs on the CPU).")
@click.argument("label_dirs", nargs=-1)
def units(model_path, fit_dir, out_dir, clusters, layer, max_frames, n_init, seed, ngpu, label_dirs):
    """Frame-level pseudo-labels (GMP-ATL stage B): k-means on the --fit split's encoder frames,
    cluster ids for every frame of it and of LABEL_DIRS (e.g. the valid split)."""
    from sertk.units import make_units
    from sertk.devices import resolve_device
    try:
        info = make_units(model_path, fit_dir, list(label_dirs), out_dir,
                          [int(k) for k in clusters.split(",")], layer, seed, max_frames, n_init=n_init,
                          device=resolve_device(ngpu))
    except (ValueError, KeyError, FileNotFoundError) as e:
        _fail(e)
    click.echo(f"{out_dir}: layer {info['layer']}, {info['fit_frames']} frames fitted, clusters {info['clusters']}")


# ----------------------------------------------------------------------------- score
@main.command()
@click.option("--ref", default=None, help="utt2emo of the test split")
@click.option("--hyp", default=None, help="utt2emo_hyp written by `sertk infer`")
@click.option("--emotions", default=None, help="emotions.txt inventory (with --ref)")
@click.option("--ref-avd", default=None, help="utt2avd of the test split")
@click.option("--hyp-avd", default=None, help="utt2avd_hyp written by `sertk infer`")
@click.option("--ref-dir", default=None, help="the test data dir: utt2emo / utt2avd where --ref / --ref-avd "
              "are not given, and the references of auxiliary heads (spk2gender, utt2style)")
@click.option("--hyp-dir", default=None, help="the `sertk infer` output dir: utt2emo_hyp / utt2avd_hyp where "
              "--hyp / --hyp-avd are not given, utt2gender_hyp, utt2style_hyp")
@click.option("--out", "out_dir", required=True)
@click.option("--allow-seen-speakers", is_flag=True, help="Score a decode dir that `sertk infer "
              "--allow-seen-speakers` wrote (speakers seen in training; refused by default).")
def score(ref, hyp, emotions, ref_avd, hyp_avd, ref_dir, hyp_dir, out_dir, allow_seen_speakers):
    """Categorical (WA, UA, macro/weighted-F1, per-class recall, confusion txt + png) and/or
    continuous (CCC and MAE per V/A/D dimension, scatter png) scores of one test split, and the
    accuracy of multitask heads (gender, acted/spontaneous style) with --ref-dir/--hyp-dir.
    --ref-dir/--hyp-dir alone score whatever the model predicted and the split has labels for."""
    from sertk.fileio import read_list
    from sertk.score.report import score_dir
    from sertk.data.datadir import SEEN_SPEAKERS
    if ref_dir and hyp_dir:  # unless named: whatever the model predicted and the split has labels for
        from sertk.score.decode_dir import hyp_name

        def found(kind, r, h):
            rf, hf = Path(ref_dir) / f"utt2{kind}", Path(hyp_dir) / hyp_name(kind)
            return (str(rf), str(hf)) if not (r or h) and rf.exists() and hf.exists() else (r, h)
        (ref, hyp), (ref_avd, hyp_avd) = found("emo", ref, hyp), found("avd", ref_avd, hyp_avd)
    if not ((ref and hyp and emotions) or (ref_avd and hyp_avd)):
        _fail(ValueError("give --ref/--hyp/--emotions and/or --ref-avd/--hyp-avd, or --ref-dir/--hyp-dir "
                         "(with --emotions) where both have utt2emo / utt2avd"))
    for d in {Path(f).parent for f in (hyp, hyp_avd) if f} | ({Path(hyp_dir)} if hyp_dir else set()):
        if (d / SEEN_SPEAKERS).exists():
            seen = " ".join((d / SEEN_SPEAKERS).read_text().split())
            if not allow_seen_speakers:
                _fail(ValueError(f"{d}: predictions for speakers the model was trained or selected on "
                                 f"({seen}); not a test score. --allow-seen-speakers to score anyway"))
            click.echo(f"WARNING: {d}: speakers {seen} were seen in training", err=True)
    try:
        m = score_dir(ref if hyp else None, hyp, read_list(emotions) if emotions and hyp else None, out_dir,
                      ref_avd if hyp_avd else None, hyp_avd, ref_dir, hyp_dir)
    except (ValueError, FileNotFoundError) as e:
        _fail(e)
    click.echo(_headline(m))


@main.command()
@click.option("--out", "out_dir", required=True, help="the fused decode dir")
@click.argument("decode_dirs", nargs=-1, required=True)
def fuse(out_dir, decode_dirs):
    """Late fusion: the mean of DECODE_DIRS' posteriors (and V/A/D) for the same utterances,
    written as a decode dir that `sertk score` scores (e.g. the runs of several seeds)."""
    from sertk.score.fuse import fuse_decodes
    try:
        done = fuse_decodes(decode_dirs, out_dir)
    except (ValueError, FileNotFoundError) as e:
        _fail(e)
    click.echo(f"{out_dir}: mean of {len(decode_dirs)} runs (" +
               ", ".join(f"{k}: {n} utterances" for k, n in done.items()) + ")")


HEADLINE = ("wa", "ua", "macro_f1", "ccc_v", "ccc_a", "ccc_d", "ccc", "gender_acc", "style_acc")


def _headline(m) -> str:
    from sertk.score.metrics import METRICS
    return "  ".join(f"{k} {100 * m[k]:.2f}" if METRICS[k].percent else f"{k} {m[k]:.3f}"
                     for k in HEADLINE if k in m)


@main.command()
@click.option("--out", "out_file", required=True, help="Markdown file (a .json twin is written too)")
@click.option("--title", required=True)
@click.option("--command", "command", default="", help="the user-level command (run.sh and its corpus variables)")
@click.option("--inner-command", default="", help="the staged script's own command line")
@click.option("--config", "config", default="", help="config file names (recorded as given)")
@click.option("--resolved-config", "resolved", multiple=True, help="a resolved config file: its "
              "contents are recorded in RESULTS.json and RESULTS.md (repeatable)")
@click.option("--git", "git", default=None, help="the checkout's state (default: git describe --dirty)")
@click.argument("score_dirs", nargs=-1, required=True)
def aggregate(out_file, title, command, inner_command, config, resolved, git, score_dirs):
    """Mean ± std over folds of the metrics in SCORE_DIRS, with per-fold rows."""
    from sertk.score.report import aggregate as run
    try:
        r = run(list(score_dirs), out_file, title, command, config, inner_command=inner_command,
                resolved_configs=list(resolved), git=git)
    except (ValueError, FileNotFoundError) as e:
        _fail(e)
    from sertk.score.metrics import METRICS
    s = r["summary"]
    scale = {k: 100 if METRICS[k].percent else 1 for k in s}
    click.echo(f"{title}: " + "  ".join(f"{k} {s[k]['mean'] * scale[k]:.3g} ± {s[k]['std'] * scale[k]:.2g}"
                                        for k in ("wa", "ua", "macro_f1", "ccc") if k in s))


@main.group("keep-scores")
def keep_scores():
    """Each fold's scores and what made them, kept where git can hold them (sertk/score/kept.py):
    a run spread over sessions or machines restores the folds it already has."""


@keep_scores.command("save")
@click.option("--exp-dir", required=True, help="exp/<tag>: the record goes to DIR/<tag>/fold<N>.json")
@click.option("--to", "keep_dir", required=True, help="where records are kept (e.g. results/scores)")
@click.option("--folds", default=None, help="e.g. '1 3' (default: every scored fold of the exp dir)")
@click.option("--eval-set", default="test", show_default=True)
@click.option("--git", "git", default=None, help="the checkout the folds were trained at (default: the exp "
              "dir's RESULTS.json provenance, else this checkout's git describe --dirty)")
@click.option("--command", "command", default=None, help="the run's user-level command (default: the exp "
              "dir's RESULTS.json provenance)")
@click.option("--num-folds", type=int, default=None, help="the recipe's number of folds (default: "
              "data/folds/num_folds here, if any)")
def keep_scores_save(exp_dir, keep_dir, folds, eval_set, git, command, num_folds):
    """Keep the scores of the scored folds of EXP_DIR."""
    from sertk.score.kept import keep_fold
    from sertk.score.report import git_hash
    exp = Path(exp_dir)
    nums = _fold_numbers(folds) if folds else sorted(
        int(d.name[4:]) for d in exp.glob("fold*") if d.name[4:].isdigit()
        and (d / f"score_{eval_set}" / "metrics.json").exists())
    if not nums:
        _fail(ValueError(f"{exp}: no fold scored on {eval_set}"))
    if num_folds is None and Path("data/folds/num_folds").exists():
        num_folds = int(Path("data/folds/num_folds").read_text())
    if (exp / "RESULTS.json").exists():
        import json
        done = json.loads((exp / "RESULTS.json").read_text()).get("provenance", {})
        git, command = git or done.get("git"), command if command is not None else done.get("command", "")
    try:
        for f in nums:
            click.echo(keep_fold(exp / f"fold{f}", keep_dir, f, eval_set, git or git_hash(), command or "", num_folds))
    except (ValueError, FileNotFoundError) as e:
        _fail(e)


@keep_scores.command("rebuild")
@click.option("--from", "keep_dir", required=True, help="where the records are (e.g. results/scores)")
@click.option("--exp-root", required=True, help="where to write <tag>/RESULTS.{md,json} (not an existing run)")
@click.option("--folds", default="", help='only these folds, e.g. "1 2 3 4" (each must be kept)')
@click.argument("tags", nargs=-1)
def keep_scores_rebuild(keep_dir, exp_root, folds, tags):
    """Write RESULTS.md / .json of each kept experiment (TAGS, default: every one kept) from its
    records alone: no corpus, features or models needed."""
    from sertk.score.kept import rebuild
    if not tags and Path(keep_dir).is_dir():
        tags = sorted(p.name for p in Path(keep_dir).iterdir() if p.is_dir())
    if not tags:
        _fail(ValueError(f"{keep_dir}: no kept experiment"))
    fold_list = _fold_numbers(folds)
    try:
        for t in tags:
            click.echo(rebuild(keep_dir, t, exp_root, folds=fold_list))
    except (ValueError, FileNotFoundError) as e:
        _fail(e)


@keep_scores.command("restore")
@click.option("--exp-dir", required=True)
@click.option("--from", "keep_dir", required=True)
@click.option("--fold", type=int, required=True)
@click.option("--eval-set", default="test", show_default=True)
@click.option("--inputs", required=True, help="the run's training inputs (as ser.sh writes train.inputs)")
def keep_scores_restore(exp_dir, keep_dir, fold, eval_set, inputs):
    """Restore one fold's kept scores into EXP_DIR/fold<N>/score_<eval_set>; prints `restored`
    or `none` (no record). A record kept from other inputs is refused."""
    from sertk.score.kept import restore_fold
    try:
        rec = restore_fold(Path(exp_dir) / f"fold{fold}", keep_dir, fold, eval_set, inputs)
    except ValueError as e:
        _fail(e)
    click.echo("restored" if rec else "none")


@keep_scores.command("decode")
@click.option("--from", "keep_dir", required=True)
@click.option("--tag", required=True, help="the kept run")
@click.option("--fold", type=int, required=True)
@click.option("--eval-set", default="test", show_default=True)
@click.option("--fold-dir", required=True, help="where to write decode_<eval_set>/ and train.inputs")
def keep_scores_decode(keep_dir, tag, fold, eval_set, fold_dir):
    """Write one kept fold's test outputs (posteriors, V/A/D) and training inputs into FOLD_DIR,
    as a run's fold holds them, for fusion where the run's exp dir is gone; prints `restored` or
    `none` (no record)."""
    from sertk.score.kept import restore_decode
    try:
        done = restore_decode(keep_dir, tag, fold, eval_set, fold_dir)
    except ValueError as e:
        _fail(e)
    click.echo("restored" if done else "none")


@main.command()
@click.option("--out", "out_file", default=None, help="write the markdown table here too")
@click.option("--per-class", is_flag=True, help="add a classes x systems table of pooled recall")
@click.argument("results", nargs=-1, required=True)
def summarize(out_file, per_class, results):
    """One table row per system from RESULTS.json files written by `sertk aggregate`."""
    from sertk.score.report import summarize as run
    try:
        click.echo(run(list(results), out_file, per_class), nl=False)
    except (ValueError, FileNotFoundError, KeyError) as e:
        _fail(e)


@main.command("compare")
@click.argument("results", nargs=-1)
@click.option("--metric", default="ua", show_default=True, help="a metric of the RESULTS.json files: ua, wa, macro_f1, ccc, ccc_v, ...")
@click.option("--out", "out_file", default=None, help="also write the table to this .md file")
@click.option("--png", default=None, help="a plot of each fold's pair of scores (with --claims: a dir, "
              "one claim<N>.png per claim with a verdict, linked from the report)")
@click.option("--claims", default=None, help="a claims YAML (paper claims and the experiments behind them): "
              "write the reproduction report instead (e.g. --out REPRODUCTION.md)")
@click.option("--runs", is_flag=True, help="with --claims: print the run.sh arguments of each experiment "
              "that has a run spec and is not finished, one shell-quoted line each (utils/run_claims.sh), "
              "what an experiment reads (e.g. A:from={system}) before it")
@click.option("--match", default=None, help="with --runs: only experiments whose tag this regular expression finds")
def compare_cmd(results, metric, out_file, png, claims, runs, match):
    """Paired comparison of systems on the same folds: the first RESULTS.json (or exp dir) is
    the reference; per-fold differences, bootstrap interval, Wilcoxon p-value. Seeds of one
    system: comma-joined (exp/a,exp/a_seed1,exp/a_seed2), paired seed by seed."""
    from sertk.score.compare import compare, pending_runs, reproduction_report
    try:
        if match and not runs:
            raise ValueError("--match goes with --runs")
        if runs:
            if not claims or results or png or out_file:
                raise ValueError("--runs takes --claims (and --match) only")
            for _, args in pending_runs(claims, match=match):
                click.echo(shlex.join(args))
            return
        if claims:
            if results:
                raise ValueError("--claims takes no RESULTS")
            text = reproduction_report(claims, png_dir=png, link_from=Path(out_file).parent if out_file else None)
            if out_file:
                from sertk.fileio import write_text
                write_text(out_file, text)
            click.echo(text, nl=False)
            return
        if not results:
            raise ValueError("give two or more RESULTS.json (or exp dirs), or --claims")
        click.echo(compare(results, metric, out_file, png), nl=False)
    except (ValueError, FileNotFoundError, KeyError) as e:
        _fail(e)


# ----------------------------------------------------------------------------- pack
@main.command("pack")
@click.option("--exp-dir", required=True)
@click.option("--extract-config", default=None, help="how the model's input features are computed "
              "(not needed for models that read audio themselves)")
@click.option("--out", "out_file", required=True, help="archive path (.tar.gz)")
@click.option("--results", default=None, help="RESULTS.md to include")
def pack_cmd(exp_dir, extract_config, out_file, results):
    """Pack a trained model into a self-contained archive for `sertk infer`."""
    from sertk.pack import pack
    try:
        click.echo(pack(exp_dir, extract_config, out_file, results))
    except (FileNotFoundError, ValueError) as e:
        _fail(e)


@main.command("convert-checkpoint")
@click.option("--trust", is_flag=True, help="Confirm that SRC comes from someone you trust: reading "
              "it runs the full unpickler, which can execute code.")
@click.argument("src")
@click.argument("dst")
def convert_checkpoint_cmd(trust, src, dst):
    """Rewrite a checkpoint written before sertk read checkpoints weights-only (or any that
    `sertk infer` refuses for holding pickled objects) as a weights-only one."""
    from sertk.models.checkpoint import convert_checkpoint, read_checkpoint
    if not trust:
        _fail(ValueError(f"{src}: reading it may run code; pass --trust if you trust its origin"))
    try:
        convert_checkpoint(src, dst)
        read_checkpoint(dst)
    except (FileNotFoundError, ValueError, TypeError) as e:
        _fail(e)
    click.echo(f"{dst}: weights-only checkpoint")


if __name__ == "__main__":
    main()
