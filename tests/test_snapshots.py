"""Approval snapshots: the text readers see, for four fixed runs, compared with files committed in tests/snapshots/.

Runs (each executed once per test session in a real kernel, the way Jupyter runs the notebook):

- ``untouched``: lab4.ipynb as shipped, on the bundled tweets (every test tweet), offline pair, W&B offline;
- ``completed``: the same notebook finished as a student would: five own slices, a written note per slice,
  an own hypothesis, ten pasted cases with one ``LABEL_FIXES`` entry, the five answers;
- ``precomputed``: the course's earlier CSV format (``text,label,roberta,roberta_score,input_length,gpt2,
  gpt2_score``, rows made by code in ``tests/labruns.py``) with ``BASELINE="precomputed:roberta"``, ``CANDIDATE="precomputed:gpt2"``
  and no hub (Step 7 skips those models' scores on new tweets and says so);
- ``ta_summary``: ``python -m lab4.tools summary FOLDER`` on a folder holding the first two and a notebook that
  stopped with an error.

What is compared: for every code cell in order, a ``--- cell N ---`` header, then its stream output and the
``text/plain`` of its results and displays (errors as ``ename: evalue``); for the TA summary, its printed report.

Normalisation (volatile parts become placeholders; numbers that are results are never touched):

1. the repository's absolute path becomes ``<repo>``, the run's working folder ``<workdir>``, the submissions
   folder ``<submissions>``, any other absolute path under the temp folder ``<tmp>``;
2. W&B run folders ``offline-run-YYYYMMDD_HHMMSS-<id>`` become ``offline-run-<when>-<run-id>`` and every
   occurrence of a run id found that way becomes ``<run-id>``;
3. progress-bar lines (tqdm: ``NN%|`` or ``it/s]``) become ``<progress bar>``;
4. speeds (``10,989 tweets/s``) become ``<speed> tweets/s``; durations in the Step 4 estimate and loading
   times (``7.0 s``, ``≈ 8 s``, ``1 h 13 min``) become ``<duration>``;
5. dates and times (``2026-12-05 20:44:24``, ``20261205``) become ``<datetime>``;
6. memory addresses (``at 0x7f…``) become ``at <addr>``;
7. trailing spaces are stripped from every line.

A difference fails with a unified diff. After a deliberate change, ``make snapshots`` rewrites the files
(``LAB4_UPDATE_SNAPSHOTS=1``); read the diff in review as the student, TA or instructor it is for.
"""
from __future__ import annotations

import difflib
import os
import re
import tempfile
from pathlib import Path

import pytest

import lab4.tools.__main__
from labnotebooks import ROOT, texts

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("LAB4_UPDATE_SNAPSHOTS") == "1"


def reader_text(nb) -> str:
    """What a reader sees in ``nb``'s code cells, in order, with a header per cell."""
    parts = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "injected-parameters" not in cell.get("metadata", {}).get("tags", []):
            parts.append(f"--- cell {i} ---\n{texts(cell)}")
    return "\n".join(parts) + "\n"


_PROGRESS = re.compile(r"^.*(\d+%\|| it/s\]|tweet/s\]|\d+/\d+ \[\d\d:\d\d).*$", re.M)
_SPEED = re.compile(r"[\d,]+(?:\.\d+)? tweets?/s")
_DURATION = re.compile(r"(?:(?:≈ )?(?:< )?\d+(?:\.\d+)? ?(?:h|min|s)\b(?: \d+ ?(?:min|s)\b)?)")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?|\b20\d{6}_\d{6}\b")
_RUN = re.compile(r"offline-run-(\d{8}_\d{6})-([a-z0-9]{8})")


