"""Where a command runs: `--ngpu 0` is the CPU, `--ngpu 1` the first CUDA device.

Asking for a GPU that torch cannot see is an error, not a silent CPU run: a job planned for
minutes on a GPU would otherwise take hours without saying why."""
import torch


def resolve_device(ngpu: int) -> str:
    if ngpu < 0:
        raise ValueError(f"--ngpu must be >= 0, got {ngpu}")
    if ngpu == 0:
        return "cpu"
    if not torch.cuda.is_available():
        raise ValueError(f"--ngpu {ngpu} asks for a GPU, but torch {torch.__version__} sees no CUDA device "
                         "(use --ngpu 0 for the CPU)")
    return "cuda"
