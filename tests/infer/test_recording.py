"""Long recordings: block reading equals whole-file reading, speech regions and windows, input
kinds (directories, stdin, ffmpeg formats), and the CLI's segment outputs."""
import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sertk.cli import main
from sertk.data.audio import load_audio
from sertk.infer import recording as rec


def invoke(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def bursts(spans, total, sr=16000, seed=0):
    """Noise bursts (speech stand-ins) at `spans` seconds in `total` seconds of near-silence."""
    rng = np.random.default_rng(seed)
    x = 1e-4 * rng.standard_normal(int(total * sr))
    for s, e in spans:
        t = np.arange(int((e - s) * sr)) / sr
        x[int(s * sr): int(s * sr) + len(t)] += 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * rng.standard_normal(len(t)))
    return x.astype(np.float32)


def test_block_reading_equals_whole_file_reading(tmp_path):
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((48000 * 70, 2))).astype(np.float32)  # 70 s, 48 kHz stereo: 3 blocks
    x[:, 1] = -0.7 * x[:, 0]  # an inverted second microphone
    sf.write(tmp_path / "a.wav", x, 48000)
    blocks = rec.read_recording("a", str(tmp_path / "a.wav"))
    whole = load_audio("a", str(tmp_path / "a.wav"))
    assert len(blocks) == len(whole) == 16000 * 70
    # the resampler's edges at the two block joins are the only difference
    far = np.ones(len(whole), bool)
    for j in (30, 60):
        far[j * 16000 - 100: j * 16000 + 100] = False
    np.testing.assert_allclose(blocks[far], whole[far], atol=1e-4)


def test_energy_regions_and_windows():
    spans = [(1.0, 3.0), (4.0, 4.6), (6.0, 21.0)]
    regions = rec.speech_regions(bursts(spans, 23.0), "energy")
    assert len(regions) == 3
    for (s, e), (a, b) in zip(spans, regions):
        assert abs(a - s) < 0.15 and abs(b - e) < 0.15
    w = rec.windows(regions, max_seconds=10.0, overlap=2.0)
    assert w[:2] == regions[:2]
    long = w[2:]  # 15.2 s -> 2 windows of 10 s overlapping by >= 2 s, covering the region
    assert len(long) == 2 and all(abs(e - s - 10.0) < 1e-6 for s, e in long)
    assert long[0][0] == regions[2][0] and abs(long[-1][1] - regions[2][1]) < 1e-6
    assert long[0][1] - long[1][0] >= 2.0
    with pytest.raises(ValueError, match="overlap"):
        rec.windows(regions, 5.0, 5.0)


def test_silero_vad_finds_the_spoken_clips(emodb):
    clips = sorted((emodb / "wav").glob("*.wav"))[:3]
    parts = [np.zeros(24000, np.float32)]
    for c in clips:
        parts += [load_audio(c.stem, str(c)), np.zeros(24000, np.float32)]
    regions = rec.speech_regions(np.concatenate(parts), "vad")
    assert len(regions) == 3
    starts = [1.5 + i * 3.5 for i in range(3)]  # 1.5 s silence, 2 s clip, 1.5 s silence, ...
    # each region lies on its clip (a clip may open or close with a pause of its own)
    assert all(s - 0.3 < a < b < s + 2.3 and b - a > 0.8 for (a, b), s in zip(regions, starts)), regions


def test_inputs_directories_stdin_and_ffmpeg(tmp_path):
    x = bursts([(0.5, 1.5)], 2.0)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    sf.write(tmp_path / "d" / "a.wav", x, 16000)
    sf.write(tmp_path / "d" / "sub" / "b.flac", x, 16000)
    (tmp_path / "d" / "notes.txt").write_text("not audio")
    assert set(rec.recording_sources([str(tmp_path / "d")])) == {"a", "b"}
    assert set(rec.recording_sources([str(tmp_path / "d")], "*.flac")) == {"b"}
    with pytest.raises(FileNotFoundError, match="no audio files matching"):
        rec.recording_sources([str(tmp_path / "d")], "*.mp4")
    m4a = tmp_path / "c.m4a"
    subprocess.run([rec._ffmpeg(), "-loglevel", "error", "-i", str(tmp_path / "d" / "a.wav"), "-c:a", "aac", str(m4a)],
                   check=True)
    decoded = rec.read_recording("c", str(m4a))
    assert abs(len(decoded) - len(x)) < 2048  # the codec's padding
    with pytest.raises(rec.AudioError, match="ffmpeg cannot decode it"):
        (tmp_path / "bad.m4a").write_bytes(b"garbage" * 100)
        rec.read_recording("bad", str(tmp_path / "bad.m4a"))


def test_cli_segments_a_long_recording(synth_folds, synth_fbank, tmp_path):
    """A model over fbank features on a 40 s recording: segments, summary, timeline, stdin and a
    printed table; a short clip stays one prediction named after its file."""
    r = invoke("train", "--train-dir", synth_folds / "fold1" / "train", "--valid-dir", synth_folds / "fold1" / "valid",
               "--feat-dir", synth_fbank, "--exp-dir", tmp_path / "exp", "max_epochs=1")
    assert r.exit_code == 0, r.output
    spans = [(1.0, 3.0), (5.0, 7.5), (10.0, 25.0), (28.0, 30.0)]
    sf.write(tmp_path / "long.wav", bursts(spans, 40.0), 16000)
    sf.write(tmp_path / "short.wav", bursts([(0.2, 1.2)], 1.5), 16000)
    model = ["--model", tmp_path / "exp" / "best.pt", "--extract-config", synth_fbank / "extract.yaml"]
    # tone bursts are no speech to silero-vad: the energy segmenter cuts the long file; the short
    # one stays whole
    r = invoke("infer", *model, "--segment", "energy", "--out", tmp_path / "out",
               tmp_path / "long.wav", tmp_path / "short.wav")
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "out" / "segments.json").read_text())
    long = [x for x in rows if x["recording"] == "long"]
    assert len(long) == 5  # 3 short regions + the 15 s one in two 10 s windows
    assert [x["segment"] for x in rows if x["recording"] == "short"] == ["short"]
    hyp = dict(l.split() for l in (tmp_path / "out" / "utt2emo_hyp").read_text().splitlines())
    assert set(hyp) == {x["segment"] for x in rows} and all(hyp[x["segment"]] == x["label"] for x in rows)
    kaldi = (tmp_path / "out" / "segments").read_text().split("\n")[0].split()
    assert kaldi[1] == "long" and float(kaldi[2]) == long[0]["start"]
    summary = {s["recording"]: s for s in json.loads((tmp_path / "out" / "summary.json").read_text())}
    assert summary["long"]["segments"] == 5 and abs(sum(summary["long"]["distribution"].values()) - 1) < 1e-3
    assert (tmp_path / "out" / "timeline_long.png").stat().st_size > 5000
    assert not (tmp_path / "out" / "timeline_short.png").exists()
    # no --out: a table on stdout; `-` reads the same recording from stdin
    r = invoke("infer", *model, "--segment", "energy", "-", input=(tmp_path / "long.wav").read_bytes())
    assert r.exit_code == 0, r.output
    table = [l.split() for l in r.output.splitlines() if l.startswith("stdin")]
    assert [(float(t[1]), t[3]) for t in table] == [(round(x["start"], 2), x["label"]) for x in long]
    r = invoke("infer", *model, "--segment", "energy", "--format", "tsv", tmp_path / "long.wav")
    assert r.output.splitlines()[0].startswith("recording\tstart\tend\tlabel")
