"""README (and docs/) figures agree with the committed result files they are generated from: the
head table with each recipe's results/heads_vs_probe.md, the design table with tools/results,
the long-audio, speed and fault figures with bench/results, the earlier head table with
egs/emodb/RESULTS.md. A figure edited by hand, or a result rerun without the README, fails here."""
import json
import re
import sys

import pytest

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
TRAINING = (REPO / "docs" / "training.md").read_text()
SPEED = (REPO / "docs" / "speed.md").read_text()
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
               "default head, earlier design": "train_pooled_mlp_whisper_base_earlier"}
    header = next(line for line in README.splitlines() if line.startswith("| corpus | folds | metric (pooled)"))
    names = [c.strip() for c in header.strip("|").split("|")][3:]
    checked = 0
    for corpus in ("emodb", "emodb_hard", "urdu", "emodb_urdu", "tava"):
        gen = (REPO / "egs" / corpus / "results" / "heads_vs_probe.md").read_text()
        summary = gen[gen.index("| system | folds |"):].split("\n\n")[0]  # the sertk summarize table
        head = [c.strip() for c in summary.splitlines()[0].strip("|").split("|")]
        rows = {r[0]: r for r in table_rows(summary, "train_")}
        for row in table_rows(README, f"{corpus} |"):
            metric = {"UA %": "pooled UA", "mean CCC": "pooled mean CCC"}[row[2]]
            for name, value in zip(names, row[3:]):
                if value == "-":  # a system not run on this corpus
                    assert systems[name] not in rows, (corpus, name)
                    continue
                assert rows[systems[name]][head.index(metric)] == value, (corpus, name, metric)
                checked += 1
    assert checked == 24



