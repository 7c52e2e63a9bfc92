"""utils/slurm.pl against a real single-node Slurm (Debian `slurm-wlm`: munged, slurmctld and
slurmd started here on localhost, their files in a temp dir): an array job runs with its
arguments quoted, a failing task gives a non-zero exit, and a recipe's training stage runs
through `SERTK_CMD_BACKEND=slurm`. Skipped, with the reason, where Slurm cannot start
(.ci/run installs the packages when it can)."""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_recipe import DATA_SH, TRAIN_YAML, _env, run

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(d: Path) -> str:
    host = socket.gethostname().split(".")[0]
    return f"""\
ClusterName=sertktest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge/munge.socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
# the recipe's cmd.sh asks for 16G: configured memory counts, not the machine's
SlurmdParameters=config_overrides
NodeName={host} CPUs={os.cpu_count()} RealMemory=65536 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = [b for b in DAEMONS if shutil.which(b) is None]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing; apt install slurm-wlm munge)")
    if os.geteuid() != 0:
        pytest.skip("slurmd needs root to run jobs here")
    d = tmp_path_factory.mktemp("slurm")
    for sub in ("munge", "state", "spool"):
        (d / sub).mkdir(mode=0o700)
    (d / "munge" / "munge.key").write_bytes(os.urandom(128))
    (d / "munge" / "munge.key").chmod(0o600)
    (d / "slurm.conf").write_text(slurm_conf(d))
    env = dict(os.environ, SLURM_CONF=str(d / "slurm.conf"))
    m = d / "munge"
    starts = [["munged", "--force", f"--socket={m}/munge.socket", f"--key-file={m}/munge.key",
               f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log", f"--seed-file={m}/seed"],
              ["slurmctld"], ["slurmd"]]
    try:
        for cmd in starts:
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=30)
            time.sleep(0.5)
        for _ in range(60):  # the node registers within seconds
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True).stdout
            if state.strip() == "idle":
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"node state {state.strip()!r}")
    except (subprocess.SubprocessError, RuntimeError, OSError) as e:
        _stop(d)
        log = "".join((d / f).read_text()[-300:] for f in ("slurmctld.log", "slurmd.log") if (d / f).exists())
        pytest.skip(f"Slurm could not start here: {e} {log}")
    yield d, env
    _stop(d)


def _stop(d: Path):
    for pid_file in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
        try:
            os.kill(int((d / pid_file).read_text()), 15)
        except (OSError, ValueError):
            pass


def slurm_pl(env, *args):
    return subprocess.run([str(REPO / "egs" / "TEMPLATE" / "utils" / "slurm.pl"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_array_job_quotes_arguments_and_fails_on_a_failing_task(slurm, tmp_path):
    _, env = slurm
    p = slurm_pl(env, "--mem", "1G", "JOB=1:2", f"{tmp_path}/x.JOB.log", "bash", "-c", "echo task JOB")
    assert p.returncode == 0, p.stderr
    assert [(tmp_path / f"x.{i}.log").read_text() for i in (1, 2)] == ["task 1\n", "task 2\n"]
    p = slurm_pl(env, "JOB=1:2", f"{tmp_path}/y.JOB.log", "bash", "-c", "exit $((JOB - 1))")
    assert p.returncode != 0


def test_recipe_training_stage_through_slurm(slurm, tmp_path):
    _, env = slurm
    d = tmp_path / "synth"
    run(f"{REPO}/egs/TEMPLATE/setup.sh {d}", tmp_path)
    (d / "local" / "data.sh").write_text(DATA_SH)
    (d / "conf" / "train_small.yaml").write_text(TRAIN_YAML.replace("max_epochs: 8", "max_epochs: 2"))
    args = "--num_folds 4 --extract_config conf/extract_fbank.yaml --train_config conf/train_small.yaml"
    run(f"./run.sh {args} --stop_stage 3", d)  # data and features here
    p = subprocess.run(f"./run.sh {args} --stage 4 --stop_stage 4 --folds '1 2'", cwd=d, shell=True,
                       capture_output=True, text=True, env={**_env(), **env, "SERTK_CMD_BACKEND": "slurm"},
                       timeout=900)  # a job Slurm never starts fails the test instead of hanging CI
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    exp = d / "exp" / "train_small_fbank"
    for f in (1, 2):
        assert (exp / f"fold{f}" / "train.done").exists()
        assert "# Started at" not in (exp / f"fold{f}" / "log" / "train.log").read_text()  # not run.pl's log
    jobs = subprocess.run(["scontrol", "show", "job", "-o"], env=env, capture_output=True, text=True).stdout
    for f in (1, 2):  # Slurm ran each fold's training and kept its log where run.pl would
        (job,) = [j for j in jobs.splitlines() if f"StdOut={exp}/fold{f}/log/train.log" in j]
        assert "JobState=COMPLETED" in job and f"WorkDir={d}" in job
