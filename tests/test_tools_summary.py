"""The TA summary of saved notebooks, on a folder of real ones.

The real lab4.ipynb runs once in a real kernel (nbclient, 200 tweets, offline); students' edits are then
made to its cells and re-run in that kernel, and each result is saved with nbformat as Jupyter saves
it: untouched, complete, hand-edited, stopped by an error, and cleared copies. On every one the TA
summary must agree with the self-check the notebook itself ran, deliverable by deliverable.
"""

import csv
import json
import re
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import lab4
import lab4.deliverables as deliverables
import lab4_helpers as lab
import lab4.tools.__main__
import lab4.tools.summary as summary_module
from labnotebooks import (KEY, cell_index, cleared, execute_lab, record, replace_assignment, rerun_edited,
                          texts, Kernel)

NEEDS_RUNNING = summary_module.NEEDS_RUNNING

OWN_SLICES = '''@lab.add_slice(slices)
def example_question_with_negation(df):
    "EXAMPLE: questions that also contain a negation."
    return df.is_question & df.has_negation

@lab.add_slice(slices)
def negated_shout(df):
    "Negations in tweets that also shout a word."
    return df.has_negation & df.has_allcaps

@lab.add_slice(slices)
def mention_question(df):
    "Questions addressed to someone."
    return df.is_question & df.has_mention

@lab.add_slice(slices)
def contrast_long(df):
    "Long tweets that turn with but/though."
    return df.has_contrast & (df.length_bucket == "long")

@lab.add_slice(slices)
def hashtag_only_short(df):
    "Short tweets with a hashtag."
    return df.has_hashtag & (df.length_bucket == "short")

slices["link_few_words"] = lambda df: df.has_url & (df.n_words < 8)
lab.describe_slices(tweets, slices).tail(6)
'''

NOTES_BY_CODE = '''saved_slice_notes = {name: f"{name}: both intervals overlap, so no evidence of a change here"
                     for name in slices}
wandb_run_info = lab.log_to_wandb(wandb_session, {"slice_notes": lab.notes_table(saved_slice_notes, slices)})
'''

OWN_CASES = '''"""
# SAMPLE (replace with your LLM's answer)
1. not bad at all, honestly loved it 😂 | positive
2. i don't hate mondays anymore 🙃 | positive
3. this is not what i ordered 😤 | negative
4. never going back to that place 🤮 | negative
5. the bus doesn't come on sundays 🚌 | neutral
6. no class tomorrow, it's a public holiday 📅 | neutral
7. can't believe how good this album is 🔥🔥 | positive
8. nothing works on this app 😡 | negative
9. not sure if the store opens at 9 🤔 | neutral
10. wasn't expecting much but wow 😍 | positive
"""
GENERATOR = "openai:gpt-4o-mini"'''
FIXES = 'LABEL_FIXES = {2: "negative"}\nreviewed_cases = lab.apply_label_fixes(cases, LABEL_FIXES)\n'

HYPERLINK = '=HYPERLINK("http://example.com/x", "The candidate misreads negated praise")'

ANSWERS = {key: f"My answer about {key.replace('_', ' ')}, from the slice tables."
           for key in deliverables.DISCUSSION_KEYS}


def _alice(nb):
    """Everything done, in the ways the old summary miscounted: 4 decorated slices and one set as
    a lambda, notes built by a dict comprehension, own cases pasted under the kept # SAMPLE line."""
    hypothesis = nb.cells[cell_index(nb, "hypothesis")].source
    cases = nb.cells[cell_index(nb, "cases")].source
    return {"slices": OWN_SLICES, "notes": NOTES_BY_CODE,
            "hypothesis": replace_assignment(hypothesis, "HYPOTHESIS", repr(HYPERLINK)),
            "cases": replace_assignment(cases, "GENERATED_CASES_TEXT", OWN_CASES),
            "fixes": FIXES, "discussion": f"DISCUSSION_ANSWERS = {ANSWERS!r}\n"}


