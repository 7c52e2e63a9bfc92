"""README figures agree with the committed result files they are generated from: the head table
with each recipe's results/heads_vs_probe.md, the design table with tools/results, the long-audio
and fault figures with bench/results. A figure edited by hand, or a result rerun without the
README, fails here."""
import json
import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
FLAT = " ".join(README.split())  # figures wrap across lines


def table_rows(text, first_cell):
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith(f"| {first_cell}")]  # not indented ones


def test_head_table_matches_each_recipes_generated_tables():
    """README head table (tools/heads_overview.py) vs the pooled columns of each recipe's
    utils/heads_vs_probe.md output, system by system."""
    systems = {"probe, layers searched": "train_linear_whisper_base",
               "probe, all layers": "train_linear_all_layers_whisper_base",
               "default head": "train_pooled_mlp_whisper_base",
               "default head, plain scaling (earlier)": "train_pooled_mlp_whisper_base_plain"}
    header = next(line for line in README.splitlines() if line.startswith("| corpus | folds | metric (pooled)"))
    names = [c.strip() for c in header.strip("|").split("|")][3:]
    checked = 0
    for corpus in ("emodb", "emodb_hard", "urdu", "tava"):
        gen = (REPO / "egs" / corpus / "results" / "heads_vs_probe.md").read_text()
        summary = gen[gen.index("| system | folds |"):].split("\n\n")[0]  # the sertk summarize table
        head = [c.strip() for c in summary.splitlines()[0].strip("|").split("|")]
        rows = {r[0]: r for r in table_rows(summary, "train_")}
        for row in table_rows(README, f"{corpus} |"):
            metric = {"UA %": "pooled UA", "mean CCC": "pooled mean CCC"}[row[2]]
            for name, value in zip(names, row[3:]):
                assert rows[systems[name]][head.index(metric)] == value, (corpus, name, metric)
                checked += 1
    assert checked == 20


def test_design_table_matches_tools_results():
    table = (REPO / "tools" / "results" / "head_designs_on_valid.md").read_text().split("\n\nBest")[0]
    for line in table.strip().splitlines():
        assert "  " + line in README, line


def test_bench_figures_match_their_json():
    faults = json.loads((REPO / "bench" / "results" / "faults.json").read_text())["results"]
    n, k, i = (sum(r[x] for r in faults.values()) for x in ("trials", "killed", "identical"))
    assert f"{n} trials ({k} killed before the end), {i} reruns identical" in FLAT
    b = json.loads((REPO / "bench" / "results" / "long_audio.json").read_text())
    (torch_m,) = [v for m, v in b["models"].items() if m.endswith(".tar.gz")]
    (onnx_m,) = [v for m, v in b["models"].items() if not m.endswith(".tar.gz")]
    assert (f"torch {torch_m['seconds']:.0f} s (real-time factor {torch_m['real_time_factor']:.3f}, peak memory "
            f"{torch_m['peak_rss_mb']} MB)") in FLAT
    assert (f"onnxruntime {onnx_m['seconds']:.0f} s (real-time factor {onnx_m['real_time_factor']:.3f}, peak "
            f"{onnx_m['peak_rss_mb']} MB)") in FLAT
    lat = b["latency_seconds_per_clip"]
    got = re.search(r"One 2 s clip at a time: torch (\d+) ms, onnxruntime (\d+) ms", FLAT)
    assert got and [int(x) for x in got.groups()] == [round(1000 * v) for v in
                                                      (lat[[m for m in lat if m.endswith(".tar.gz")][0]],
                                                       lat[[m for m in lat if not m.endswith(".tar.gz")][0]])]
