"""Raw waveform (+ transcript) datasets for models that run their upstream on the fly and
fine-tune it (MMER). Audio is read per item as 16 kHz mono; batches are formed by duration."""
from typing import Dict, List, Optional

import torch

from sertk.data.audio import TARGET_SR, audio_info, load_audio
from sertk.data.dataset import LabelledUtterances, collate_labels
from sertk.text.charvocab import CharVocab


class AudioTextDataset(LabelledUtterances):
    """Items: utterance id, `wav` (float32, 16 kHz; unless need_audio is False), `text` (the
    transcript, if the model reads it), `ctc` (character ids, if a vocabulary is given) and
    the labels; with unit_dirs, `units` (frame-level cluster ids per scale, GMP-ATL stage C)."""

    def __init__(self, data_dir, emotions: Optional[List[str]] = None, need_text: bool = False,
                 vocab: Optional[CharVocab] = None, require_labels: bool = True, need_audio: bool = True,
                 unit_dirs: Optional[List] = None):
        super().__init__(data_dir, emotions, require_labels)
        from sertk.data.unit_reader import UnitReader

        self.units = [UnitReader(d) for d in unit_dirs or []]
        self.need_audio = need_audio
        if (need_text or vocab is not None) and not self.data.has("text"):
            raise ValueError(f"{self.data.path}: this model reads transcripts but there is no `text` "
                             "(write one from the corpus or an ASR system)")
        self.texts = self.data.tables.get("text", {}) if need_text or vocab is not None else {}
        self.need_text, self.vocab = need_text, vocab
        if self.data.has("utt2dur"):
            durs = {u: float(d) for u, d in self.data.tables["utt2dur"].items()}
        else:
            durs = {u: self._duration(u) for u in self.utts}
        self.lengths = [int(durs[u] * TARGET_SR) for u in self.utts]  # samples, for batching
        self.meta = {"input": "audio", "sample_rate": TARGET_SR}

    def _duration(self, utt):
        source, start, end = self.data.audio_source(utt)
        if start is not None:
            return end - start
        return audio_info(utt, source)[0]

    def __getitem__(self, i) -> Dict:
        utt = self.utts[i]
        item = self.label_item(i)
        if self.need_audio:
            item["wav"] = load_audio(utt, *self.data.audio_source(utt))
        if self.need_text:
            item["text"] = self.texts[utt]
        if self.vocab is not None:
            item["ctc"] = self.vocab.encode(self.texts[utt])
        if self.units:
            item["units"] = [r[utt] for r in self.units]
        return item


def collate_audio(items: List[Dict]) -> Dict:
    """Zero-pad waveforms (`wav`, `wav_lengths` in samples); CTC targets padded with -1
    (`ctc`, `ctc_lengths`, ESPnet's convention); transcripts stay strings."""
    batch = {"utt": [it["utt"] for it in items]}
    if all("wav" in it for it in items):
        lens = torch.tensor([len(it["wav"]) for it in items])
        wav = torch.zeros(len(items), int(lens.max()))
        for i, it in enumerate(items):
            wav[i, : len(it["wav"])] = torch.from_numpy(it["wav"])
        batch["wav"], batch["wav_lengths"] = wav, lens
    if all("text" in it for it in items):
        batch["text"] = [it["text"] for it in items]
    if all("ctc" in it for it in items):
        clens = torch.tensor([len(it["ctc"]) for it in items])
        ctc = torch.full((len(items), max(int(clens.max()), 1)), -1, dtype=torch.long)
        for i, it in enumerate(items):
            ctc[i, : len(it["ctc"])] = torch.tensor(it["ctc"], dtype=torch.long)
        batch["ctc"], batch["ctc_lengths"] = ctc, clens
    if all("units" in it for it in items):  # one (B, T) tensor per scale, padded with -1
        ulens = torch.tensor([len(it["units"][0]) for it in items])
        batch["units"] = []
        for s in range(len(items[0]["units"])):
            u = torch.full((len(items), int(ulens.max())), -1, dtype=torch.long)
            for i, it in enumerate(items):
                u[i, : len(it["units"][s])] = torch.from_numpy(it["units"][s])
            batch["units"].append(u)
        batch["unit_lengths"] = ulens
    return collate_labels(items, batch)


def character_error_rate(refs: List[List[int]], hyps: List[List[int]]) -> float:
    """Summed edit distance over summed reference length (CER over a split)."""
    import editdistance

    errors = sum(editdistance.eval(r, h) for r, h in zip(refs, hyps))
    return errors / max(sum(len(r) for r in refs), 1)

