"""tools/refresh_results_tables.py: a RESULTS.md table under a `sertk summarize` command is
replaced by what the command prints from the RESULTS.json files; --check reports a stale one."""
import json
import subprocess
import sys

from tests.conftest import REPO

TOOL = REPO / "tools" / "refresh_results_tables.py"


def _results(path, ua):
    path.mkdir(parents=True)
    (path / "RESULTS.json").write_text(json.dumps({
        "folds": [{"ua": ua}, {"ua": ua}], "pooled": {"ua": ua},
        "summary": {"ua": {"mean": ua, "std": 0.0}}}))


def test_stale_table_is_found_and_refreshed(tmp_path):
    _results(tmp_path / "exp" / "a", 0.5)
    _results(tmp_path / "exp" / "b", 0.75)
    md = tmp_path / "RESULTS.md"
    md.write_text("# R\n\n`sertk summarize exp/{a,b}/RESULTS.json`:\n\n| system | folds | UA | pooled UA |\n"
                  "|---|---|---|---|\n| a | 2 | 99.0 ± 0.0 | 99.0 |\n\nafter\n")
    run = lambda *a: subprocess.run([sys.executable, str(TOOL), *a, str(md)], capture_output=True, text=True)  # noqa: E731
    assert run("--check").returncode == 1
    assert run().returncode == 0
    text = md.read_text()
    assert "| a | 2 | 50.0 ± 0.0 | 50.0 |\n| b | 2 | 75.0 ± 0.0 | 75.0 |\n\nafter\n" in text and "99.0" not in text
    assert run("--check").returncode == 0
