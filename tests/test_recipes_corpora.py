"""The IEMOCAP and MSP-Podcast recipes end to end on fake corpora in the official layouts
(tests/fake_corpora.py), with fbank features and a tiny hierarchical conformer; MMER in the
IEMOCAP recipe; the CSV importer recipe."""
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fake_corpora import make_iemocap, make_msp_podcast
from tests.test_recipe import run, run_fails

TINY = """\
model: conformer_hier
model_conf:
  variant: hier_cd
  pre_encoder_dim: 16
  mlp_dims: [16, 8]
  encoder_conf: {output_size: 16, linear_units: 16, num_blocks: 1, attention_heads: 2}
optim: adam
optim_conf: {lr: 3.0e-3}
batch_size: 8
max_epochs: 4
patience: 4
select_metric: ccc
average_best: 2
"""
FBANK = "--extract_config conf/extract_fbank.yaml --train_config conf/train_tiny.yaml --nj 1"


def copy_recipe(name, root):
    """A private copy of egs/<name> (without local data/exp) beside a link to the template."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "TEMPLATE").symlink_to(REPO / "egs" / "TEMPLATE")
    d = root / name
    shutil.copytree(REPO / "egs" / name, d, symlinks=True, ignore=shutil.ignore_patterns("data", "dump", "exp"))
    (d / "conf").mkdir(exist_ok=True)  # a recipe may have no own configs (TEMPLATE's serve)
    (d / "conf" / "train_tiny.yaml").write_text(TINY)
    return d


def test_iemocap_recipe(tmp_path):
    corpus = make_iemocap(tmp_path / "corpus")
    d = copy_recipe("iemocap", tmp_path / "egs")
    env = f"IEMOCAP={corpus}"
    out = run(f"{env} ./run.sh {FBANK}", d)
    assert "Stage 7:" in out
    # 4-class set: fru/xxx dropped, exc merged into hap; leave-one-session-out
    assert (d / "data" / "emotions.txt").read_text().split() == ["ang", "hap", "neu", "sad"]
    assert "hap" in (d / "data" / "all" / "utt2emo").read_text() and "exc" not in (d / "data" / "all" / "utt2emo").read_text()
    for f in range(1, 6):
        test_ses = set((d / "data" / "folds" / f"fold{f}" / "test" / "utt2session").read_text().split()[1::2])
        for part in ("train", "valid"):
            other = set((d / "data" / "folds" / f"fold{f}" / part / "utt2session").read_text().split()[1::2])
            assert not test_ses & other
    res = json.loads((d / "exp" / "train_tiny_fbank" / "RESULTS.json").read_text())
    assert len(res["folds"]) == 5
    assert {"ua", "wa", "ccc", "ccc_v", "ccc_a", "ccc_d"} <= set(res["summary"])
    assert (d / "exp" / "train_tiny_fbank" / "RESULTS_avd_scatter.png").exists()
    # restarting from stage 3 reuses the features and every finished fold
    again = run(f"{env} ./run.sh {FBANK} --stage 3", d)
    assert "Stage 3: features exist" in again and again.count("already trained") == 5
    # the variant sweep (two variants here) writes a comparison table
    # (with --train_args of the user's own, which must add to each variant's, not replace them)
    run(f"{env} utils/run_hier_variants.sh --variants 'baseline_d baseline_c' --prefix v "
        f"--train_args 'max_epochs=2' {FBANK} --folds '1 2'", d)
    table = (d / "exp" / "v_variants.md").read_text()
    assert "| v_baseline_d | 2 |" in table and "| v_baseline_c | 2 |" in table
    bd = json.loads((d / "exp" / "v_baseline_d" / "RESULTS.json").read_text())["summary"]
    bc = json.loads((d / "exp" / "v_baseline_c" / "RESULTS.json").read_text())["summary"]
    assert "ua" in bd and "ccc" not in bd and "ccc" in bc and "ua" not in bc
    history = json.loads((d / "exp" / "v_baseline_c" / "fold1" / "history.json").read_text())
    assert len(history) == 2


def test_iemocap_needs_the_corpus(tmp_path):
    d = copy_recipe("iemocap", tmp_path / "egs")
    with pytest.raises(AssertionError, match="set IEMOCAP="):
        run(f"IEMOCAP= ./run.sh {FBANK} --stop_stage 1", d)


def test_msp_podcast_recipe(tmp_path):
    corpus = make_msp_podcast(tmp_path / "corpus")
    d = copy_recipe("msp_podcast", tmp_path / "egs")
    out = run(f"MSP_PODCAST={corpus} ./run.sh {FBANK} --train_args 'model_conf.variant=hier_dc'", d)
    assert "Stage 7:" in out
    split = (d / "data" / "all" / "utt2split").read_text().split()[1::2]
    assert set(split) == {"train", "valid", "test"}  # Test2 left out
    spk = (d / "data" / "all" / "spk2utt").read_text()
    assert "unk_MSP-PODCAST" in spk  # an Unknown speaker is nobody else
    # the tag follows the training arguments (another experiment for other arguments)
    res = json.loads((d / "exp" / "train_tiny_fbank_variant_hier_dc" / "RESULTS.json").read_text())
    assert len(res["folds"]) == 1 and {"ua", "ccc"} <= set(res["summary"])
    assert res["folds"][0]["num_utts"] == split.count("test")


def test_cross_corpus_recipe_with_mismatched_labels(tmp_path):
    iem = make_iemocap(tmp_path / "corpus")
    msp = make_msp_podcast(tmp_path / "corpus")
    root = tmp_path / "egs"
    d = copy_recipe("iemocap_msp", root)
    for other in ("iemocap", "msp_podcast"):  # the recipe calls their preparation scripts
        shutil.copytree(REPO / "egs" / other, root / other, symlinks=True,
                        ignore=shutil.ignore_patterns("data", "dump", "exp"))
    run(f"IEMOCAP={iem} MSP_PODCAST={msp} ./run.sh {FBANK} --train_args 'model_conf.variant=hier_dc'", d)
    all_dir = d / "data" / "all"
    corpus = dict(l.split() for l in (all_dir / "utt2corpus").read_text().splitlines())
    emo = dict(l.split() for l in (all_dir / "utt2emo").read_text().splitlines())
    avd = dict(l.split(maxsplit=1) for l in (all_dir / "utt2avd").read_text().splitlines())
    # IEMOCAP gives only categorical labels, MSP-Podcast only dimensional ones
    assert all((emo[u] != "-") == (c == "iemocap") for u, c in corpus.items())
    assert all((avd[u] != "- - -") == (c == "msp") for u, c in corpus.items())
    exp = d / "exp" / "train_tiny_fbank_variant_hier_dc"  # the tag follows --train_args
    iem_res = json.loads((exp / "RESULTS_iemocap.json").read_text())["summary"]
    msp_res = json.loads((exp / "RESULTS_msp.json").read_text())["summary"]
    assert "ua" in iem_res and "ccc" not in iem_res
    assert "ccc" in msp_res and "ua" not in msp_res


def test_iemocap_mmer_recipe(tmp_path, tiny_wav2vec2, tiny_roberta):
    """MMER in the IEMOCAP recipe: no feature stage, audio + transcripts read by the model,
    a packed archive that carries its encoders and infers on the test split."""
    corpus = make_iemocap(tmp_path / "corpus")
    d = copy_recipe("iemocap", tmp_path / "egs")
    tiny = (f"model_conf.speech_encoder.name_or_path={tiny_wav2vec2} model_conf.text_encoder.name_or_path={tiny_roberta} "
            "model_conf.fusion_dim=32 model_conf.heads=4 model_conf.ffn_dim=64 optim_conf.lr=1e-3 max_epochs=2")
    out = run(f"IEMOCAP={corpus} ./run.sh --extract_config none --train_config conf/train_mmer.yaml "
              f"--train_args '{tiny}' --folds 1 --tag mmer", d)
    assert "Stage 3: nothing to extract" in out and not (d / "dump").exists()
    exp = d / "exp" / "mmer"
    assert (exp / "fold1" / "chars.model").exists()
    assert "cer" in json.loads((exp / "fold1" / "history.json").read_text())[0]["valid"]
    res = json.loads((exp / "RESULTS.json").read_text())
    assert len(res["folds"]) == 1 and "ua" in res["summary"]
    packed = exp / "packed" / "mmer_fold1.tar.gz"
    run(f". ./path.sh && sertk infer --model {packed} --out {tmp_path}/dec data/folds/fold1/test", d)
    n_test = len((d / "data" / "folds" / "fold1" / "test" / "utt2spk").read_text().splitlines())
    assert len((tmp_path / "dec" / "utt2emo_hyp").read_text().splitlines()) == n_test


SMALL_BASELINE = """\
model: baseline
model_conf: {pooling: stats, projection_dim: 32, hidden_dims: [32]}
batch_size: 8
max_epochs: 3
"""


def _corpus_csv(tmp_path, sep=","):
    """A corpus description in the importer's format, built from the synthetic corpus."""
    from sertk.data.synthetic import make_corpus

    data = make_corpus(tmp_path / "synth", num_speakers=6, utts_per_emotion=2)
    tables = {n: dict(l.split(maxsplit=1) for l in (data / n).read_text().splitlines())
              for n in ("wav.scp", "utt2spk", "utt2emo", "text", "spk2gender")}
    rows = [sep.join(["path", "speaker", "emotion", "gender", "text"])]
    for utt, wav in tables["wav.scp"].items():
        spk = tables["utt2spk"][utt]
        rel = "../" + str(Path(wav).relative_to(tmp_path))  # relative to the CSV's dir
        gender = {"m": "Male", "f": "female"}[tables["spk2gender"][spk]]
        rows.append(sep.join([rel, spk, tables["utt2emo"][utt].upper(), gender, tables["text"][utt]]))
    (tmp_path / "meta").mkdir()
    csv = tmp_path / "meta" / ("corpus.tsv" if sep == "\t" else "corpus.csv")
    csv.write_text("\n".join(rows) + "\n")
    return csv