def _bob(nb):
    """Half done, hand-edited: a slice named like a shipped one, notes for some slices (one for a
    slice that does not exist), the sample hypothesis without its prefix, the sample cases without
    their comment, two answers, and a W&B key left in a cell."""
    hypothesis = nb.cells[cell_index(nb, "hypothesis")].source
    cases = nb.cells[cell_index(nb, "cases")].source
    sample_cases = deliverables.SAMPLE_CASES_TEXT.replace("# SAMPLE (replace with your LLM's answer)\n", "")
    answers = {key: (ANSWERS[key] if i < 2 else "TODO") for i, key in enumerate(deliverables.DISCUSSION_KEYS)}
    return {
        "slices": '''@lab.add_slice(slices)
def has_url(df):
    "Tweets with a link and some words around it."
    return df.has_url & (df.n_words > 3)

@lab.add_slice(slices)
def mention_question(df):
    "Questions addressed to someone."
    return df.is_question & df.has_mention

@lab.add_slice(slices)
def contrast_long(df):
    "Long tweets that turn with but/though."
    return df.has_contrast & (df.length_bucket == "long")

lab.describe_slices(tweets, slices).tail(3)
''',
        "notes": f'''saved_slice_notes = {{
    "has_hashtag": "Hashtags barely move accuracy for either model.",
    "has_negation": {HYPERLINK!r},
    "contrast_long": "Too few tweets (n under thirty) to judge.",
    "contrsat_long": "a typo: this note names no slice at all",
}}
saved_slice_notes["mention_question"] = "TODO"
wandb_run_info = lab.log_to_wandb(wandb_session, {{"slice_notes": lab.notes_table(saved_slice_notes, slices)}})
''',
        "hypothesis": replace_assignment(hypothesis, "HYPOTHESIS",
                                         repr(deliverables.SAMPLE_HYPOTHESIS.removeprefix("SAMPLE: "))),
        "cases": replace_assignment(cases, "GENERATED_CASES_TEXT", f'"""{sample_cases}"""'),
        "discussion": f"wandb_key = {KEY!r}\nDISCUSSION_ANSWERS = {answers!r}\n",
    }


def _carol(nb):
    """Alice's work, but Step 7 asks for a slice that does not exist: the notebook stops there."""
    edits = _alice(nb)
    edits["hypothesis"] = edits["hypothesis"].replace('prefer="emoji_dense"', 'prefer="sarcasm"')
    assert 'prefer="sarcasm"' in edits["hypothesis"]
    return edits


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """submissions/: untouched, alice (complete), bob (hand-edited), carol (stopped by an error), and
    cleared copies of alice and bob; plus the kernel's timings."""
    workdir = tmp_path_factory.mktemp("lab")
    out = tmp_path_factory.mktemp("submissions")
    timings = {}
    with Kernel(workdir) as kernel:
        started = time.perf_counter()
        # VADER as both models: the deliverables do not depend on the models, and MiniLM would add a
        # minute of encoding on a cold cache (tests/test_notebook.py runs the offline pair).
        base = execute_lab(kernel, MAX_TWEETS=200, MODEL_SOURCE="offline", CANDIDATE="vader",
                           WANDB_MODE="offline", RUN_NAME="ci")
        timings["untouched"] = time.perf_counter() - started
        notebooks = {"untouched": base}
        for name, edits in (("alice", _alice), ("carol_error", _carol), ("bob", _bob)):
            started = time.perf_counter()
            notebooks[name] = rerun_edited(kernel, base, edits(base))
            timings[name] = time.perf_counter() - started
    notebooks["alice_cleared"] = cleared(notebooks["alice"])
    notebooks["bob_cleared"] = cleared(notebooks["bob"])
    paths = {}
    for name, nb in notebooks.items():
        paths[name] = out / f"{name}.ipynb"
        nbformat.write(nb, paths[name])
    print("kernel timings (s):", {k: round(v, 1) for k, v in timings.items()})
    return {"dir": out, "paths": paths, "workdir": workdir}


def _saved_record(path):
    nb = nbformat.read(path, as_version=4)
    return record(nb.cells[cell_index(nb, "self_check")])


EXECUTED = ("untouched", "alice", "bob")

# What each saved notebook's own self-check must say (the handout's rules applied to the edits above).
EXPECTED = {
    "untouched": {"slices": False, "notes": False, "wandb": True, "hypothesis": False, "cases": False,
                  "discussion": False},
    "alice": dict.fromkeys(deliverables.DELIVERABLES, True),
    "bob": {"slices": False, "notes": False, "wandb": True, "hypothesis": False, "cases": False,
            "discussion": False},
}

# Deliverables only running can decide, per notebook read without outputs.
NEEDS_RUNNING_FROM_SOURCES = {"untouched": {"wandb"}, "alice": {"wandb", "notes", "cases"}, "bob": {"wandb"}}


