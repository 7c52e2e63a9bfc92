#!/usr/bin/env python3
"""`sertk infer` on a long recording: real-time factor and peak memory, per model (2-core CPU).

A recording of `--minutes` is assembled from real EmoDB clips with 0.5-2 s pauses (16 kHz,
16-bit WAV), then `sertk infer --model M --out DIR rec.wav` runs as a child process for each
model (`LABEL=PATH`: packed torch models or ONNX export dirs): wall time / audio duration is the
real-time factor, the child's ru_maxrss its peak memory. `--latency N` also times N single clips
one by one through each model in this process (torch vs onnxruntime per utterance). `--json X.json`
writes the figures and X.md the table the README shows.

  m=egs/emodb/exp/train_pooled_mlp_whisper_base/packed/train_pooled_mlp_whisper_base_fold1.tar.gz
  f=egs/emodb/exp/train_pooled_mlp_fbank/packed/train_pooled_mlp_fbank_fold1.tar.gz
  sertk export $m /tmp/whisper_onnx; sertk export $f /tmp/fbank_onnx
  tools/venv/bin/python bench/bench_long_audio.py --emodb ../shared/data/emodb --minutes 60 \
      --model "Whisper-base, torch=$m" --model "Whisper-base, onnxruntime=/tmp/whisper_onnx" \
      --model "fbank, torch=$f" --model "fbank, onnxruntime=/tmp/fbank_onnx" --json bench/results/long_audio.json
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def assemble(emodb: Path, minutes: float, out: Path, seed: int = 0) -> float:
    """Write clips + pauses up to `minutes` into `out` block by block; returns seconds."""
    from sertk.data.audio import load_audio

    rng = np.random.default_rng(seed)
    clips = sorted((emodb / "wav").glob("*.wav"))
    total, target = 0, int(minutes * 60 * 16000)
    with sf.SoundFile(out, "w", samplerate=16000, channels=1, subtype="PCM_16") as f:
        while total < target:
            c = clips[int(rng.integers(len(clips)))]
            x = np.concatenate([load_audio(c.stem, str(c)), np.zeros(int(rng.uniform(0.5, 2.0) * 16000), np.float32)])
            x = x[: target - total]
            f.write(x)
            total += len(x)
    return total / 16000


def run_infer(model: str, wav: Path, out: Path) -> dict:
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "sertk.cli", "infer", "--model", model, "--out", str(out), str(wav)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.time() - t0
    err = proc.stderr.read().decode()[-2000:]
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"sertk infer failed on {model}:\n{err}")
    segments = len(json.loads((out / "segments.json").read_text()))
    return {"seconds": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024), "segments": segments}


def labelled(specs):
    """["LABEL=PATH" or "PATH"] -> {label: path}"""
    return dict((s.split("=", 1) if "=" in s else (s, s)) for s in specs)


def markdown(res: dict) -> str:
    minutes = res["audio_seconds"] / 60
    lines = [f"| model | {minutes:.0f} min recording | real-time factor | peak memory | one 2 s clip |",
             "|---|---|---|---|---|"]
    for label, r in res["models"].items():
        clip = res.get("latency_seconds_per_clip", {}).get(label)
        lines.append(f"| {label} | {r['seconds']:.0f} s | {r['real_time_factor']:.3f} | {r['peak_rss_mb']} MB | "
                     f"{'-' if clip is None else f'{1000 * clip:.0f} ms'} |")
    return "\n".join(lines) + "\n"


def latency(models: dict, emodb: Path, n: int) -> dict:
    """Seconds per single clip, one at a time, after one warm-up clip."""
    from sertk.data.audio import load_audio
    from sertk.export import OnnxPredictor, is_onnx_export
    from sertk.infer.predict import Predictor

    clips = sorted((emodb / "wav").glob("*.wav"))[: n + 1]
    wavs = [(c.stem, load_audio(c.stem, str(c))) for c in clips]
    out = {}
    for label, m in models.items():
        pred = OnnxPredictor(m) if is_onnx_export(m) else Predictor(m)
        pred.from_waveforms(dict(wavs[:1]))
        t0 = time.time()
        for u, w in wavs[1:]:
            pred.from_waveforms({u: w})
        out[label] = round((time.time() - t0) / n, 4)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emodb", required=True, type=Path)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--latency", type=int, default=50)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    models = labelled(a.model)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "long.wav"
        dur = assemble(a.emodb, a.minutes, wav)
        res = {"audio_seconds": dur, "cpus": os.cpu_count(), "models": {}}
        for i, (label, m) in enumerate(models.items()):
            r = {"path": m, **run_infer(m, wav, Path(tmp) / f"out{i}")}
            r["real_time_factor"] = round(r["seconds"] / dur, 4)
            res["models"][label] = r
            print(f"{label}: {dur / 60:.0f} min of audio in {r['seconds']} s (RTF {r['real_time_factor']}), "
                  f"peak {r['peak_rss_mb']} MB, {r['segments']} segments", flush=True)
    if a.latency:
        res["latency_seconds_per_clip"] = latency(models, a.emodb, a.latency)
        print("seconds per clip:", res["latency_seconds_per_clip"])
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
        Path(a.json).with_suffix(".md").write_text(markdown(res))


if __name__ == "__main__":
    main()
