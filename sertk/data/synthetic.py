"""A small synthetic SER corpus for tests, benchmarks and trying a recipe without data.

Each emotion is a harmonic tone with its own pitch, vibrato and loudness contour, so a
working pipeline separates them well above chance; speakers shift the pitch (female higher)
and add their own timbre. Every label kind sertk knows is written: emotion, valence/arousal/
dominance, style (acted/spontaneous), transcript, session, language. Audio comes at mixed
sample rates and channel counts so resampling and downmixing are exercised.
"""
import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from sertk.data.datadir import write_datadir

EMOTIONS = ["angry", "happy", "neutral", "sad"]
AVD = {"angry": (-0.6, 0.8, 0.6), "happy": (0.7, 0.6, 0.3), "neutral": (0.0, 0.0, 0.0),
       "sad": (-0.6, -0.5, -0.4)}
WORDS = {"angry": "stop that now", "happy": "what a lovely day", "neutral": "the table is brown",
         "sad": "i miss them so"}


def emotion_tone(rng, emo_idx: int, f0_scale: float, dur: float, sr: int, spontaneous: bool = False) -> np.ndarray:
    """A harmonic tone whose pitch, vibrato, spectral tilt and loudness follow the emotion index;
    `spontaneous` speech is breathier (more noise) with a 7 Hz loudness flutter, so an
    acted-vs-spontaneous head has something to learn."""
    t = np.arange(int(dur * sr)) / sr
    f0 = (100 + 90 * emo_idx) * f0_scale * (1 + 0.03 * (emo_idx + 1) * np.sin(2 * np.pi * (2 + emo_idx) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wav = sum(np.sin(k * phase) / k ** (1.0 + 0.3 * emo_idx) for k in range(1, 6))
    env = 0.25 + 0.2 * emo_idx / len(EMOTIONS) + 0.1 * np.sin(2 * np.pi * (1 + emo_idx) * t)
    if spontaneous:
        env = env * (1 + 0.5 * np.sin(2 * np.pi * 7 * t))
    wav = wav * env + (0.12 if spontaneous else 0.02) * rng.standard_normal(len(t))
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)


def make_corpus(out_dir, num_speakers: int = 8, utts_per_emotion: int = 4, seed: int = 0,
                min_dur: float = 0.8, max_dur: float = 2.2, sessions: int = 2):
    """Write audio to out_dir/wav and a data dir to out_dir/data (emotions.txt beside it)."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    (out / "wav").mkdir(parents=True, exist_ok=True)
    tables = {k: [] for k in ("wav.scp", "utt2spk", "utt2emo", "utt2avd", "utt2style", "text",
                              "utt2session", "utt2lang")}
    genders = {}
    for s in range(num_speakers):
        spk = f"spk{s + 1:02d}"
        genders[spk] = "f" if s % 2 else "m"
        scale = (1.15 if genders[spk] == "f" else 1.0) * rng.uniform(0.95, 1.05)
        session = f"ses{s % sessions + 1}"
        for e, emo in enumerate(EMOTIONS):
            for k in range(utts_per_emotion):
                utt = f"{spk}_{emo}_{k:02d}"
                sr = [16000, 22050, 8000][(s + k) % 3]
                style = "acted" if k % 2 == 0 else "spontaneous"
                wav = emotion_tone(rng, e, scale, rng.uniform(min_dur, max_dur), sr, style == "spontaneous")
                if (s + k) % 4 == 0:  # some stereo files
                    wav = np.stack([wav, 0.8 * wav], axis=1)
                path = out / "wav" / f"{utt}.wav"
                sf.write(path, wav, sr)
                v, a, d = (np.array(AVD[emo]) + rng.normal(0, 0.1, 3)).round(3)
                tables["wav.scp"].append((utt, str(path.resolve())))
                tables["utt2spk"].append((utt, spk))
                tables["utt2emo"].append((utt, emo))
                tables["utt2avd"].append((utt, f"{v} {a} {d}"))
                tables["utt2style"].append((utt, style))
                tables["text"].append((utt, WORDS[emo].upper()))
                tables["utt2session"].append((utt, session))
                tables["utt2lang"].append((utt, "en"))
    data = out / "data"
    write_datadir(data, tables, genders, EMOTIONS, emotions_file=data / "emotions.txt")
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out_dir")
    ap.add_argument("--num-speakers", type=int, default=8)
    ap.add_argument("--utts-per-emotion", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(make_corpus(a.out_dir, a.num_speakers, a.utts_per_emotion, a.seed))


if __name__ == "__main__":
    main()
