"""Training configuration defaults; a YAML file and `key=value` overrides go on top."""
from sertk.config import dump_yaml, load_yaml

DEFAULTS = {
    "model": "baseline",
    "model_conf": {},
    "optim": "adam",
    "optim_conf": {"lr": 1.0e-3, "weight_decay": 0.0},
    "scheduler": None,          # None | warmup_invsqrt | cosine
    "scheduler_conf": {},
    "batch_size": 32,
    "accum_grad": 1,            # batches per optimizer update (gradient accumulation)
    "max_epochs": 50,
    "patience": 10,             # early stopping on the valid split, in epochs
    "select_metric": "ua",      # ua | wa | loss | ccc (mean V/A/D CCC); valid split only, never test
    "average_best": 0,          # N > 1: best.pt = average of the N best epochs by valid metric
    "refit": False,             # then retrain on train+valid for the selected epochs (test untouched)
    "class_weight": False,      # inverse-frequency CE weights from the training split
    "label_smoothing": 0.0,
    "grad_clip": 5.0,
    "units_dir": None,          # frame labels of `sertk units` (models that learn them: gmp_atl stage C)
    "init_param": [],           # ["ckpt.pt[:src_prefix[:dst_prefix]]"]: start from earlier weights
    "inner_folds": 5,           # pooled-statistics heads: inner leave-speaker-out folds for selection
    "seed": 0,
    "num_workers": 0,
}


def load_config(path=None, overrides=()) -> dict:
    return load_yaml(path, overrides, DEFAULTS)


save_config = dump_yaml