def test_csv_import_recipe(tmp_path):
    csv = _corpus_csv(tmp_path, sep="\t")
    d = copy_recipe("csv_import", tmp_path / "egs")
    (d / "conf" / "train_small.yaml").write_text(SMALL_BASELINE)
    out = run(f"CORPUS_CSV={csv} EMOTIONS='angry happy sad' ./run.sh --num_folds 3 --nj 1 "
              "--extract_config conf/extract_fbank.yaml --train_config conf/train_small.yaml", d)
    assert "dropped {'neutral': 12}" in out and "Stage 7:" in out
    assert (d / "data" / "emotions.txt").read_text().split() == ["angry", "happy", "sad"]
    assert (d / "data" / "all" / "text").exists()
    res = json.loads((d / "exp" / "train_small_fbank" / "RESULTS.json").read_text())
    assert len(res["folds"]) == 3 and "ua" in res["summary"]


def test_csv_import_recipe_from_a_directory_tree(tmp_path):
    """No CSV: a folder per emotion, files named <speaker>_<n>.wav, a label map and a gender file."""
    import shutil

    from sertk.data.synthetic import make_corpus
    data = make_corpus(tmp_path / "synth", num_speakers=6, utts_per_emotion=2)
    t = {n: dict(l.split(maxsplit=1) for l in (data / n).read_text().splitlines())
         for n in ("wav.scp", "utt2spk", "utt2emo", "spk2gender")}
    for i, (utt, wav) in enumerate(sorted(t["wav.scp"].items())):
        dst = tmp_path / "tree" / t["utt2emo"][utt].upper() / f"{t['utt2spk'][utt]}_{i}.wav"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(wav, dst)
    (tmp_path / "labels.yaml").write_text("ANGRY: anger\nHAPPY: happiness\nSAD: sadness\nNEUTRAL: neutral\n")
    (tmp_path / "genders").write_text("".join(f"{s} {g}\n" for s, g in sorted(t["spk2gender"].items())))
    d = copy_recipe("csv_import", tmp_path / "egs")
    (d / "conf" / "train_small.yaml").write_text(SMALL_BASELINE)
    out = run(f"CORPUS_DIR={tmp_path}/tree PATTERN='{{emo}}/{{spk}}_{{*}}.wav' LABELS={tmp_path}/labels.yaml "
              f"GENDERS={tmp_path}/genders ./run.sh --num_folds 3 --nj 1 --stop_stage 6 "
              "--extract_config conf/extract_fbank.yaml --train_config conf/train_small.yaml", d)
    assert "48 utterances, 6 speakers" in out
    assert (d / "data" / "emotions.txt").read_text().split() == ["anger", "happiness", "sadness", "neutral"]
    res = json.loads((d / "exp" / "train_small_fbank" / "RESULTS.json").read_text())
    assert len(res["folds"]) == 3 and "ua" in res["summary"]


