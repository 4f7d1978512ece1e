"""The TA summary of saved notebooks."""

import csv

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import lab4.deliverables
import lab4.keyscan
import lab4.tools.release
import lab4.tools.summary
import lab4.tracking
import lab4.tools.__main__
from labnotebooks import OWN, lab_notebook, write


# ----------------------------------------------------------------------------- summary

def test_summary_of_executed_notebook(tmp_path, capsys):
    path = write(tmp_path, lab_notebook())
    s = lab4.tools.summary.summarize_notebook(path)
    assert s["problem"] is None and s["own_slices"] == OWN
    assert s["notes"]["sarcasm"] == "Sarcasm flips the label for candidate."
    assert s["notes_done"] == "17/17" and s["answers_done"] == "5/5"
    assert s["overall"] == ["Overall: baseline 0.712, candidate 0.734 (n=2000)"]
    assert s["wandb"].startswith("W&B run: offline")
    assert s["n_cases"] == 12 and s["case_scores"] == {"baseline": 12, "candidate": 4, "n": 12}
    assert s["self_check"] == "5/6"
    assert lab4.tools.__main__.main(["summary", str(path)]) == 0
    report = capsys.readouterr().out
    assert "Own slices (5): sarcasm" in report and "candidate 4/12" in report


def test_summary_of_cleared_notebook_reads_sources(tmp_path, capsys):
    path = write(tmp_path, lab_notebook(complete=False))
    assert lab4.tools.release.release_notebook(path) == 0
    s = lab4.tools.summary.summarize_notebook(path)
    assert s["problem"] is None and s["own_slices"] == []
    assert s["notes"]["example_0"] == "TODO: note" and s["notes_done"] == "1/17"
    assert s["hypothesis"] == "SAMPLE: fails on emoji" and s["hypothesis_is_sample"]
    assert s["cases_are_sample"] and s["n_cases"] is None
    assert s["overall"] == [] and s["wandb"] is None and s["self_check"] is None
    capsys.readouterr()
    assert lab4.tools.__main__.main(["summary", str(path)]) == 0
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
    assert problem in lab4.tools.summary.summarize_notebook(path)["problem"]
    assert lab4.tools.__main__.main(["summary", str(path)]) == 1
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
    assert lab4.tools.__main__.main(["summary", str(folder), "--csv", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {row["notebook"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["alice.ipynb", "bob/lab4.ipynb", "carol.ipynb", "dave.ipynb"]
    assert list(rows["alice.ipynb"]) == list(lab4.tools.summary._SUMMARY_CSV_COLUMNS)
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
