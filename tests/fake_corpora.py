"""Small fake copies of licensed corpora in their official layouts and file formats, with
synthetic audio whose emotion is audible (sertk.data.synthetic.emotion_tone), so recipes can
run end to end without the real data."""
from pathlib import Path

import numpy as np
import soundfile as sf

from sertk.data.synthetic import emotion_tone

# raw label codes and their V/A/D (IEMOCAP 1-5 scale)
IEMOCAP_CODES = {"ang": (1.8, 4.0, 4.0), "hap": (4.2, 3.5, 3.2), "exc": (4.0, 4.2, 3.5),
                 "neu": (3.0, 2.5, 2.8), "sad": (1.9, 1.9, 2.2), "fru": (2.0, 3.3, 3.0),
                 "xxx": (2.5, 3.0, 3.0)}
TONE = {"ang": 0, "hap": 1, "exc": 1, "neu": 2, "sad": 3, "fru": 0, "xxx": 2}


def _wav(path: Path, rng, code: str, f0_scale: float, sr: int = 16000, dur=(0.8, 1.6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, emotion_tone(rng, TONE[code], f0_scale, rng.uniform(*dur), sr), sr)


def make_iemocap(root, utts_per_speaker: int = 6, seed: int = 0) -> Path:
    """IEMOCAP_full_release/Session{1..5}: one improvised and one scripted dialog per session,
    both speakers in each; EmoEvaluation files in the release's tab-separated syntax (with
    the evaluator lines that follow each turn) and transcriptions."""
    rng = np.random.default_rng(seed)
    root = Path(root) / "IEMOCAP_full_release"
    codes = list(IEMOCAP_CODES)
    for s in range(1, 6):
        ses = root / f"Session{s}"
        for kind in ("impro01", "script01_2"):
            dialog = f"Ses0{s}{'F' if s % 2 else 'M'}_{kind}"
            ev = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            tr, t = [], 1.0
            for spk in "FM":
                for k in range(utts_per_speaker):
                    code = codes[(k + s) % len(codes)]
                    utt = f"{dialog}_{spk}{k:03d}"
                    _wav(ses / "sentences" / "wav" / dialog / f"{utt}.wav", rng, code,
                         1.15 if spk == "F" else 1.0)
                    v, a, d = (np.array(IEMOCAP_CODES[code]) + rng.normal(0, 0.2, 3)).clip(1, 5)
                    ev += [f"[{t:.4f} - {t + 1.5:.4f}]\t{utt}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]",
                           f"C-E1:\t{code.capitalize()};\t()", f"A-E2:\tval {v:.0f}; act {a:.0f}; dom {d:.0f};\t()", ""]
                    tr.append(f"{utt} [{t:08.4f}-{t + 1.5:08.4f}]: Words of turn {k}, said {code}.")
                    t += 2.0
            tr.append(f"{dialog}_MXX0 [100.0000-101.0000]: [LAUGHTER]")
            for sub, lines in (("EmoEvaluation", ev), ("transcriptions", tr)):
                p = ses / "dialog" / sub / f"{dialog}.txt"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text("\n".join(lines) + "\n")
    return root


MSP_CODES = {"N": (4.0, 3.5, 4.0), "A": (2.2, 5.5, 5.3), "H": (5.6, 4.8, 4.4), "S": (2.4, 2.6, 3.0),
             "D": (2.5, 4.5, 4.6), "U": (4.2, 4.8, 4.0), "X": (4.0, 4.0, 4.0)}
MSP_TONE = {"N": "neu", "A": "ang", "H": "hap", "S": "sad", "D": "fru", "U": "exc", "X": "xxx"}


def make_msp_podcast(root, speakers_per_split=(6, 3, 3), utts_per_speaker: int = 6, seed: int = 0) -> Path:
    """MSP-Podcast: Audios/*.wav and Labels/labels_consensus.csv (Train / Development / Test1,
    plus a few Test2 rows and Unknown speakers, as in the release)."""
    rng = np.random.default_rng(seed)
    root = Path(root) / "MSP-Podcast"
    rows = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    codes, n, spk_id = list(MSP_CODES), 0, 100
    for split, n_spk in zip(("Train", "Development", "Test1", "Test2"), tuple(speakers_per_split) + (1,)):
        for _ in range(n_spk):
            spk_id += 1
            gender = "Female" if spk_id % 2 else "Male"
            for k in range(utts_per_speaker):
                code = codes[(k + spk_id) % len(codes)]
                n += 1
                name = f"MSP-PODCAST_{spk_id:04d}_{n:04d}.wav"
                _wav(root / "Audios" / name, rng, MSP_TONE[code], 1.15 if gender == "Female" else 1.0)
                v, a, d = (np.array(MSP_CODES[code]) + rng.normal(0, 0.3, 3)).clip(1, 7)
                sid = "Unknown" if (split == "Train" and k == 0) else str(spk_id)
                rows.append(f"{name},{code},{a:.4f},{v:.4f},{d:.4f},{sid},{gender},{split}")
    (root / "Labels").mkdir(parents=True, exist_ok=True)
    (root / "Labels" / "labels_consensus.csv").write_text("\n".join(rows) + "\n")
    return root


def _tone_file(path: Path, rng, emo_idx: int, f0_scale: float, sr: int = 16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, emotion_tone(rng, emo_idx % 4, f0_scale, rng.uniform(0.8, 1.4), sr), sr)


def make_ravdess(root, actors: int = 6, seed: int = 0) -> Path:
    """Audio_Speech_Actors_01-24/Actor_NN/03-01-EE-II-SS-RR-NN.wav for 4 of the 8 emotions
    (neutral, happy, sad, angry), one song file to be ignored."""
    rng = np.random.default_rng(seed)
    root = Path(root) / "Audio_Speech_Actors_01-24"
    for a in range(1, actors + 1):
        for e, emo in enumerate(("01", "03", "04", "05")):
            for statement in ("01", "02"):
                name = f"03-01-{emo}-01-{statement}-01-{a:02d}.wav"
                _tone_file(root / f"Actor_{a:02d}" / name, rng, e, 1.0 if a % 2 else 1.15, 48000)
    _tone_file(root / "Actor_01" / "03-02-01-01-01-01-01.wav", rng, 0, 1.0)  # song
    return root


def make_crema_d(root, actors=(1001, 1002, 1003, 1004, 1005, 1006), seed: int = 0) -> Path:
    """CREMA-D/AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav + VideoDemographics.csv."""
    rng = np.random.default_rng(seed)
    root = Path(root) / "CREMA-D"
    demo = ['"ActorID","Age","Sex","Race","Ethnicity"']
    for i, actor in enumerate(actors):
        sex = "Male" if i % 2 == 0 else "Female"
        demo.append(f'{actor},{30 + i},"{sex}","Caucasian","Not Hispanic"')
        for e, emo in enumerate(("ANG", "HAP", "NEU", "SAD")):
            for sent, level in (("IEO", "HI"), ("DFA", "XX")):
                _tone_file(root / "AudioWAV" / f"{actor}_{sent}_{emo}_{level}.wav", rng, e,
                           1.0 if sex == "Male" else 1.15)
    (root / "VideoDemographics.csv").write_text("\n".join(demo) + "\n")
    return root


def make_cafe(root, actors: int = 6, seed: int = 0) -> Path:
    """CaFE_48k/<Émotion>/<Faible|Fort>/AA-E-I-SS.wav and CaFE_48k/Neutre/AA-N-SS.wav."""
    rng = np.random.default_rng(seed)
    root = Path(root) / "CaFE_48k"
    dirs = {"C": "Colère", "J": "Joie", "T": "Tristesse"}
    for a in range(1, actors + 1):
        f0 = 1.0 if a % 2 else 1.15
        for e, code in enumerate("CJT"):
            for s, (intensity, sub) in enumerate(((1, "Faible"), (2, "Fort"))):
                _tone_file(root / dirs[code] / sub / f"{a:02d}-{code}-{intensity}-{s + 1:02d}.wav", rng, e, f0, 48000)
        for s in (1, 2):
            _tone_file(root / "Neutre" / f"{a:02d}-N-{s:02d}.wav", rng, 3, f0, 48000)
    return root


BAUM_WORDS = ("Anger", "Happiness", "Sadness", "Fear", "Boredom")  # boredom: outside the six, dropped


def make_baum1(root, acted_subjects: int = 4, spont_subjects: int = 6, seed: int = 0) -> Path:
    """BAUM-1 as released: "BAUM1a_MP4 - All/S00N/S00N_0KK.mp4" (acted) and "BAUM1s_MP4 - All/..."
    (spontaneous), AAC audio at 44.1 kHz in .mp4, and Annotations_BAUM1a/1s.xlsx sheets (header
    row; subject, clip, emotion word and code, gender). Subjects S001.. appear in both subsets;
    odd subjects are female. Spontaneous clips are breathier (see emotion_tone)."""
    import subprocess
    import tempfile

    import imageio_ffmpeg
    import openpyxl

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    rng = np.random.default_rng(seed)
    root = Path(root) / "BAUM-1"
    for subset, n_subj in (("a", acted_subjects), ("s", spont_subjects)):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["No", "Subject No", "Clip No", "Clip Name", "Emotion", "Emotion Code", "Gender"])
        row = 0
        for s in range(1, n_subj + 1):
            female = s % 2 == 1
            for k, word in enumerate(BAUM_WORDS * 2):
                clip = f"S{s:03d}_{k + 1:03d}"
                out = root / f"BAUM1{subset}_MP4 - All" / f"S{s:03d}" / f"{clip}.mp4"
                out.parent.mkdir(parents=True, exist_ok=True)
                wav = emotion_tone(rng, BAUM_WORDS.index(word) % 4, 1.15 if female else 1.0,
                                   rng.uniform(0.8, 1.4), 44100, spontaneous=subset == "s")
                with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
                    sf.write(tmp.name, wav, 44100)
                    subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", tmp.name, "-c:a", "aac",
                                    "-b:a", "96k", str(out)], check=True)
                row += 1
                sheet.append([row, s, k + 1, clip, word, BAUM_WORDS.index(word) + 1, "F" if female else "M"])
        book.save(root / f"Annotations_BAUM1{subset}.xlsx")
    return root
