"""Simulate a training run killed mid-way: the trainer's n-th valid pass raises KeyboardInterrupt."""
from sertk.train import trainer as trainer_mod


def interrupt_at_valid_pass(monkeypatch, n: int):
    """Patch the trainer so its n-th evaluation raises; returns a function that undoes the patch."""
    real, calls = trainer_mod.evaluate, []

    def evaluate(*a, **k):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(trainer_mod, "evaluate", evaluate)
    return lambda: monkeypatch.setattr(trainer_mod, "evaluate", real)
