"""Where a command runs: `--ngpu 0` is the CPU, `--ngpu 1` the first CUDA device.

Asking for a GPU that torch cannot see is an error, not a silent CPU run: a job planned for
minutes on a GPU would otherwise take hours without saying why."""
import os

import torch


def resolve_device(ngpu: int) -> str:
    flush_subnormals()  # every command that computes asks for its device first
    if ngpu < 0:
        raise ValueError(f"--ngpu must be >= 0, got {ngpu}")
    if ngpu == 0:
        return "cpu"
    if not torch.cuda.is_available():
        raise ValueError(f"--ngpu {ngpu} asks for a GPU, but torch {torch.__version__} sees no CUDA device "
                         "(use --ngpu 0 for the CPU)")
    return "cuda"


def flush_subnormals() -> bool:
    """Flush subnormal floats (|x| < 1.2e-38) to zero on the CPU, unless SERTK_SUBNORMALS=keep.

    x86 CPUs compute on subnormals 10-20x slower than on normal floats, and a recurrent layer's
    backward pass through hundreds of frames makes many of them: CAMuLeNet's Bi-GRU over 200 MFCC
    frames spent 3/4 of each training step in matrix products on subnormal gradients
    (docs/speed.md). Zero is what GPUs' fast paths use too; accuracy does not depend on values
    below 1e-38. Returns whether the CPU flushes now."""
    mode = os.environ.get("SERTK_SUBNORMALS", "flush")
    if mode not in ("flush", "keep"):
        raise ValueError(f"SERTK_SUBNORMALS must be flush or keep, not {mode!r}")
    supported = torch.set_flush_denormal(mode == "flush")
    return supported and mode == "flush"