@pytest.mark.parametrize("name", EXECUTED)
def test_saved_self_check_is_lines_plus_record(folder, name):
    nb = nbformat.read(folder["paths"][name], as_version=4)
    nbformat.validate(nb)
    cell = nb.cells[cell_index(nb, "self_check")]
    saved = record(cell)
    assert {k: v["passed"] for k, v in saved["deliverables"].items()} == EXPECTED[name]
    shown = texts(cell).splitlines()          # what the student sees: text/plain only
    entries = [(k, saved["deliverables"][k]) for k in deliverables.DELIVERABLES]
    assert shown[:6] == [f"[{'PASS' if v['passed'] else 'FAIL'}] {k}: {v['message']}" for k, v in entries]
    assert shown[-1] == f"Self-check: {saved['done']}/6 deliverables done"
    assert shown[-2] == f"Slice report: {folder['workdir'] / 'lab4_report.html'} (open it in a browser to walk the " \
        "TA through your slices)"  # the finish cell wrote it where the kernel runs
    assert not any("{" in line for line in shown)     # no JSON leaks into the text


@pytest.mark.parametrize("name", EXECUTED)
def test_summary_agrees_with_the_notebooks_self_check(folder, name):
    saved = _saved_record(folder["paths"][name])
    s = summary_module.summarize_notebook(folder["paths"][name])
    assert s["problem"] is None and s["error"] is None and s["differs"] == []
    assert s["self_check"] == f"{saved['done']}/6"
    for deliverable, entry in saved["deliverables"].items():
        status = s["deliverables"][deliverable]["status"]
        assert status == ("PASS" if entry["passed"] else "FAIL"), deliverable
        from_sources = s["from_sources"][deliverable].passed
        assert from_sources in (None, entry["passed"]), deliverable


@pytest.mark.parametrize("name", EXECUTED)
def test_summary_of_cleared_notebook_agrees_where_sources_decide(folder, tmp_path, name):
    path = tmp_path / f"{name}_cleared.ipynb"
    nbformat.write(cleared(nbformat.read(folder["paths"][name], as_version=4)), path)
    saved = _saved_record(folder["paths"][name])
    s = summary_module.summarize_notebook(path)
    assert s["problem"] is None and s["self_check"] is None
    unknown = {d for d, entry in s["deliverables"].items() if entry["status"] == NEEDS_RUNNING}
    assert unknown == NEEDS_RUNNING_FROM_SOURCES[name]
    for deliverable, entry in saved["deliverables"].items():
        if deliverable not in unknown:
            assert s["deliverables"][deliverable]["status"] == ("PASS" if entry["passed"] else "FAIL"), deliverable
            assert s["deliverables"][deliverable]["facts"].get("own") == entry["facts"].get("own"), deliverable
            for count in ("done", "total"):
                assert s["deliverables"][deliverable]["facts"].get(count) == entry["facts"].get(count), deliverable


def test_counts_the_old_summary_got_wrong(folder):
    alice = summary_module.summarize_notebook(folder["paths"]["alice_cleared"])
    slices = alice["deliverables"]["slices"]["facts"]
    assert len(slices["own"]) == 5 and slices["undescribed"] == ["link_few_words"]   # the lambda counts, flagged
    assert alice["deliverables"]["notes"]["status"] == NEEDS_RUNNING                  # comprehension: not 0/N
    assert alice["deliverables"]["cases"]["status"] == NEEDS_RUNNING                  # GENERATOR set: run tells
    executed = summary_module.summarize_notebook(folder["paths"]["alice"])
    assert executed["deliverables"]["cases"]["facts"]["own"] == 10                     # kept "# SAMPLE" line
    bob = summary_module.summarize_notebook(folder["paths"]["bob_cleared"])
    notes = bob["deliverables"]["notes"]["facts"]
    assert (notes["done"], notes["total"]) == (3, 14)                   # out of all slices, not of 4 notes
    assert notes["not_slices"] == ["contrsat_long"] and "contrsat_long" in bob["deliverables"]["notes"]["message"]
    assert bob["deliverables"]["slices"]["facts"]["replaced"] == ["has_url"]
    assert bob["deliverables"]["cases"]["facts"] | {"scores": None} == {"n": 10, "own": 0, "sample": 10,
                                                                        "scores": None}
    assert bob["deliverables"]["hypothesis"]["facts"]["sample"]


