"""Tests of the lab 4 instructor/TA tooling (release, self_check, summary)."""

import csv
import types

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import lab4_helpers as lab

KEY = "0123456789abcdef0123456789abcdef01234567"          # 40 hex, looks like a W&B key
SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"          # 40 hex, a git commit
LONG_KEY = "Abc_def-" * 6                                 # 48 chars, a non-hex key
DEFAULTS = [f"example_{i}" for i in range(12)]
OWN = ["sarcasm", "slang_heavy", "url_only", "two_emoji", "negated_positive"]


# ----------------------------------------------------------------------------- notebook builders

def _slices_source(names):
    functions = "".join(f'\n@lab.add_slice(slices)\ndef {n}(df):\n    """{n}."""\n'
                        f'    return df.n_words > 3\n' for n in names)
    return "slices = lab.default_slices()\n" + functions + "print(lab.describe_slices(slices))"


def _cases_frame(n=12):
    labels = [lab.LABELS[i % 3] for i in range(n)]
    return pd.DataFrame({"text": [f"generated tweet number {i}" for i in range(n)],
                         "expected_label": labels, "baseline_pred": labels,
                         "candidate_pred": ["neutral"] * n})


def lab_notebook(complete=True, executed=True):
    """A small lab 4 notebook; ``complete`` = deliverables done, ``executed`` = outputs saved."""
    notes = {n: (f"{n} regresses on sarcasm, candidate misses it" if complete else "TODO: note")
             for n in DEFAULTS + OWN}
    answers = {k: ("Because the slice shows it clearly." if complete else "TODO")
               for k in lab.DISCUSSION_KEYS}
    hypothesis = "Candidate fails on negated praise." if complete else "SAMPLE: fails on emoji"
    cases = "1. great, not! -> negative" if complete else "# SAMPLE\n1. love it -> positive"
    cells = [
        new_markdown_cell("# Lab 4: slicing"),
        new_code_cell("%matplotlib inline\nimport lab4_helpers as lab"),
        new_code_cell(_slices_source(OWN if complete else [])),
        new_code_cell("lab.headline(df_eval)"),
        new_code_cell("wandb_run_info = lab.log_to_wandb(df_eval, mode='offline')"),
        new_code_cell(f"saved_slice_notes = {notes!r}\n"
                      'saved_slice_notes["sarcasm"] = "Sarcasm flips the label for candidate."'),
        new_code_cell(f"HYPOTHESIS = {hypothesis!r}"),
        new_code_cell(f'GENERATED_CASES_TEXT = """{cases}"""'),
        new_code_cell("scored_cases = lab.score_cases(GENERATED_CASES_TEXT)\nscored_cases"),
        new_code_cell(f"DISCUSSION_ANSWERS = {answers!r}"),
        new_code_cell("lab.self_check(globals());"),
    ]
    if executed:
        frame = _cases_frame()
        outputs = {
            3: new_output("stream", name="stdout", text="Overall: baseline 0.712, candidate "
                          "0.734 (n=2000)\n"),
            4: new_output("stream", name="stdout", text="W&B run: offline run lab4-abc12 "
                          "(4 tables)\n"),
            8: new_output("execute_result", execution_count=9,
                          data={"text/plain": repr(frame), "text/html": frame.to_html()}),
            10: new_output("stream", name="stdout", text="[PASS] slices: 5 of your own\n"
                           "[FAIL] notes: 3 slices still have TODO notes: a\n"
                           "Self-check: 5/6 deliverables done\n"),
        }
        for index, output in outputs.items():
            cells[index].outputs = [output]
            cells[index].execution_count = index
    nb = new_notebook(cells=cells)
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.language_info = {"name": "python", "version": "3.11.7"}
    return nb


def write(tmp_path, nb, name="lab4.ipynb"):
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


# ----------------------------------------------------------------------------- key rule

