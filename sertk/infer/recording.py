"""Long recordings (talk shows, calls, meetings): read in blocks, cut into speech segments,
one prediction per segment, a per-recording summary and an emotion timeline.

Reading: soundfile blocks of BLOCK_SECONDS, each downmixed and resampled to 16 kHz mono as the
model's extraction config says (load_audio's rules), so one hour costs ~230 MB whatever the
file's rate and channel count. Formats libsndfile lacks (m4a, mp4, webm...) are decoded by
ffmpeg (the binary on PATH, else the one imageio-ffmpeg ships) to 16 kHz WAV keeping the
channels; `-` reads a WAV stream from stdin.

Segmenting: speech regions from silero-vad (the MIT-licensed model the PyPI package ships) or
an energy threshold (`energy`: no model at all); regions longer than `max_seconds` become
windows of that length overlapping by at least `overlap` seconds, so every emotion is read
from a stretch as long as the utterances models are trained on.
"""
import io
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import soundfile as sf

from sertk.data.audio import MIN_SECONDS, TARGET_SR, AudioError, downmix, normalise_level, resample
from sertk.fileio import write_json, write_table, write_text

log = logging.getLogger("sertk.infer")

BLOCK_SECONDS = 30
AUDIO_GLOBS = ("*.wav", "*.flac", "*.ogg", "*.mp3", "*.m4a", "*.mp4", "*.webm", "*.opus", "*.aac")
SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")


@dataclass
class Segment:
    recording: str
    start: float
    end: float
    name: Optional[str] = None  # a whole recording keeps its own name (as a short clip always did)

    @property
    def id(self) -> str:  # Kaldi-style: sorts by recording, then time
        return self.name or f"{self.recording}-{int(round(self.start * 100)):07d}-{int(round(self.end * 100)):07d}"


# ----------------------------------------------------------------------------- reading
def recording_sources(inputs: List[str], pattern: Optional[str] = None) -> Dict[str, str]:
    """Files, directories (searched recursively: --glob, default every audio suffix) and `-`
    (stdin) -> {recording id: source}. Ids are file stems; a clash is an error."""
    out: Dict[str, str] = {}
    globs = [g.strip() for g in pattern.split(",")] if pattern else list(AUDIO_GLOBS)
    for item in inputs:
        if item == "-":
            paths = ["-"]
        elif Path(item).is_dir():
            paths = sorted({str(p) for g in globs for p in Path(item).rglob(g) if p.is_file()})
            if not paths:
                raise FileNotFoundError(f"{item}: no audio files matching {' '.join(globs)}")
        elif Path(item).exists():
            paths = [item]
        else:
            raise FileNotFoundError(f"audio file {item} not found")
        for p in paths:
            key = "stdin" if p == "-" else Path(p).stem
            if key in out:
                raise ValueError(f"two inputs share the name {key!r} ({out[key]}, {p}); use a wav.scp "
                                 "with unique keys")
            out[key] = p
    return out


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        import imageio_ffmpeg
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def _open(source: str):
    """A seekable file object or path soundfile can read."""
    if source == "-":
        return io.BytesIO(sys.stdin.buffer.read())
    if source.endswith("|"):  # a Kaldi-style wav.scp pipe
        proc = subprocess.run(source[:-1], shell=True, capture_output=True)
        if proc.returncode != 0:
            raise AudioError(f"pipe {source!r} failed ({proc.returncode}): {proc.stderr.decode()[-300:]}")
        return io.BytesIO(proc.stdout)
    if Path(source).suffix.lower() in SOUNDFILE_SUFFIXES:
        return source
    proc = subprocess.run([_ffmpeg(), "-nostdin", "-loglevel", "error", "-i", source, "-vn", "-f", "wav",
                           "-acodec", "pcm_s16le", "-ar", str(TARGET_SR), "-"], capture_output=True)
    if proc.returncode != 0:
        raise AudioError(f"{source}: ffmpeg cannot decode it: {proc.stderr.decode(errors='replace')[-300:].strip()}")
    return io.BytesIO(proc.stdout)


