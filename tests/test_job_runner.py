"""egs/TEMPLATE/utils/run.pl: JOB ranges, per-job logs, failures reported."""
import subprocess

from tests.conftest import REPO

RUN_PL = REPO / "egs" / "TEMPLATE" / "utils" / "run.pl"


def test_job_range_substitution_and_logs(tmp_path):
    p = subprocess.run([str(RUN_PL), "JOB=1:3", str(tmp_path / "log" / "x.JOB.log"), "echo", "job", "JOB"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for i in (1, 2, 3):
        log = (tmp_path / "log" / f"x.{i}.log").read_text()
        assert f"job {i}\n" in log and "# Ended (code 0)" in log


def test_failed_job_is_reported(tmp_path):
    p = subprocess.run([str(RUN_PL), "--max_jobs_run", "1", "JOB=1:3", str(tmp_path / "y.JOB.log"),
                        "test", "JOB", "-ne", "2"], capture_output=True, text=True)
    assert p.returncode == 1
    assert "job 2 failed" in p.stderr and "job 1 failed" not in p.stderr


def test_arguments_with_spaces_stay_one_argument(tmp_path):
    """As Kaldi's run.pl: `bash -c 'echo task JOB'` runs `echo task 1`, not `bash -c echo`."""
    p = subprocess.run([str(RUN_PL), "JOB=1:2", str(tmp_path / "z.JOB.log"), "bash", "-c", "echo task JOB"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for i in (1, 2):
        assert f"\ntask {i}\n" in (tmp_path / f"z.{i}.log").read_text()
    p = subprocess.run([str(RUN_PL), str(tmp_path / "q.log"), "bash", "-c", 'echo "say JOB"'],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "\nsay JOB\n" in (tmp_path / "q.log").read_text()