@pytest.mark.parametrize("text, is_key", [
    (f'wandb.login(key="{KEY}")', True),
    (f"os.environ['WANDB_API_KEY'] = '{LONG_KEY}'", True),
    (f"%env WANDB_API_KEY={LONG_KEY}", True),
    (f'config = {{"api_key": "{LONG_KEY}"}}', True),
    (f"local-{KEY}", True),
    (f"key = '{KEY}'", True),
    (f"{KEY}\n", True),                                          # print(key) output
    (f"commit {SHA}", False),
    (f"Commit: {SHA}", False),
    (f'GIT_COMMIT = "{SHA}"', False),
    (f"https://github.com/uni/lab4/commit/{SHA}", False),
    (f"pip install git+https://github.com/uni/lab4@{SHA}", False),
    (f"wandb.login(key=os.environ['WANDB_API_KEY'])", False),
    (f"tweet_id {KEY[:39]}", False),                             # 39 hex: too short
    (f"x{KEY}", False),                                          # 41 chars, not hex
])
def test_key_rule(text, is_key):
    found = lab._find_keys(text)
    assert bool(found) == is_key
    assert all(KEY not in str(f) and LONG_KEY not in str(f) for f in found)


# ----------------------------------------------------------------------------- release

def _plant(nb, where, secret):
    cell = nb.cells[3]
    if where == "source":
        cell.source += f"\nwandb.login(key='{secret}')"
    elif where == "stream output":
        cell.outputs = [new_output("stream", name="stdout", text=f"key is\n{secret}\n")]
    elif where == "error traceback":
        cell.outputs = [new_output("error", ename="CommError", evalue="bad key",
                                   traceback=[f"\x1b[0;31mCommError\x1b[0m: {secret}"])]
    elif where == "data":
        cell.outputs = [new_output("display_data", data={"text/plain": f"key={secret}"})]
    return nb


@pytest.mark.parametrize("where, secret", [
    ("source", KEY), ("stream output", KEY), ("error traceback", KEY), ("data", KEY),
    ("source", f"local-{KEY}"), ("stream output", f"local-{KEY}"),
])
def test_release_refuses_a_key(tmp_path, capsys, where, secret):
    path = write(tmp_path, _plant(lab_notebook(), where, secret))
    before = path.read_bytes()
    assert lab.release_notebook(path) == 1
    assert lab.release_notebook(path, check=True) == 1
    assert path.read_bytes() == before
    out = capsys.readouterr()
    text = out.out + out.err
    cell_id = nbformat.read(path, as_version=4).cells[3].id
    assert f"cell 3 (id {cell_id!r}) " in text and where in text and secret[:4] + "…" in text
    assert KEY not in text


def test_release_refuses_wandb_api_key_env(tmp_path, capsys):
    nb = lab_notebook(executed=False)
    nb.cells[1].source += f"\nos.environ['WANDB_API_KEY'] = '{LONG_KEY}'"
    path = write(tmp_path, nb)
    assert lab.main(["release", str(path)]) == 1
    err = capsys.readouterr().err
    assert "cell 1" in err and "source line 3" in err and LONG_KEY not in err


@pytest.mark.parametrize("text", [f"commit {SHA}", f"see https://github.com/uni/lab4/tree/{SHA}"])
def test_release_accepts_git_shas(tmp_path, text):
    nb = lab_notebook()
    nb.cells.insert(1, new_markdown_cell(text))
    nb.cells[4].outputs.append(new_output("stream", name="stdout", text=text))
    path = write(tmp_path, nb)
    assert lab.release_notebook(path) == 0
    assert SHA in path.read_text()


def _volatile(nb):
    nb.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata.colab = {"provenance": []}
    nb.metadata.papermill = {"duration": 3.2}
    cell = nb.cells[3]
    cell.metadata.update({"collapsed": True, "scrolled": True, "tags": ["keep-me"],
                          "ExecuteTime": {"end_time": "2024-01-01"},
                          "execution": {"iopub.status.idle": "2024-01-01"}})
    del nb.cells[5]["id"]
    return nb


@pytest.mark.parametrize("name, build, clean_before", [
    ("clean", lambda: lab_notebook(executed=False), True),
    ("with outputs", lambda: lab_notebook(), False),
    ("volatile metadata and a missing id", lambda: _volatile(lab_notebook()), False),
])
def test_release_and_check(tmp_path, capsys, name, build, clean_before):
    nb = build()
    path = tmp_path / "lab4.ipynb"
    path.write_text(nbformat.v4.writes(nb) + "\n")    # no validation: keeps the missing id
    before = path.read_bytes()
    assert lab.main(["release", "--check", str(path)]) == (0 if clean_before else 1)
    assert path.read_bytes() == before                # --check changes nothing
    assert lab.main(["release", str(path)]) == 0
    first = path.read_bytes()
    assert lab.main(["release", str(path)]) == 0
    assert path.read_bytes() == first                 # idempotent, byte for byte
    assert lab.main(["release", "--check", str(path)]) == 0
    released = nbformat.read(path, as_version=4)
    assert set(released.metadata) == {"kernelspec", "language_info"}
    for old, new in zip(nb.cells, released.cells):
        assert new.source == old.source
        assert new.id == old.get("id", new.id) and new.id
        if new.cell_type == "code":
            assert new.outputs == [] and new.execution_count is None
    assert released.cells[3].metadata == ({"tags": ["keep-me"]} if "volatile" in name else {})
    assert len({c.id for c in released.cells}) == len(released.cells)
    out = capsys.readouterr().out
    assert ("not release-clean" in out) != clean_before
    assert ("missing or duplicate cell ids" in out) == ("missing id" in name)


