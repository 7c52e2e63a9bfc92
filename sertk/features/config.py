"""Extraction configuration defaults; a YAML file and `key=value` overrides go on top."""
from sertk.config import load_yaml

DEFAULTS = {
    "upstream": "s3prl",        # s3prl | hf | whisper | librosa_mfcc
    "upstream_conf": {},
    "dtype": "float32",         # float16 halves disk and I/O
    "batch_seconds": 60.0,      # padded audio per forward batch
    "chunk_utts": 200,          # utterances per ark chunk (the unit of resumption)
    "channel": "mean",          # multichannel audio: mean (polarity-aligned) or a channel index
    "level_dbfs": None,         # e.g. -25: scale each utterance to that RMS level (None: as recorded)
}


def load_extract_config(path=None, overrides=()) -> dict:
    return load_yaml(path, overrides, DEFAULTS)
