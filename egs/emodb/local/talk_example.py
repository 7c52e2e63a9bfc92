#!/usr/bin/env python3
"""A long recording from real clips: two clips of each of five emotions of one test speaker,
1.5 s of silence between them, written as one WAV (and the clips' times as JSON) to try
`sertk infer` on long audio (README "Your own recordings"):

  python local/talk_example.py data/folds/fold1/test /tmp/talk.wav
  sertk infer --model exp/train_pooled_mlp_whisper_base/packed/train_pooled_mlp_whisper_base_fold1.tar.gz \
      --out /tmp/talk_out /tmp/talk.wav         # segments.tsv, summary.tsv, timeline_talk.png
"""
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from sertk.data.audio import load_audio
from sertk.data.datadir import DataDir


def main(test_dir, out_wav, emotions=("anger", "neutral", "sadness", "happiness", "boredom"), per=2):
    d = DataDir(test_dir)
    emo = d.tables["utt2emo"]
    pause = np.zeros(24000, np.float32)
    parts, clips, t = [pause], [], 1.5
    for e in emotions:
        for u in [u for u in d.utts if emo[u] == e][:per]:
            x = load_audio(u, d.tables["wav.scp"][u])
            parts += [x, pause]
            clips.append({"utt": u, "emotion": e, "start": round(t, 2), "end": round(t + len(x) / 16000, 2)})
            t += len(x) / 16000 + 1.5
    sf.write(out_wav, np.concatenate(parts), 16000)
    Path(out_wav).with_suffix(".json").write_text(json.dumps(clips, indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
