#!/usr/bin/env python3
"""The README's main job timed from empty dirs: a recipe's `./run.sh` (stages 1-7) with its
data, dump and exp dirs in a fresh temporary dir, wall time per stage, peak memory, and the
extraction rate (utterances per second of stage 3) as a measure of how fast the machine is:
the same job on another 2-core CPU scales roughly with it (docs/speed.md has the extraction
rates of earlier machines).

  EMODB=../shared/data/emodb WHISPER=../shared/models/whisper-base-encoder \\
      tools/venv/bin/python bench/bench_main_job.py --recipe egs/emodb --json bench/results/main_job_emodb.json

Run it alone on the machine: anything else running shares the CPU and the figure with it.
Extra arguments after `--` go to run.sh.
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sertk.score.report import git_hash  # the checkout's commit, as RESULTS record it

STAGE = re.compile(r"\(ser\.sh:\d+\) Stage (\d+):")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_timed(cmd, cwd: Path, log_path: Path):
    """Run cmd, echo and log its output; (return code, {stage: start seconds}, total seconds)."""
    starts, t0 = {}, time.monotonic()
    with open(log_path, "w") as log, subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE,
                                                      stderr=subprocess.STDOUT, text=True, bufsize=1) as p:
        for line in p.stdout:
            now = time.monotonic() - t0
            log.write(line)
            sys.stdout.write(line)
            m = STAGE.search(line)
            if m and int(m.group(1)) not in starts:
                starts[int(m.group(1))] = now
        rc = p.wait()
    return rc, starts, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipe", default="egs/emodb")
    ap.add_argument("--json", required=True, help="where the figures go")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data/dump/exp dirs")
    ap.add_argument("run_args", nargs="*", help="after --: more run.sh arguments")
    a = ap.parse_args()
    recipe = Path(a.recipe).resolve()
    if not (recipe / "run.sh").exists():
        sys.exit(f"{recipe}: no run.sh (give --recipe egs/<corpus>)")
    work = Path(tempfile.mkdtemp(prefix="bench_main_job_"))
    cmd = ["./run.sh", "--datadir", str(work / "data"), "--dumpdir", str(work / "dump"),
           "--expdir", str(work / "exp"), *a.run_args]
    try:
        rc, starts, total = run_timed(cmd, recipe, work / "run.log")
        if rc != 0:
            sys.exit(f"{' '.join(cmd)} failed (exit {rc}); log: {work / 'run.log'}")
        order = sorted(starts)
        stages = {f"stage{s}": round((starts[order[i + 1]] if i + 1 < len(order) else total) - starts[s], 1)
                  for i, s in enumerate(order)}
        utts = sum(1 for _ in open(work / "data" / "all" / "wav.scp"))
        out = {
            "recipe": str(Path(a.recipe)), "command": " ".join(["./run.sh", *a.run_args]),
            "git": git_hash(), "date": time.strftime("%Y-%m-%d"),
            "cpu": cpu_model(), "cpus": os.cpu_count(),
            "total_seconds": round(total, 1), "stage_seconds": stages, "utterances": utts,
            "extraction_utt_per_s": round(utts / stages["stage3"], 1) if stages.get("stage3") else None,
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20, 2),
        }
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
