"""Character vocabulary for CTC targets (MMER's auxiliary task): uppercase letters, the
word separator and the apostrophe, built from the training transcripts with sentencepiece's
`char` model. Id 0 is the CTC blank (ESPnet's CTC convention), id 1 `<unk>`."""
import io
import re
from pathlib import Path
from typing import Iterable, List

import sentencepiece as spm

from sertk.fileio import atomic_path

BLANK = "<blank>"
_NOT_KEPT = re.compile(r"[^A-Z' ]+")


def normalize_transcript(text: str) -> str:
    """Uppercase; punctuation, digits and markup removed (apostrophes kept); single spaces."""
    text = re.sub(r"\[[^\]]*\]|<[^>]*>", " ", text.upper())  # [LAUGHTER], <noise>
    return " ".join(_NOT_KEPT.sub(" ", text).split())


class CharVocab:
    def __init__(self, model_file):
        self.path = Path(model_file)
        self.sp = spm.SentencePieceProcessor(model_file=str(self.path))

    @classmethod
    def build(cls, texts: Iterable[str], model_file) -> "CharVocab":
        """Train on normalised transcripts and write the model atomically."""
        lines = [t for t in (normalize_transcript(x) for x in texts) if t]
        if not lines:
            raise ValueError("no transcript with letters to build a character vocabulary from")
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=proto, model_type="char", vocab_size=64,
            hard_vocab_limit=False, character_coverage=1.0, pad_id=0, pad_piece=BLANK, unk_id=1,
            bos_id=-1, eos_id=-1, minloglevel=2)
        with atomic_path(model_file) as tmp:
            Path(tmp).write_bytes(proto.getvalue())
        return cls(model_file)

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> List[int]:
        return self.sp.encode(normalize_transcript(text))

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode([int(i) for i in ids if int(i) > 0])

    def greedy_ctc(self, frame_ids: Iterable[int]) -> str:
        """Best-path CTC decoding of per-frame argmax ids to text."""
        return self.decode(collapse_ctc(frame_ids))


def collapse_ctc(frame_ids: Iterable[int]) -> List[int]:
    """Collapse repeats, drop blanks (id 0): per-frame best ids -> a label sequence."""
    out, prev = [], None
    for i in (int(x) for x in frame_ids):
        if i != prev and i != 0:
            out.append(i)
        prev = i
    return out