def test_generated_cases_scores_of_real_executed_notebooks(folder):
    s = summary_module.summarize_notebook(folder["paths"]["alice"])
    scores = s["deliverables"]["cases"]["facts"]["scores"]
    run_dir = folder["workdir"] / _saved_record(folder["paths"]["alice"])["run"]["run_dir"]
    logged = lab.read_offline_tables(run_dir)["synthetic_tests"]      # what W&B holds, read back
    assert scores == {"labelled": len(logged) == 10 and 10,
                      **{m: int((logged[f"{m}_pred"] == logged["expected_label"]).sum())
                         for m in ("baseline", "candidate")}}
    report = summary_module._format_summary(s)
    assert f"correct: baseline {scores['baseline']}/10, candidate {scores['candidate']}/10" in report


def test_run_facts(folder):
    alice = summary_module.summarize_notebook(folder["paths"]["alice"])["run"]
    assert alice["lab_version"] == lab4.__version__ and alice["n_tweets"] == 200
    assert "tweets.csv" in alice["data"] and alice["models"] == {"baseline": "vader", "candidate": "vader"}
    assert (alice["generator"], alice["labels_changed"], alice["wandb_mode"]) == ("openai:gpt-4o-mini", 1, "offline")
    bob = summary_module.summarize_notebook(folder["paths"]["bob"])["run"]
    assert (bob["generator"], bob["labels_changed"]) == ("none (copy-paste)", 0)    # the untouched Step 7 cells
    cleared_alice = summary_module.summarize_notebook(folder["paths"]["alice_cleared"])["run"]
    assert cleared_alice["data"] == cleared_alice["wandb_mode"] == NEEDS_RUNNING
    assert (cleared_alice["generator"], cleared_alice["labels_changed"]) == ("openai:gpt-4o-mini", 1)


def test_notebook_stopped_by_an_error(folder, capsys):
    path = folder["paths"]["carol_error"]
    nb = nbformat.read(path, as_version=4)
    index = cell_index(nb, "hypothesis")
    s = summary_module.summarize_notebook(path)
    assert s["error"]["cell"] == index and s["error"]["ename"] == "ValueError"
    assert s["error"]["execution_count"] == nb.cells[index].execution_count
    assert "prefer='sarcasm'" in s["error"]["evalue"] and "emoji_dense" in s["error"]["evalue"]
    assert s["self_check"] is None
    assert s["deliverables"]["slices"]["status"] == "PASS"           # still read from the cells
    assert lab4.tools.__main__.main(["summary", str(path)]) == 0
    report = capsys.readouterr().out
    assert f"Error: cell {index} (In [{nb.cells[index].execution_count}])" in report
    assert "ValueError: prefer='sarcasm'" in report and "Self-check: missing (stopped before it)" in report


def test_edited_after_the_self_check_is_flagged(folder, tmp_path):
    nb = nbformat.read(folder["paths"]["alice"], as_version=4)
    cell = nb.cells[cell_index(nb, "discussion")]
    cell.source = cell.source.replace("My answer about ship decision", "TODO")
    path = tmp_path / "edited.ipynb"
    nbformat.write(nb, path)
    s = summary_module.summarize_notebook(path)
    assert s["differs"] == ["discussion"] and s["deliverables"]["discussion"]["status"] == "PASS"
    assert "Differs from the saved self-check: discussion" in summary_module._format_summary(s)