def test_head_table_is_heads_overview_output():
    """The README head table is what tools/heads_overview.py prints (on a fresh clone: from the
    kept per-fold records of results/scores, no exp dir needed)."""
    import subprocess

    out = subprocess.run([sys.executable, str(REPO / "tools" / "heads_overview.py")], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out.splitlines()[0].startswith("| corpus | folds | metric (pooled)")
    assert "\n" + out + "\n" in README

def test_design_tables_match_tools_results():
    for name in ("head_designs_on_valid.md", "probe_scaling_on_valid.md", "round3_on_valid.md",
                 "round4_on_valid.md", "round5_on_valid.md", "round6_on_valid.md",
                 "round7_on_valid.md", "round8_on_valid.md", "round9_on_valid.md", "round10_on_valid.md",
                 "round11_on_valid.md", "round12_on_valid.md", "probe_classifier_on_valid.md"):
        table = (REPO / "tools" / "results" / name).read_text().split("\n\nBest")[0]
        for line in table.strip().splitlines():
            assert "  " + line in TRAINING, (name, line)


def test_bench_figures_match_their_json():
    faults = json.loads((REPO / "bench" / "results" / "faults.json").read_text())["results"]
    n, k, i = (sum(r[x] for r in faults.values()) for x in ("trials", "killed", "identical"))
    assert f"{n} trials ({k} killed before the end), {i} reruns identical" in FLAT
    top = json.loads((REPO / "bench" / "results" / "top_layers_emodb_fold1.json").read_text())
    flat_speed = " ".join(SPEED.split())
    assert " / ".join(f"{x:.1f}" for x in top["epoch_seconds_top2"]) + " s" in flat_speed
    assert f"{top['speedup_after_first_epoch']:.2f}x per epoch after the first" in flat_speed
    # the long-audio table is the bench's own markdown, made from its JSON
    sys.path.insert(0, str(REPO / "bench"))
    from bench_long_audio import markdown
    b = json.loads((REPO / "bench" / "results" / "long_audio.json").read_text())
    table = (REPO / "bench" / "results" / "long_audio.md").read_text()
    assert table == markdown(b)
    for line in table.strip().splitlines():
        assert line in README, line
    # the main job's times, as bench_main_job.py wrote them
    # (the latest in full in the README; the other CPUs' runs in full in docs/speed.md, their
    # totals in the README)
    for name in ("main_job_emodb.json", "main_job_emodb_0739a24.json", "main_job_emodb_d3a5e2b.json"):
        job = json.loads((REPO / "bench" / "results" / name).read_text())
        m, sec = divmod(round(job["total_seconds"]), 60)
        where = FLAT if name == "main_job_emodb.json" else flat_speed
        assert f"**{m} min {sec} s** (extraction {round(job['stage_seconds']['stage3'])} s" in where, name
        assert f"{job['extraction_utt_per_s']} utterances/s" in where, name
        assert f"**{m} min {sec} s**" in FLAT, name


def test_training_speedups_match_their_json():
    """The subnormal and fused-Adam epoch times quoted in the README and docs/speed.md are the
    bench files' figures."""
    flat_speed = " ".join(SPEED.split())
    for name in ("train_camulenet_subnormals_emodb.json", "train_ecapa_mtl_subnormals_emodb_urdu.json"):
        b = json.loads((REPO / "bench" / "results" / name).read_text())
        kept, flushed = (b[k]["seconds_per_epoch"] for k in ("subnormals_kept", "subnormals_flushed"))
        assert f"{kept} -> {flushed} s" in FLAT, name
        assert f"{b['speedup']:.2f}x" in FLAT and f"{b['speedup']:.2f}x" in flat_speed, name
    fused = json.loads((REPO / "bench" / "results" / "train_camulenet_fused_adam_emodb.json").read_text())
    unfused = json.loads((REPO / "bench" / "results" / "train_camulenet_subnormals_emodb.json").read_text())
    assert fused["overrides"] == ["optim_conf.fused=true"]
    pair = f"{unfused['subnormals_flushed']['seconds_per_epoch']} -> {fused['seconds_per_epoch']} s"
    ratio = unfused["subnormals_flushed"]["seconds_per_epoch"] / fused["seconds_per_epoch"]
    assert pair in FLAT and f"{ratio:.2f}x" in flat_speed
    ecapa = json.loads((REPO / "bench" / "results" / "train_ecapa_mtl_fused_adam_emodb_urdu.json").read_text())
    assert f"{ecapa['seconds_per_epoch']} s fused" in flat_speed


def readme_table(header, text=README):
    """Rows (cells) of the table in `text` whose header row starts with `header`."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return {r[0]: r for r in rows}


def results_section(path, title):
    """The text of one `### title` section of a RESULTS.md."""
    text = path.read_text()
    start = text.index(f"### {title}\n")
    end = text.find("\n### ", start + 1)
    return text[start: end if end > 0 else None]


def test_earlier_head_table_matches_emodb_results():
    """Each row's mean ± std cells and pooled WA / UA are those of its section in
    egs/emodb/RESULTS.md (written by `sertk aggregate` from the runs' RESULTS.json)."""
    sections = {"Whisper-base, padded 30 s window": "whisper_base_padded_refit",
                "Whisper-base, trimmed": "whisper_base_refit",
                "fbank (80 log-mel + deltas), no refit": "fbank (no refit)"}
    rows = readme_table("| features | WA | UA |")
    assert set(rows) == set(sections)
    for label, title in sections.items():
        sec = results_section(REPO / "egs" / "emodb" / "RESULTS.md", title)
        (mean_row,) = [[c.strip(" *") for c in line.strip().strip("|").split("|")]
                       for line in sec.splitlines() if line.startswith("| **mean ± std**")]
        assert rows[label][1:4] == mean_row[1:4], label
        pooled = re.search(r"Pooled over all test utterances: WA (\d+\.\d), UA (\d+\.\d)", sec).groups()
        assert rows[label][4] == f"{pooled[0]} / {pooled[1]}", label


def test_speed_table_matches_bench_results():
    files = {"Whisper-base, trimmed": "emodb_whisper_trimmed_extract.json",
             "Whisper-base, padded (60 files, 1 run)": "emodb_whisper_padded_extract.json",
             "s3prl fbank (no CMVN)": "emodb_fbank_extract.json"}
    rows = readme_table("| upstream | sertk utt/s |", SPEED)
    assert set(rows) == set(files)
    for label, name in files.items():
        b = json.loads((REPO / "bench" / "results" / name).read_text())
        want = [b["sertk_utt_per_s"], b["sertk_rtf"], b["bare_utt_per_s"], b["overhead_pct"]]
        for cell, value in zip(rows[label][1:5], want):  # the table's cell is the value, rounded
            cell = cell.rstrip(" %")
            decimals = len(cell.split(".")[1]) if "." in cell else 0
            assert float(cell) == pytest.approx(value, abs=0.5 * 10 ** -decimals + 1e-9), (label, cell, value)


def _verdict(row):
    """A report row's verdict cell without an interim row's reason (which runs are missing or
    unfinished: it follows the runs in progress, not the figures)."""
    return row[-1].split(": no verdict (")[0]


def test_reproduction_reports_follow_their_claims_files():
    """Every egs/*/conf/claims.yaml has its REPRODUCTION.md with one row per claim, in order, and the
    command that writes it; rows with figures must be what `sertk compare --claims` computes now
    from the local runs (where those runs exist). An interim row's reason (which runs are missing
    or unfinished) follows the runs in progress, so only its seeds and figures are compared."""
    import yaml

    from sertk.score.compare import reproduction_report
    files = sorted((REPO / "egs").glob("*/conf/claims.yaml"))
    assert files
    for f in files:
        text = (f.parent.parent / "REPRODUCTION.md").read_text()
        claims = [c["claim"] for c in yaml.safe_load(f.read_text())["claims"]]
        assert [r[0] for r in table_rows(text, "")[1:]] == claims, f
        assert "sertk compare --claims conf/claims.yaml --out REPRODUCTION.md" in text
        now = {r[0]: r for r in table_rows(reproduction_report(f), "")[1:]}
        for row in table_rows(text, "")[1:]:
            if not row[-1].startswith("not run") and not now[row[0]][-1].startswith("not run"):
                same = [*row[:-1], _verdict(row)], [*now[row[0]][:-1], _verdict(now[row[0]])]
                assert same[0] == same[1], f"{f.parent.parent.name}: {row[0]}"


def test_head_option_tables_render_from_their_json():
    """tools/results/speaker_norm*.md: each table is what tools/head_options_overview.py renders
    from the committed per-fold scores next to it (the command in the file, with --from-json),
    and docs/training.md shows it."""
    import shlex
    import subprocess

    for name in ("speaker_norm", "speaker_norm_vs_probe"):
        md = (REPO / "tools" / "results" / f"{name}.md").read_text()
        table, cmd = md.split("\n\nGenerated by `")
        args = shlex.split(cmd.split("`")[0])[2:]  # after `tools/venv/bin/python tools/head_options_overview.py`
        out = args.index("--out")
        args[out: out + 2] = ["--from-json", str(REPO / (args[out + 1] + ".json"))]
        rendered = subprocess.run([sys.executable, str(REPO / "tools" / "head_options_overview.py")] + args,
                                  capture_output=True, text=True, check=True).stdout
        assert rendered == table.rstrip("\n") + "\n", name
        for line in md.strip().splitlines():
            assert "  " + line in TRAINING, (name, line)


def test_readme_speaker_norm_figures_are_the_tables():
    """The README's per-speaker normalisation figures are cells of tools/results/speaker_norm.md."""
    start = FLAT.index("- **Per-speaker normalisation**")
    bullet = FLAT[start: FLAT.index(" - ", start + 3)]
    table = (REPO / "tools" / "results" / "speaker_norm.md").read_text()
    figures = re.findall(r"[+-]\d+\.\d \[[+-]\d+\.\d, [+-]\d+\.\d\]", bullet)
    assert len(figures) == 4
    for f in figures:
        assert f in table, f
    assert "| emodb | 10 | UA % | 88.6 | 93.4 |" in table and "pooled 93.4" in bullet


def test_readme_claim_figures_are_the_reports():
    """Every claim with a verdict (or an interim figure) in a REPRODUCTION.md is quoted in the README
    with its difference, interval and verdict (or seeds) as the report has them (a report rerun
    without the README fails)."""
    checked = 0
    for report in sorted((REPO / "egs").glob("*/REPRODUCTION.md")):
        for row in table_rows(report.read_text(), "")[1:]:
            if row[-1].startswith("not run"):
                continue
            # e.g. "-6.01 [-13.90, +1.72], inconclusive" or "..., interim, seeds 0, 1 of 3"
            quoted = f"{row[5]}, {_verdict(row)}"
            assert quoted in FLAT, (report.parent.name, row[0], quoted)
            checked += 1
    assert checked == 10  # TAVA's two, EmoDB's CAMuLeNet, GMP-ATL and MMER claims, URDU's three, EmoDB + URDU's


def _generated_by(md: str, opts: dict):
    """(options, positional arguments) of the command a generated table names on its first line."""
    import shlex
    args = shlex.split(md.split("`")[1])[1:]
    opts = dict(opts)
    while args and args[0] in opts:
        opts[args[0]] = args[1]
        args = args[2:]
    return opts, args


def _rebuilt_table(md: str, scores, tags, root, compares, folds=None) -> str:
    """The table as its script prints it, from RESULTS rebuilt out of the kept records: first
    line, `sertk summarize` of the runs, then `sertk compare` of each (metric, runs) in compares
    (indices into tags; a tag may be seeds comma-joined, summarized one by one)."""
    from sertk.score.compare import compare
    from sertk.score.kept import rebuild
    from sertk.score.report import summarize
    exps = [",".join(str(rebuild(scores, t, root, folds=folds).parent) for t in g.split(",")) for g in tags]
    text = md.split("\n", 2)[0] + "\n\n" + summarize([e for g in exps for e in g.split(",")])
    for metric, idx in compares:
        text += "\n" + compare([exps[i] for i in idx], metric)
    return text.replace(f"{root}/", "")


def test_heads_vs_probe_tables_rebuild_from_kept_scores(tmp_path):
    """Each recipe's results/heads_vs_probe.md is what utils/heads_vs_probe.sh prints from RESULTS
    rebuilt out of the committed kept scores (results/scores): the README's head table traces
    back to per-fold records in git, not to experiment dirs that a fresh clone lacks."""
    checked = 0
    for corpus in ("emodb", "emodb_hard", "urdu", "emodb_urdu", "tava"):
        recipe = REPO / "egs" / corpus
        md = (recipe / "results" / "heads_vs_probe.md").read_text()
        opts, args = _generated_by(md, {"--feat": "whisper_base", "--metrics": "ua"})
        feat = opts["--feat"]
        tags = [f"train_linear_{feat}", f"train_linear_all_layers_{feat}", f"train_pooled_mlp_{feat}"] + \
            [a.removeprefix("exp/") for a in args]
        rest = list(range(2, len(tags)))  # the default head and extra systems, against each probe
        compares = [(m, [ref] + rest) for m in opts["--metrics"].split() for ref in (0, 1)]
        assert _rebuilt_table(md, recipe / "results" / "scores", tags, tmp_path / corpus, compares) == md, corpus
        checked += 1
    assert checked == 5


def test_kept_tables_rebuild_from_kept_scores(tmp_path):
    """Every results/*.md written by utils/kept_table.sh is what that script prints from the
    committed kept scores (its first line names the command): no such table is edited by hand
    or left behind by a rerun."""
    checked = 0
    for md_file in sorted(REPO.glob("egs/*/results/*.md")):
        md = md_file.read_text()
        if not md.startswith("Generated by `utils/kept_table.sh"):
            continue
        opts, tags = _generated_by(md, {"--out": None, "--metrics": "ua", "--folds": ""})
        recipe = md_file.parents[1]
        assert md_file == recipe / f"{opts['--out']}.md", md_file
        compares = [(m, list(range(len(tags)))) for m in opts["--metrics"].split()]
        root = tmp_path / recipe.name / md_file.stem  # tables may share a run
        folds = [int(f) for f in opts["--folds"].split()]
        assert _rebuilt_table(md, recipe / "results" / "scores", tags, root, compares, folds) == md, md_file
        checked += 1
    assert checked >= 1
    # RESULTS.md quotes such tables after their "Generated by" line: each quoted table line is
    # the generated file's (a rerun that rewrote the file but not RESULTS.md fails here)
    for results in sorted(REPO.glob("egs/*/RESULTS.md")):
        for chunk in results.read_text().split("\nGenerated by `utils/kept_table.sh")[1:]:
            out = _generated_by("Generated by `utils/kept_table.sh" + chunk, {"--out": None})[0]["--out"]
            table = (results.parent / f"{out}.md").read_text().splitlines()
            quoted = [line for line in chunk.split("\n\n- ")[0].split("\n#")[0].splitlines()  # to a list or heading
                      if line.startswith(("|", "Paired comparison"))]
            assert quoted and all(line in table for line in quoted), (results, out)