def test_release_unreadable_file(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [')
    assert lab.main(["release", str(path)]) == 2
    assert lab.main(["release", "--check", str(path)]) == 2


# ----------------------------------------------------------------------------- self_check

FAKE_LAB = types.SimpleNamespace(default_slices=lambda: {name: None for name in DEFAULTS})


def complete_namespace():
    names = DEFAULTS + OWN
    return {"lab": FAKE_LAB, "slices": {name: None for name in names},
            "saved_slice_notes": {name: f"{name} shows the candidate regressing" for name in names},
            "wandb_run_info": {"mode": "offline", "tables": list(lab.WANDB_REQUIRED_TABLES)},
            "HYPOTHESIS": "The candidate misreads negated praise.",
            "GENERATED_CASES_TEXT": "1. not bad at all -> positive", "scored_cases": _cases_frame(),
            "DISCUSSION_ANSWERS": {key: "A real answer." for key in lab.DISCUSSION_KEYS}}


def _set(**changes):
    def apply(ns):
        ns.update(changes)
    return apply


def _notes(value):
    def apply(ns):
        ns["saved_slice_notes"]["example_3"] = value
    return apply


@pytest.mark.parametrize("change, failing, fragment", [
    (lambda ns: None, None, ""),
    (_set(slices={n: None for n in DEFAULTS}), "slices", "still untouched"),
    (lambda ns: [ns["slices"].pop(n) for n in OWN[:2]], "slices", "3 of your own"),
    (_notes("TODO: describe"), "notes", "1 slices still have TODO notes: example_3"),
    (_notes("bad"), "notes", "shorter than"),
    (lambda ns: ns["saved_slice_notes"].pop("sarcasm"), "notes", "no note: sarcasm"),
    (_set(wandb_run_info={"mode": "disabled", "tables": []}), "wandb", "'disabled'"),
    (lambda ns: ns.pop("wandb_run_info"), "wandb", "missing"),
    (_set(wandb_run_info={"mode": "online", "tables": ["df_eval"]}), "wandb", "df_long"),
    (_set(HYPOTHESIS="SAMPLE: emoji"), "hypothesis", "SAMPLE"),
    (_set(HYPOTHESIS="  "), "hypothesis", "empty"),
    (_set(GENERATED_CASES_TEXT="# SAMPLE\n1. x"), "cases", "still the sample"),
    (_set(scored_cases=_cases_frame(6)), "cases", "6 scored cases"),
    (_set(scored_cases=_cases_frame(12).assign(expected_label="neutral")), "cases",
     "no case expects negative, positive"),
    (lambda ns: ns["DISCUSSION_ANSWERS"].update(ship_decision="TODO"), "discussion",
     "ship_decision"),
    (_set(wandb_run_info={"mode": "offline", "tables": 5}), "wandb",   # a check that crashes
     "could not check (TypeError"),
    (_set(lab=types.SimpleNamespace()), "slices", "could not check (AttributeError"),
])
def test_self_check(capsys, change, failing, fragment):
    ns = complete_namespace()
    change(ns)
    results = lab.self_check(ns)
    out = capsys.readouterr().out.splitlines()
    assert [name for name, _, _ in results] == ["slices", "notes", "wandb", "hypothesis",
                                                "cases", "discussion"]
    assert [name for name, ok, _ in results if not ok] == ([failing] if failing else [])
    assert out[-1] == f"Self-check: {6 - bool(failing)}/6 deliverables done"
    if failing:
        line = next(line for line in out if line.startswith(f"[FAIL] {failing}:"))
        assert fragment in line


def test_self_check_never_raises(capsys):
    results = lab.self_check({})
    assert [ok for _, ok, _ in results] == [False] * 6
    assert lab.self_check(None)[0][2].startswith("could not check (TypeError")
    assert "Self-check: 0/6 deliverables done" in capsys.readouterr().out


# ----------------------------------------------------------------------------- summary

def test_summary_of_executed_notebook(tmp_path, capsys):
    path = write(tmp_path, lab_notebook())
    s = lab.summarize_notebook(path)
    assert s["problem"] is None and s["own_slices"] == OWN
    assert s["notes"]["sarcasm"] == "Sarcasm flips the label for candidate."
    assert s["notes_done"] == "17/17" and s["answers_done"] == "5/5"
    assert s["overall"] == ["Overall: baseline 0.712, candidate 0.734 (n=2000)"]
    assert s["wandb"].startswith("W&B run: offline")
    assert s["n_cases"] == 12 and s["case_scores"] == {"baseline": 12, "candidate": 4, "n": 12}
    assert s["self_check"] == "5/6"
    assert lab.main(["summary", str(path)]) == 0
    report = capsys.readouterr().out
    assert "Own slices (5): sarcasm" in report and "candidate 4/12" in report


def test_summary_of_cleared_notebook_reads_sources(tmp_path, capsys):
    path = write(tmp_path, lab_notebook(complete=False))
    assert lab.release_notebook(path) == 0
    s = lab.summarize_notebook(path)
    assert s["problem"] is None and s["own_slices"] == []
    assert s["notes"]["example_0"] == "TODO: note" and s["notes_done"] == "1/17"
    assert s["hypothesis"] == "SAMPLE: fails on emoji" and s["hypothesis_is_sample"]
    assert s["cases_are_sample"] and s["n_cases"] is None
    assert s["overall"] == [] and s["wandb"] is None and s["self_check"] is None
    capsys.readouterr()
    assert lab.main(["summary", str(path)]) == 0
    report = capsys.readouterr().out
    for expected in ["Headline metrics: missing", "W&B run: missing", "Self-check: missing",
                     "Generated cases: sample cases, untouched; not run",
                     "Hypothesis (SAMPLE, untouched): SAMPLE: fails on emoji",
                     "example_0: TODO: note   [not done]"]:
        assert expected in report


@pytest.mark.parametrize("name, content, problem", [
    ("broken.ipynb", '{"cells": [', "malformed notebook JSON"),
    ("other.ipynb", nbformat.writes(new_notebook(cells=[new_code_cell("import lab3_helpers")])),
     "not a lab 4 notebook"),
])
def test_summary_problem_notebook(tmp_path, capsys, name, content, problem):
    path = tmp_path / name
    path.write_text(content)
    assert problem in lab.summarize_notebook(path)["problem"]
    assert lab.main(["summary", str(path)]) == 1
    err = capsys.readouterr().err
    assert problem in err and len(err.strip().splitlines()) == 1


def test_summary_folder_csv(tmp_path, capsys):
    folder = tmp_path / "submissions"
    (folder / "bob").mkdir(parents=True)
    write(folder, lab_notebook(), "alice.ipynb")
    write(folder / "bob", lab_notebook(complete=False, executed=False), "lab4.ipynb")
    (folder / "carol.ipynb").write_text("not json")
    write(folder, new_notebook(cells=[new_code_cell("import lab3_helpers")]), "dave.ipynb")
    out = tmp_path / "out.csv"
    assert lab.main(["summary", str(folder), "--csv", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {row["notebook"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["alice.ipynb", "bob/lab4.ipynb", "carol.ipynb", "dave.ipynb"]
    assert list(rows["alice.ipynb"]) == list(lab._SUMMARY_CSV_COLUMNS)
    assert rows["alice.ipynb"] | {"overall": "", "hypothesis": ""} == {
        "notebook": "alice.ipynb", "n_own_slices": "5", "notes_done": "17/17", "hypothesis": "",
        "n_cases": "12", "answers_done": "5/5", "overall": "",
        "wandb": "offline run lab4-abc12 (4 tables)", "self_check": "5/6", "problem": ""}
    assert rows["bob/lab4.ipynb"]["n_cases"] == "not run"
    assert rows["bob/lab4.ipynb"]["self_check"] == "missing"
    assert rows["bob/lab4.ipynb"]["hypothesis"] == "SAMPLE (untouched)"
    assert "malformed" in rows["carol.ipynb"]["problem"]
    assert "not a lab 4" in rows["dave.ipynb"]["problem"]
    assert capsys.readouterr().err.count("\n") == 2
