"""Hard recording conditions made from a real data dir (`sertk data harden`).

Users' corpora differ from EmoDB's studio copies in ways that break heads tuned on it: speakers
recorded at levels 14 dB apart, two microphones in a stereo file, one of them wired with
inverted polarity, a mono file among stereo ones. This writes a copy of a data dir where
- every speaker gets one random gain, uniform in +-gain_db,
- every file becomes stereo (unless chosen to stay mono): channel 0 the original, channel 1
  a second microphone (a per-file level 0.5-1.0 and a delay of 1-8 samples),
- in a fraction of the stereo files channel 1's polarity is flipped,
- (crop_ms > 0) each file loses a random 0-crop_ms at its start and at its end, as a
  segmenter would cut it (a head tuned on equal-length clips must survive other lengths).
Files are written as 32-bit float WAV, so a gain never clips. What was done is recorded in
`perturbation.json` (gain per speaker, flipped and mono utterances). The label inventory goes
to out_dir/../emotions.txt, as corpus preparation writes it.
"""
from pathlib import Path

import numpy as np
import soundfile as sf

from sertk.data.datadir import DataDir
from sertk.fileio import write_json, write_list, write_table


def harden(data_dir, out_dir, gain_db: float = 10.0, flip_fraction: float = 0.3,
           mono_fraction: float = 0.02, seed: int = 0, crop_ms: float = 0.0) -> dict:
    src, out = DataDir(data_dir), Path(out_dir)
    if src.has("segments"):
        raise ValueError(f"{data_dir}: data dirs with segments are not supported; cut the audio first")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty: choose a new output dir")
    rng = np.random.default_rng(seed)
    speakers = sorted(set(src.utt2spk.values()))
    gains = {s: float(rng.uniform(-gain_db, gain_db)) for s in speakers}
    (out / "wav").mkdir(parents=True, exist_ok=True)
    wavs, flipped, mono, crops = [], [], [], {}
    crop_rng = np.random.default_rng([seed, 1])  # its own stream: crop_ms=0 keeps earlier copies identical
    for utt in src.utts:
        path = src.tables["wav.scp"][utt]
        try:
            data, sr = sf.read(path, dtype="float32", always_2d=True)
        except Exception as e:
            raise ValueError(f"utterance {utt}: cannot read audio {path!r}: {e}") from e
        x = data.mean(1) * np.float32(10 ** (gains[src.utt2spk[utt]] / 20))
        if crop_ms > 0:
            a, b = (int(v * sr / 1000) for v in crop_rng.uniform(0, crop_ms, 2))
            x = x[a: len(x) - b]
            crops[utt] = [a, b]
        if rng.random() < mono_fraction:
            y = x[:, None]
            mono.append(utt)
        else:
            delay = int(rng.integers(1, 9))
            second = np.concatenate([np.zeros(delay, np.float32), x[:-delay]]) * np.float32(rng.uniform(0.5, 1.0))
            if rng.random() < flip_fraction:
                second = -second
                flipped.append(utt)
            y = np.stack([x, second], 1)
        dst = (out / "wav" / f"{utt}.wav").resolve()
        sf.write(dst, y, sr, subtype="FLOAT")
        wavs.append((utt, str(dst)))
    for name, table in src.tables.items():
        if name not in ("wav.scp", "utt2dur"):
            write_table(out / name, table.items())
    write_table(out / "wav.scp", wavs)
    if src.emotions():  # the recipe-level inventory, where write_datadir puts it
        write_list(out.parent / "emotions.txt", src.emotions())
    record = {"source": str(Path(data_dir).resolve()), "seed": seed, "gain_db": gain_db,
              "speaker_gain_db": {s: round(g, 2) for s, g in gains.items()},
              "flipped_polarity": flipped, "mono": mono, "crop_ms": crop_ms, "cropped_samples": crops}
    write_json(out / "perturbation.json", record)
    return record