def test_folder_csv(folder, tmp_path, capsys):
    (folder["dir"] / "broken.ipynb").write_text('{"cells": [')
    nbformat.write(new_notebook(cells=[new_code_cell("import lab3_helpers")]), folder["dir"] / "other.ipynb")
    out = tmp_path / "marks.csv"
    assert lab4.tools.__main__.main(["summary", str(folder["dir"]), "--csv", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {row["notebook"]: row for row in csv.DictReader(handle)}
    assert list(rows["alice.ipynb"]) == list(summary_module._SUMMARY_CSV_COLUMNS)
    for name in EXECUTED:
        saved = _saved_record(folder["paths"][name])
        for deliverable, entry in saved["deliverables"].items():
            assert rows[f"{name}.ipynb"][deliverable] == ("PASS" if entry["passed"] else "FAIL")
        assert rows[f"{name}.ipynb"]["self_check"] == f"{saved['done']}/6"
    alice, cleared_alice = rows["alice.ipynb"], rows["alice_cleared.ipynb"]
    assert (alice["own_slices"], alice["notes_done"], alice["own_cases"]) == ("5", "18/18", "10")
    assert alice["case_scores"].startswith("baseline ") and alice["overall"].startswith("Overall: baseline")
    assert alice["hypothesis_text"] == "'" + HYPERLINK                           # no formula in a spreadsheet
    for column in ("self_check", "wandb", "notes", "notes_done", "case_scores", "data", "n_tweets", "models",
                   "wandb_mode", "lab_version", "overall"):
        assert cleared_alice[column] == NEEDS_RUNNING, column
    assert cleared_alice["own_slices"] == "5" and cleared_alice["slices"] == "PASS"
    assert rows["carol_error.ipynb"]["error"].startswith("cell ")
    assert "ValueError" in rows["carol_error.ipynb"]["error"]
    assert "malformed" in rows["broken.ipynb"]["problem"] and "not a lab 4" in rows["other.ipynb"]["problem"]
    assert capsys.readouterr().err.count("\n") == 2
    (folder["dir"] / "broken.ipynb").unlink()
    (folder["dir"] / "other.ipynb").unlink()


@pytest.mark.parametrize("value, written", [
    (HYPERLINK, "'" + HYPERLINK), ("+1 great", "'+1 great"), ("-5 points", "'-5 points"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("plain text", "plain text"), ("", ""), (None, ""), (3, "3"),
])
def test_spreadsheet_safe(value, written):
    assert summary_module._spreadsheet_safe(value) == written


def test_key_warning_is_saved_masked(folder):
    saved = _saved_record(folder["paths"]["bob"])
    assert [k["token"] for k in saved["keys"]] == [KEY[:4] + "…"] * len(saved["keys"]) and saved["keys"]
    assert {k["where"] for k in saved["keys"]} >= {"variable wandb_key"}
    nb = nbformat.read(folder["paths"]["bob"], as_version=4)
    shown = texts(nb.cells[cell_index(nb, "self_check")])
    assert "[WARN] keys: 0123… looks like an API key" in shown and "variable wandb_key (line 1)" in shown
    assert KEY not in json.dumps(saved) and KEY not in shown
    assert not _saved_record(folder["paths"]["alice"])["keys"]


def test_report_of_executed_notebook(folder, capsys):
    assert lab4.tools.__main__.main(["summary", str(folder["paths"]["bob"])]) == 0
    report = capsys.readouterr().out
    for expected in ["Self-check: 1/6 (its saved record)", "[FAIL] notes: ", "contrsat_long",
                     "W&B mode: offline", "Step 7 generator: none (copy-paste)", "Overall: baseline accuracy",
                     "Hypothesis (our SAMPLE): The candidate does worse on emoji-heavy tweets", "Own slices: mention_question, contrast_long",
                     "0 of the student's own, 10 of our sample", "[WARN] API key in variable wandb_key: 0123…"]:
        assert expected in report, expected


@pytest.mark.parametrize("layout", ["beside", "build", "norecord"])
def test_where_resolves_the_run_folder_from_the_notebook(folder, tmp_path, monkeypatch, capsys, layout):
    nb = nbformat.read(folder["paths"]["untouched"], as_version=4)
    run_dir = _saved_record(folder["paths"]["untouched"])["run"]["run_dir"]
    expected = len(list((folder["workdir"] / run_dir).glob("files/media/images/**/*.png")))
    assert expected >= 2
    if layout == "norecord":
        cell = nb.cells[cell_index(nb, "self_check")]
        cell.outputs = [o for o in cell.outputs if deliverables.RECORD_MIME not in o.get("data", {})]
    path = folder["workdir"] / ("build" if layout == "build" else ".") / f"where-{layout}.ipynb"   # build/: make lab
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    monkeypatch.chdir(tmp_path)                        # the TA runs it from elsewhere
    assert lab4.tools.__main__.main(["where", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"and {expected} image(s) in" in out


def test_where_says_when_the_run_folder_is_not_there(folder, tmp_path, capsys):
    path = tmp_path / "copied.ipynb"
    nb = nbformat.read(folder["paths"]["untouched"], as_version=4)
    cell = nb.cells[cell_index(nb, "self_check")]
    cell.outputs = [o for o in cell.outputs if deliverables.RECORD_MIME not in o.get("data", {})]
    text = nbformat.writes(nb)   # a notebook from before absolute run paths: its run folder is relative
    text = re.sub(r"/[^\s\"]*/(wandb/offline-run-[\w-]+)", r"\1", text)
    path.write_text(text, encoding="utf-8")
    assert lab4.tools.__main__.main(["where", str(path)]) == 0
    assert "is not at" in capsys.readouterr().out


@pytest.mark.parametrize("name, content, problem", [
    ("broken.ipynb", '{"cells": [', "malformed notebook JSON"),
    ("other.ipynb", nbformat.writes(new_notebook(cells=[new_code_cell("import lab3_helpers")])),
     "not a lab 4 notebook"),
])
def test_summary_problem_notebook(tmp_path, capsys, name, content, problem):
    path = tmp_path / name
    path.write_text(content)
    assert problem in summary_module.summarize_notebook(path)["problem"]
    assert lab4.tools.__main__.main(["summary", str(path)]) == 1
    err = capsys.readouterr().err
    assert problem in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- reading cells without running

@pytest.mark.parametrize("cells, own, n_slices", [
    (["slices = lab.default_slices()", 'slices.update({"a": lambda df: df.x, "b": f})'], ["a", "b"], 14),
    (["slices = lab.default_slices()", 'del slices["has_url"]', 'slices.pop("long")'], [], 10),
    (["slices = lab.default_slices()", "def f(df):\n    'F.'\n    return df.x", "lab.add_slice(slices)(f)"],
     ["f"], 13),
    (["slices = {'a': lambda df: df.x}", "slices['b'] = lambda df: df.y"], ["a", "b"], 2),
    (["slices = lab.default_slices()", "for n in ['a', 'b']:\n    slices[n] = lambda df: df.x"], None, None),
    (["slices = lab.default_slices()", "slices = {**slices, 'a': f}"], None, None),
    (["slices = lab.default_slices()", "%%capture\n@lab.add_slice(slices)\ndef a(df):\n    return df.x"], ["a"], 13),
    (["slices = lab.default_slices()", "@lab.add_slice(slices)\ndef a(df) return"], None, None),   # not Python
])
def test_sources_follow_the_slices_registry(cells, own, n_slices):
    src = summary_module._Sources().read([new_code_cell(source) for source in cells])
    verdict = summary_module._source_verdicts(src)["slices"]
    if own is None:
        assert verdict.passed is None and "only running the notebook tells" in verdict.message
    else:
        assert verdict.facts["own"] == own and verdict.facts["n_slices"] == n_slices


@pytest.mark.parametrize("cell, known", [
    ('saved_slice_notes = {"a": "a note of four words"}\nsaved_slice_notes["b"] = "TODO"', True),
    ('saved_slice_notes = {"a": "x"}\nsaved_slice_notes.update({"b": "y"})', True),
    ('saved_slice_notes = {"a": "x"}\nsaved_slice_notes.update(b="y")', False),
    ('saved_slice_notes = {n: "x" for n in slices}', False),
    ('saved_slice_notes = {"a": "x"}\nsaved_slice_notes["b"] = f"{n} y"', False),
    ('saved_slice_notes = {n: "x" for n in slices}\nsaved_slice_notes = {"a": "x"}', True),   # re-set literally
])
def test_sources_follow_the_notes(cell, known):
    src = summary_module._Sources().read([new_code_cell("slices = {'a': f, 'b': g}"), new_code_cell(cell)])
    assert (summary_module._source_verdicts(src)["notes"].passed is not None) is known


def test_a_shipped_slice_is_reported_replaced_only_when_it_was(folder, capsys):
    """The untouched notebook replaced nothing; bob redefined has_url in Step 3 and is told so, in his own
    self-check and in the TA summary (one rule: ``lab4.slicing.is_shipped_slice``)."""
    untouched, bob = _saved_record(folder["paths"]["untouched"]), _saved_record(folder["paths"]["bob"])
    assert untouched["deliverables"]["slices"]["facts"]["replaced"] == []
    assert "replaced" not in untouched["deliverables"]["slices"]["message"]
    assert bob["deliverables"]["slices"]["facts"]["replaced"] == ["has_url"]
    assert "your has_url replaced the shipped slice" in bob["deliverables"]["slices"]["message"]
    for name, replaced in (("untouched", False), ("bob", True), ("bob_cleared", True)):
        lab4.tools.__main__.main(["summary", str(folder["paths"][name])])
        shown = capsys.readouterr().out
        assert ("has_url replaced the shipped slice" in shown) is replaced, (name, shown)
        assert ("replaced" in shown) is replaced, name