def read_recording(rec: str, source: str, channel="mean") -> np.ndarray:
    """16 kHz mono float32 of a whole recording, decoded block by block."""
    try:
        f = _open(source)
        info = sf.info(f)
        if hasattr(f, "seek"):
            f.seek(0)
        blocks = []
        for block in sf.blocks(f, blocksize=BLOCK_SECONDS * info.samplerate, dtype="float32", always_2d=True):
            if channel != "mean" and block.shape[1] > 1 and int(channel) >= block.shape[1]:
                raise AudioError(f"recording {rec}: {source!r} has {block.shape[1]} channels; channel "
                                 f"{channel} asked for")
            blocks.append(resample(downmix(block, channel), info.samplerate))
    except AudioError:
        raise
    except Exception as e:  # soundfile raises several types; all mean "cannot read"
        raise AudioError(f"recording {rec}: cannot read audio {source!r}: {e}") from e
    wav = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    if len(wav) < MIN_SECONDS * TARGET_SR:
        raise AudioError(f"recording {rec}: {source!r} is {len(wav) / TARGET_SR:.3f} s long; at least "
                         f"{MIN_SECONDS} s is needed")
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"recording {rec}: {source!r} contains NaN/Inf samples")
    return wav


# ----------------------------------------------------------------------------- segmenting
def speech_regions(wav: np.ndarray, method: str = "vad", min_speech: float = 0.25,
                   min_silence: float = 0.3, pad: float = 0.1) -> List[Tuple[float, float]]:
    """(start, end) seconds of speech. `vad`: silero-vad; `energy`: frames within 35 dB of the
    recording's loud frames (95th percentile) and above -60 dBFS."""
    if method == "vad":
        import torch
        from silero_vad import get_speech_timestamps, load_silero_vad

        ts = get_speech_timestamps(torch.from_numpy(wav), _silero(load_silero_vad), sampling_rate=TARGET_SR,
                                   min_speech_duration_ms=int(min_speech * 1000),
                                   min_silence_duration_ms=int(min_silence * 1000), speech_pad_ms=int(pad * 1000))
        return [(t["start"] / TARGET_SR, t["end"] / TARGET_SR) for t in ts]
    if method != "energy":
        raise ValueError(f"segmentation {method!r}: use vad or energy")
    hop, win = TARGET_SR // 100, TARGET_SR // 40  # 10 ms hop, 25 ms frames
    n = max(0, 1 + (len(wav) - win) // hop)
    if n == 0:
        return []
    frames = np.lib.stride_tricks.sliding_window_view(wav, win)[::hop][:n]
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    active = db > max(np.percentile(db, 95) - 35.0, -60.0)
    regions, start = [], None
    for i, a in enumerate(np.append(active, False)):
        if a and start is None:
            start = i
        elif not a and start is not None:
            regions.append([start * hop / TARGET_SR, (i * hop + win) / TARGET_SR])
            start = None
    merged = []
    for r in regions:  # bridge short pauses, then drop blips, then pad
        if merged and r[0] - merged[-1][1] < min_silence:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    dur = len(wav) / TARGET_SR
    return [(max(0.0, s - pad), min(dur, e + pad)) for s, e in merged if e - s >= min_speech]


_SILERO = {}


def _silero(load):
    if "model" not in _SILERO:  # loaded once per process
        _SILERO["model"] = load()
    return _SILERO["model"]


def windows(regions, max_seconds: float, overlap: float) -> List[Tuple[float, float]]:
    """Regions longer than max_seconds -> evenly spaced windows of max_seconds whose neighbours
    overlap by at least `overlap`; shorter regions stay whole."""
    if not 0 <= overlap < max_seconds:
        raise ValueError(f"overlap {overlap} s must be >= 0 and < max_seconds {max_seconds} s")
    out = []
    for s, e in regions:
        if e - s <= max_seconds:
            out.append((s, e))
            continue
        n = int(np.ceil((e - s - overlap) / (max_seconds - overlap)))
        out += [(a, a + max_seconds) for a in np.linspace(s, e - max_seconds, n)]
    return [(float(s), float(e)) for s, e in out]


# ----------------------------------------------------------------------------- predicting
def predict_recordings(predictor, sources: Dict[str, str], segment: str = "vad", long_seconds: float = 30.0,
                       max_seconds: float = 10.0, overlap: float = 2.0, batch_seconds: float = 60.0):
    """-> (segments, predictions keyed by segment id, recording durations, waveform envelopes of
    the recordings that were cut, for their timelines). Recordings up to long_seconds are one
    segment (as a clip always was); longer ones are cut by `segment` (vad: silero-vad, energy:
    the energy threshold; none: kept whole)."""
    from tqdm import tqdm

    from sertk.data.audio import audio_options

    opts = audio_options(predictor.extract_conf) if predictor.kind != "audio" else {"channel": "mean", "level_dbfs": None}
    segments, preds, durations, envelopes = [], {}, {}, {}
    for rec, source in tqdm(sources.items(), unit="recording", desc="infer", disable=len(sources) < 2):
        wav = read_recording(rec, source, opts["channel"])
        dur = durations[rec] = len(wav) / TARGET_SR
        if segment == "none" or dur <= long_seconds:
            segs = [Segment(rec, 0.0, dur, name=rec)]
        else:
            spans = windows(speech_regions(wav, segment), max_seconds, overlap)
            segs = [Segment(rec, s, e) for s, e in spans if e - s >= MIN_SECONDS]
            envelopes[rec] = envelope(wav)
            if not segs:
                log.warning("%s: no speech found by %s (try --segment energy or none)", rec, segment)
        log.info("%s: %.1f s, %d segment(s)", rec, dur, len(segs))
        batch, secs = {}, 0.0
        for seg in segs + [None]:
            if seg is None or batch and secs + seg.end - seg.start > batch_seconds:
                if batch:
                    preds.update(predictor.from_waveforms(batch))
                batch, secs = {}, 0.0
            if seg is None:
                break
            x = wav[int(seg.start * TARGET_SR): int(seg.end * TARGET_SR)]
            batch[seg.id] = normalise_level(x, opts["level_dbfs"]) if opts["level_dbfs"] is not None else x
            secs += seg.end - seg.start
        segments += segs
    if hasattr(predictor, "flush"):  # a one-speaker speaker_norm head predicts once all are read
        preds.update(predictor.flush())
    return segments, preds, durations, envelopes


def envelope(wav: np.ndarray, points: int = 4000) -> np.ndarray:
    """(time, peak) of a waveform in at most `points` steps (for plots, not for analysis)."""
    step = max(1, len(wav) // points)
    env = np.abs(wav[: len(wav) // step * step]).reshape(-1, step).max(1)
    return np.stack([np.arange(len(env)) * step / TARGET_SR, env], 1)


def segment_records(segments, preds, emotions) -> List[dict]:
    rows = []
    for seg in segments:
        p = preds[seg.id]
        row = {"recording": seg.recording, "segment": seg.id, "start": round(seg.start, 3),
               "end": round(seg.end, 3)}
        if "posteriors" in p:
            row["label"] = emotions[int(np.argmax(p["posteriors"]))]
            row["posteriors"] = {e: round(float(x), 4) for e, x in zip(emotions, p["posteriors"])}
        if "avd" in p:
            row.update({k: round(float(v), 4) for k, v in zip(("valence", "arousal", "dominance"), p["avd"])})
        rows.append(row)
    return rows


def summarise(rows: List[dict], durations: Dict[str, float], emotions) -> List[dict]:
    """Per recording: duration, seconds in segments, the duration-weighted mean posterior of each
    class (overlapping windows count twice where they overlap) and mean V/A/D."""
    out = []
    for rec, dur in durations.items():
        mine = [r for r in rows if r["recording"] == rec]
        w = np.array([r["end"] - r["start"] for r in mine])
        s = {"recording": rec, "duration": round(dur, 2), "segments": len(mine),
             "segment_seconds": round(float(w.sum()), 2)}
        if mine and "posteriors" in mine[0]:
            post = np.array([[r["posteriors"][e] for e in emotions] for r in mine])
            mean = (w[:, None] * post).sum(0) / w.sum()
            s["distribution"] = {e: round(float(x), 4) for e, x in zip(emotions, mean)}
            s["label"] = emotions[int(np.argmax(mean))]
        if mine and "valence" in mine[0]:
            for k in ("valence", "arousal", "dominance"):
                s[k] = round(float(np.average([r[k] for r in mine], weights=w)), 4)
        out.append(s)
    return out


# ----------------------------------------------------------------------------- writing
def table_text(rows: List[dict], fmt: str = "table") -> str:
    """The segments for people (`table`), or as TSV / JSON."""
    if fmt == "json":
        return json.dumps(rows, indent=1)
    emos = list(rows[0]["posteriors"]) if rows and "posteriors" in rows[0] else []
    avd = [k for k in ("valence", "arousal", "dominance") if rows and k in rows[0]]
    if fmt == "tsv":
        head = ["recording", "start", "end"] + (["label"] + emos if emos else []) + avd
        lines = ["\t".join(head)]
        for r in rows:
            lines.append("\t".join([r["recording"], f"{r['start']:.2f}", f"{r['end']:.2f}"]
                                   + ([r["label"]] + [f"{r['posteriors'][e]:.4f}" for e in emos] if emos else [])
                                   + [f"{r[k]:.3f}" for k in avd]))
        return "\n".join(lines)
    if fmt != "table":
        raise ValueError(f"format {fmt!r}: use table, tsv or json")
    width = max([len(r["recording"]) for r in rows] + [9])
    head = f"{'recording':<{width}}  {'start':>8}  {'end':>8}" + ("  label        p     " if emos else "") + \
        "".join(f"  {k[:3]:>6}" for k in avd)
    lines = [head]
    for r in rows:
        line = f"{r['recording']:<{width}}  {r['start']:8.2f}  {r['end']:8.2f}"
        if emos:
            line += f"  {r['label']:<12} {r['posteriors'][r['label']]:.2f}"
        line += "".join(f"  {r[k]:6.2f}" for k in avd)
        lines.append(line)
    return "\n".join(lines)


def write_outputs(out_dir, rows, summary, emotions, envelopes=None) -> None:
    """segments.tsv / segments.json, Kaldi `segments` (segment recording start end), summary.json
    + summary.tsv, and a timeline PNG per recording."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "segments.tsv", table_text(rows, "tsv") + "\n")
    write_json(out / "segments.json", rows)
    write_table(out / "segments", [(r["segment"], f"{r['recording']} {r['start']:.2f} {r['end']:.2f}") for r in rows])
    write_json(out / "summary.json", summary)
    keys = [k for k in ("label", "valence", "arousal", "dominance") if summary and k in summary[0]]
    lines = ["\t".join(["recording", "duration", "segments", "segment_seconds"] + keys
                       + [f"p_{e}" for e in (emotions if summary and "distribution" in summary[0] else [])])]
    for s in summary:
        lines.append("\t".join([s["recording"], str(s["duration"]), str(s["segments"]), str(s["segment_seconds"])]
                               + [str(s[k]) for k in keys]
                               + [f"{s['distribution'][e]:.4f}" for e in (emotions if "distribution" in s else [])]))
    write_text(out / "summary.tsv", "\n".join(lines) + "\n")
    for rec, env in (envelopes or {}).items():
        plot_timeline(rec, env, [r for r in rows if r["recording"] == rec], emotions, out / f"timeline_{rec}.png")


def plot_timeline(rec, env, rows, emotions, path) -> None:
    """Waveform envelope with the segments, class posteriors and V/A/D over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_post, has_avd = rows and "posteriors" in rows[0], rows and "valence" in rows[0]
    n = 1 + bool(has_post) + bool(has_avd)
    fig, axes = plt.subplots(n, 1, figsize=(11, 1.8 + 1.7 * n), sharex=True, squeeze=False)
    axes = axes[:, 0]
    axes[0].fill_between(env[:, 0], -env[:, 1], env[:, 1], color="0.4", lw=0)
    for r in rows:
        axes[0].axvspan(r["start"], r["end"], color="tab:orange", alpha=0.15, lw=0)
    axes[0].set_ylabel("waveform"), axes[0].set_title(f"{rec}: {len(rows)} segment(s)")
    mids = [(r["start"] + r["end"]) / 2 for r in rows]
    k = 1
    if has_post:
        for e in emotions:
            axes[k].plot(mids, [r["posteriors"][e] for r in rows], marker="o", ms=3, label=e)
        axes[k].set_ylim(0, 1), axes[k].set_ylabel("posterior")
        axes[k].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        k += 1
    if has_avd:
        for d in ("valence", "arousal", "dominance"):
            axes[k].plot(mids, [r[d] for r in rows], marker="o", ms=3, label=d)
        axes[k].set_ylabel("V/A/D"), axes[k].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