def test_csv_import_names_the_bad_row(tmp_path):
    csv = _corpus_csv(tmp_path)
    lines = csv.read_text().splitlines()
    lines[3] = lines[3].replace(".wav", "_gone.wav")
    csv.write_text("\n".join(lines) + "\n")
    d = copy_recipe("csv_import", tmp_path / "egs")
    with pytest.raises(AssertionError, match=r"corpus.csv:4: audio file .*_gone.wav not found"):
        run(f"CORPUS_CSV={csv} ./run.sh --stop_stage 1", d)


@pytest.mark.parametrize("name,env,make", [("ravdess", "RAVDESS", "make_ravdess"),
                                           ("crema_d", "CREMA_D", "make_crema_d"), ("cafe", "CAFE", "make_cafe")])
def test_multilingual_corpora_recipes(tmp_path, name, env, make):
    """RAVDESS, CREMA-D and CaFE preparation from their official naming and layout, 10-fold
    leave-speaker-out folds here cut to 3 (6 fake actors), the baseline end to end."""
    import tests.fake_corpora as fc

    corpus = getattr(fc, make)(tmp_path / "corpus")
    d = copy_recipe(name, tmp_path / "egs")
    (d / "conf" / "train_small.yaml").write_text(SMALL_BASELINE)
    out = run(f"{env}={corpus} ./run.sh --num_folds 3 --nj 1 --extract_config conf/extract_fbank.yaml "
              "--train_config conf/train_small.yaml", d)
    assert "Stage 7:" in out
    all_dir = d / "data" / "all"
    assert len((all_dir / "utt2spk").read_text().splitlines()) == 48  # (the RAVDESS song file left out)
    genders = dict(l.split() for l in (all_dir / "spk2gender").read_text().splitlines())
    assert sorted(genders.values()) == ["f"] * 3 + ["m"] * 3
    if name == "ravdess":  # odd actors are male
        assert genders["actor01"] == "m" and genders["actor02"] == "f"
        assert len((d / "data" / "emotions.txt").read_text().split()) == 8
    res = json.loads((d / "exp" / "train_small_fbank" / "RESULTS.json").read_text())
    assert len(res["folds"]) == 3