def normalise(text: str, paths: dict[str, Path]) -> str:
    """Apply the module docstring's rules, in order."""
    for placeholder, path in sorted(paths.items(), key=lambda kv: -len(str(kv[1]))):
        text = text.replace(str(path), placeholder)
    text = text.replace(str(ROOT), "<repo>")
    text = re.sub(re.escape(tempfile.gettempdir()) + r"/[^\s'\"),]*", "<tmp>", text)
    for run_id in {m.group(2) for m in _RUN.finditer(text)}:
        text = text.replace(run_id, "<run-id>")
    text = _RUN.sub("offline-run-<when>-<run-id>", text)
    text = re.sub(r"offline-run-\d{8}_\d{6}-<run-id>", "offline-run-<when>-<run-id>", text)
    text = _PROGRESS.sub("<progress bar>", text)
    text = _SPEED.sub("<speed> tweets/s", text)
    text = re.sub(r"(loading in|≈) ?" + _DURATION.pattern, lambda m: m.group(1) + " <duration>", text)
    text = re.sub(r"(?:< )?\b\d+(?:\.\d+)? ?(?:h|min|s)( still to compute)", r"<duration>\1", text)
    text = _DATETIME.sub("<datetime>", text)
    text = re.sub(r" at 0x[0-9a-f]+", " at <addr>", text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def compare(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path} did not exist and was written: read it, commit it, and run the tests again")
        return
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"tests/snapshots/{name}.txt (committed)", f"{name} (this run)", n=2))
        pytest.fail(f"What readers see changed in the {name!r} run. If that is deliberate, run `make snapshots` "
                    f"and commit the files.\n{diff}", pytrace=False)


@pytest.mark.parametrize("name", ["untouched", "completed", "precomputed"])
def test_what_the_notebook_shows(lab_runs, name):
    compare(name, normalise(reader_text(lab_runs.notebooks[name]), lab_runs.paths))


def test_what_the_ta_summary_shows(lab_runs, capsys):
    assert lab4.tools.__main__.main(["summary", str(lab_runs.submissions)]) == 0
    compare("ta_summary", normalise(capsys.readouterr().out, lab_runs.paths))


def test_normalisation_keeps_results_and_replaces_only_volatile_parts():
    raw = ("Step 4 estimate on cpu: 1,080 tweets; baseline 10,989 tweets/s (measured on 48), candidate 140 tweets/s "
           "(measured on 48 after loading in 7.0 s) -> ≈ 8 s for all of them (7 s still to compute).\n"
           "baseline (vader): 100%|█████| 1032/1032 [00:00<00:00, 14046.57tweet/s]\n"
           "W&B run: offline, saved in /x/wandb/offline-run-20261205_204424-qke0cshp  \n"
           "run id qke0cshp; accuracy 0.547 [0.517, 0.577], p = 3.81e-34, n = 1,080")
    out = normalise(raw, {"<workdir>": Path("/x")})
    assert "1,080 tweets" in out and "(measured on 48" in out and "0.547 [0.517, 0.577]" in out and "3.81e-34" in out
    assert "<speed> tweets/s" in out and "loading in <duration>" in out and "≈ <duration> for all" in out
    assert "(<duration> still to compute)" in out and "<progress bar>" in out
    assert "offline-run-<when>-<run-id>" in out and "run id <run-id>;" in out and "qke0cshp" not in out
    assert not any(line.endswith(" ") for line in out.splitlines())


def test_a_print_split_across_messages_reads_as_jupyter_shows_it():
    # ipykernel flushes stdout on a timer, so one cell's prints may arrive as one stream output or several
    one = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "W&B run: offline\nSlice report: x\n"}]}
    split = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "W&B run: offline\n"},
                         {"output_type": "stream", "name": "stdout", "text": "Slice report: x\n"}]}
    assert texts(split) == texts(one) == "W&B run: offline\nSlice report: x\n"
    mixed = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "a\n"},
                         {"output_type": "stream", "name": "stderr", "text": "warn\n"},
                         {"output_type": "execute_result", "data": {"text/plain": "1"}},
                         {"output_type": "stream", "name": "stdout", "text": "b\n"}]}
    assert texts(mixed) == "a\n\nwarn\n\n1\nb\n"