SMALL_ECAPA = """\
model: ecapa_mtl
model_conf: {channels: 32, model_scale: 4, aggregation_dim: 96, embed_dim: 32}
optim: adam
optim_conf: {lr: 2.0e-3}
batch_size: 16
max_epochs: 4
patience: 4
select_metric: ua
"""


def test_baum1_recipe(tmp_path):
    """BAUM-1a + BAUM-1s from the release layout (.mp4 audio through an ffmpeg pipe, .xlsx
    annotations), style from the subset, default MFCC features, the expression-aware ECAPA-TDNN
    end to end with the expression accuracy in RESULTS."""
    import tests.fake_corpora as fc

    corpus = fc.make_baum1(tmp_path / "corpus")
    d = copy_recipe("baum1", tmp_path / "egs")
    (d / "conf" / "train_small.yaml").write_text(SMALL_ECAPA)
    out = run(f"BAUM1={corpus} EMOTIONS=ang,fea,hap,sad ./run.sh --num_folds 3 --folds '1 2 3' --nj 1 "
              "--train_config conf/train_small.yaml", d)
    assert "dropped {'bor': 20}" in out and "Stage 7:" in out
    all_dir = d / "data" / "all"
    styles = dict(l.split() for l in (all_dir / "utt2style").read_text().splitlines())
    assert len(styles) == 80 and sorted(set(styles.values())) == ["acted", "spontaneous"]
    assert all(s == ("acted" if u.startswith("baum1a_") else "spontaneous") for u, s in styles.items())
    # a subject in both subsets is one speaker: 6 subjects, never split across train and test
    assert len((all_dir / "spk2gender").read_text().splitlines()) == 6
    assert "-ar 16000 -f wav - |" in (all_dir / "wav.scp").read_text()
    res = json.loads((d / "exp" / "train_small_mfcc40_20ms" / "RESULTS.json").read_text())
    assert len(res["folds"]) == 3 and {"ua", "wa", "style_acc"} <= set(res["summary"])
    assert "expression acc" in (d / "exp" / "train_small_mfcc40_20ms" / "RESULTS.md").read_text()


def test_baum1_names_the_bad_annotation_row(tmp_path):
    import tests.fake_corpora as fc

    corpus = fc.make_baum1(tmp_path / "corpus", acted_subjects=1, spont_subjects=1)
    (corpus / "BAUM1s_MP4 - All" / "S001" / "S001_003.mp4").unlink()
    d = copy_recipe("baum1", tmp_path / "egs")
    with pytest.raises(AssertionError, match=r"Annotations_BAUM1s.xlsx:4: clip S001_003: no S001_003.mp4"):
        run(f"BAUM1={corpus} ./run.sh --stop_stage 1", d)


def test_iemocap_expression_table_and_cross_corpus(tmp_path):
    """IEMOCAP's Table II script (train on acted/spontaneous/combined Sessions 1-4, test on
    Session 5 by style) and the BAUM-1 cross-corpus setting IEMOCAP acted + BAUM-1s."""
    import tests.fake_corpora as fc

    iem = copy_recipe("iemocap", tmp_path / "egs_iemocap")
    (iem / "conf" / "train_small.yaml").write_text(SMALL_ECAPA)
    run(f"IEMOCAP={make_iemocap(tmp_path / 'iemocap')} ./run.sh --stop_stage 3 --nj 1 "
        "--extract_config conf/extract_mfcc40_20ms.yaml", iem)
    out = run("local/expression_table.sh --train_config conf/train_small.yaml", iem)
    assert "test sessions of fold5: Ses05" in out
    table = (iem / "exp" / "expression_train_small_mfcc40_20ms" / "RESULTS.md").read_text()
    rows = [l for l in table.splitlines() if l.startswith("| acted") or l.startswith("| spontaneous")
            or l.startswith("| combined")]
    assert len(rows) == 3 and all(len(r.split("|")) == 7 for r in rows)
    sub = iem / "data" / "expression_fold5"
    assert set((sub / "acted" / "train" / "utt2style").read_text().split()[1::2]) == {"acted"}
    assert set((sub / "spontaneous" / "test" / "utt2session").read_text().split()[1::2]) == {"Ses05"}

    baum = copy_recipe("baum1", tmp_path / "egs_baum1")
    (baum / "conf" / "train_small.yaml").write_text(SMALL_ECAPA)
    run(f"BAUM1={fc.make_baum1(tmp_path / 'baum')} ./run.sh --stop_stage 1", baum)
    run(f"local/cross_corpus.sh --iemocap_data {iem}/data/all --setting iemocap_acted+baum1s --num_folds 3 "
        "--nj 1 --train_config conf/train_small.yaml", baum)
    d = baum / "data_cross_iemocap_acted+baum1s" / "all"
    styles = dict(l.split() for l in (d / "utt2style").read_text().splitlines())
    assert {s for u, s in styles.items() if u.startswith("baum1")} == {"spontaneous"}
    assert {s for u, s in styles.items() if u.startswith("Ses")} == {"acted"}
    assert (baum / "data_cross_iemocap_acted+baum1s" / "emotions.txt").read_text().split() == ["ang", "hap", "sad"]
    res = json.loads((baum / "exp_cross_iemocap_acted+baum1s" / "train_small_mfcc40_20ms" / "RESULTS.json").read_text())
    assert len(res["folds"]) == 3 and {"ua", "style_acc"} <= set(res["summary"])


def test_iemocap_gmp_atl_stages(tmp_path, tiny_hubert):
    """GMP-ATL's stages A-D as one chain config in ser.sh's training stage, on IEMOCAP's session
    folds (one of them, for time) with a tiny random HuBERT: stages 5-7 infer, score and pack
    stage D's model; ablations reuse finished steps of the first run; the k-means never sees the
    test session; other step settings in a finished dir are refused."""
    d = copy_recipe("iemocap", tmp_path / "egs")
    run(f"IEMOCAP={make_iemocap(tmp_path / 'corpus')} ./run.sh --stop_stage 2", d)
    small = (f"model_conf.speech_encoder.name_or_path={tiny_hubert} model_conf.lstm_hidden=8 "
             "model_conf.proj_dim=8 max_epochs=2 accum_grad=1 C:model_conf.cluster_sizes=[4,8]")
    chain = "--stage 4 --extract_config none --train_config conf/train_gmp_atl.yaml --folds 1"
    run(f"./run.sh {chain} --tag gmp_atl --train_args '{small}'", d)
    exp = d / "exp" / "gmp_atl"
    assert "step D: train" in (exp / "fold1" / "log" / "train.log").read_text()
    units = json.loads((exp / "fold1" / "B" / "units.done").read_text())
    assert units["fit_dir"].endswith("folds/fold1/train") and units["layer"] == -3 and units["clusters"] == [4, 8]
    test_utts = set((d / "data" / "folds" / "fold1" / "test" / "utt2spk").read_text().split()[::2])
    labelled = set((exp / "fold1" / "B" / "k8" / "units.scp").read_text().split()[::2])
    assert labelled and not labelled & test_utts
    for step in "ACD":
        assert (exp / "fold1" / step / "train.done").exists()
    assert "init_param:\n- exp/gmp_atl/fold1/C/best.pt:speech." in (exp / "fold1" / "config.yaml").read_text()
    assert (exp / "fold1" / "best.pt").read_bytes() == (exp / "fold1" / "D" / "best.pt").read_bytes()
    res = json.loads((exp / "RESULTS.json").read_text())
    assert len(res["folds"]) == 1 and "ua" in res["summary"]
    assert list((exp / "packed").glob("*.tar.gz"))
    # ablations: the CE head from the same A-C, and D straight from A (no pseudo-labels)
    reuse = " ".join(f"{s}:from=exp/gmp_atl" for s in "ABC")
    run(f"./run.sh {chain} --stop_stage 6 --tag gmp_ce --train_args '{small} {reuse} D:model_conf.head=ce'", d)
    log = (d / "exp" / "gmp_ce" / "fold1" / "log" / "train.log").read_text()
    assert "step C: train" in log and "(reused)" in log and not (d / "exp" / "gmp_ce" / "fold1" / "A").exists()
    assert "head: ce" in (d / "exp" / "gmp_ce" / "fold1" / "D" / "config.yaml").read_text()
    assert json.loads((d / "exp" / "gmp_ce" / "RESULTS.json").read_text())["folds"]
    run(f"./run.sh --stage 4 --stop_stage 4 --extract_config none --train_config conf/train_gmp_atl_nogmp.yaml "
              f"--folds 1 --tag gmp_nogmp --train_args '{small.split(' C:')[0]} A:from=exp/gmp_atl'", d)
    assert "gmp_atl/fold1/A/best.pt:speech." in (d / "exp" / "gmp_nogmp" / "fold1" / "D" / "config.yaml").read_text()
    # another layer for B in the finished dir of the first run: refused, naming the setting
    out = run_fails(f"./run.sh {chain} --stop_stage 4 --tag gmp_layer --train_args '{small} A:from=exp/gmp_atl "
                    "B:from=exp/gmp_atl B:layer=-1'", d)
    assert "layer -3, now -1" in out and "Traceback" not in out
