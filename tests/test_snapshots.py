"""Approval snapshots: the text readers see, for four fixed runs, compared with files committed in tests/snapshots/.

Runs (each executed once per test session in a real kernel, the way Jupyter runs the notebook):

- ``untouched``: lab4.ipynb as shipped, on the bundled tweets (every test tweet), offline pair, W&B offline;
- ``completed``: the same notebook finished as a student would: five own slices, a written note per slice,
  an own hypothesis, ten pasted cases with one ``LABEL_FIXES`` entry, the five answers;
- ``precomputed``: the course's earlier CSV format (``text,label,roberta,roberta_score,input_length,gpt2,
  gpt2_score``, rows made by code below) with ``BASELINE="precomputed:roberta"``, ``CANDIDATE="precomputed:gpt2"``
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
import random
import re
import tempfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import lab4.tools.__main__
from labnotebooks import ROOT, Kernel, cell_index, execute_lab, replace_assignment, rerun_edited, texts

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("LAB4_UPDATE_SNAPSHOTS") == "1"
OFFLINE = dict(DATA_SOURCE="bundled", MODEL_SOURCE="offline", WANDB_MODE="offline", RUN_NAME="snapshot")

OWN_SLICES = '''@lab.add_slice(slices)
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
def emoji_no_words(df):
    "Tweets that are almost only emoji (fewer than 4 words)."
    return df.has_emoji & (df.n_words < 4)

@lab.add_slice(slices)
def hashtag_link(df):
    "Tweets with both a hashtag and a link (news-like)."
    return df.has_hashtag & df.has_url

lab.show(lab.describe_slices(tweets, slices).tail(6))
'''

NOTES = '''saved_slice_notes = {name: f"{name}: read n and both intervals before calling this a difference"
                     for name in slices}
wandb_run_info = lab.log_to_wandb(wandb_session, {"slice_notes": lab.notes_table(saved_slice_notes, slices)})
'''

HYPOTHESIS = ("The candidate misreads negated praise such as 'not bad at all', because it weighs the sentiment "
              "word and misses the negation in front of it.")

CASES = '''"""
1. not bad at all, honestly loved it | positive
2. i don't hate mondays anymore | positive
3. this is not what i ordered, again | negative
4. never going back to that place | negative
5. the bus doesn't come on sundays | neutral
6. no class tomorrow, it's a public holiday | neutral
7. can't believe how good this album is | positive
8. nothing works on this app since the update | negative
9. not sure if the store opens at 9 | neutral
10. wasn't expecting much but wow | positive
"""'''

FIXES = 'LABEL_FIXES = {5: "negative"}\nreviewed_cases = lab.apply_label_fixes(cases, LABEL_FIXES)\n' \
        'lab.show(reviewed_cases, ["text", "llm_label", "expected_label", "label_changed"])\n'

ANSWERS = {"accuracy_misleading": "The overall gain hides slices where the candidate is no better.",
           "slicing_revealed": "Slices with negation and emoji behave differently from the average.",
           "repeated_failures": "Some generated tweets repeated the slice's failures, not all.",
           "new_patterns": "Negated praise came out as a pattern of its own.",
           "ship_decision": "Not yet: the regressions on the weak slice need a closer look first."}


def _completed(nb):
    hypothesis = nb.cells[cell_index(nb, "hypothesis")].source
    cases = nb.cells[cell_index(nb, "cases")].source
    return {"slices": OWN_SLICES, "notes": NOTES,
            "hypothesis": replace_assignment(hypothesis, "HYPOTHESIS", repr(HYPOTHESIS)),
            "cases": replace_assignment(cases, "GENERATED_CASES_TEXT", CASES),
            "fixes": FIXES, "discussion": f"DISCUSSION_ANSWERS = {ANSWERS!r}\n"}


def _errored(nb):
    edits = _completed(nb)
    edits["hypothesis"] = edits["hypothesis"].replace('prefer="emoji_dense"', 'prefer="sarcasm"')
    return edits


def precomputed_csv(path: Path, n: int = 160) -> Path:
    """The course's earlier CSV format, rows made by code: two models' predictions and scores per tweet."""
    rng = random.Random(7)
    subjects = ["the new phone", "my team", "this album", "the bus", "our landlord", "the final", "this update",
                "the weather", "my exam", "that movie"]
    verbs = ["is", "was", "looks", "feels", "seems"]
    words = {"positive": ["amazing", "so good", "the best", "great fun", "lovely"],
             "negative": ["awful", "not good", "the worst", "a mess", "terrible"],
             "neutral": ["on at 8", "out on friday", "due tomorrow", "in the news", "back next week"]}
    extras = ["", " #monday", " @user", " http://t.co/Ab12Cd34", " 😂😂😂", "?", " but who knows", " NEVER again"]
    rows = []
    for i in range(n):
        label = rng.choice(["negative", "neutral", "neutral", "positive"])
        text = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(words[label])}{rng.choice(extras)} ({i})"
        preds = {}
        for model, skill in (("roberta", 0.7), ("gpt2", 0.6)):
            pred = label if rng.random() < skill else rng.choice(["negative", "neutral", "positive"])
            preds[model], preds[f"{model}_score"] = pred, round(rng.uniform(0.4, 0.99), 4)
        rows.append({"text": text, "label": label, "roberta": preds["roberta"], "roberta_score": preds["roberta_score"],
                     "input_length": len(text.split()), "gpt2": preds["gpt2"], "gpt2_score": preds["gpt2_score"]})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


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


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Execute the three notebooks (and an errored one) once; save them as Jupyter would."""
    workdir = tmp_path_factory.mktemp("snap")
    submissions = tmp_path_factory.mktemp("submissions")
    paths = {"<workdir>": workdir, "<submissions>": submissions}
    notebooks = {}
    with Kernel(workdir) as kernel:
        notebooks["untouched"] = execute_lab(kernel, **OFFLINE)
        notebooks["completed"] = rerun_edited(kernel, notebooks["untouched"], _completed(notebooks["untouched"]))
        notebooks["errored"] = rerun_edited(kernel, notebooks["untouched"], _errored(notebooks["untouched"]))
    pre_dir = tmp_path_factory.mktemp("pre")
    paths["<workdir-precomputed>"] = pre_dir
    csv = precomputed_csv(pre_dir / "course_format.csv")
    with Kernel(pre_dir) as kernel:
        notebooks["precomputed"] = execute_lab(kernel, DATA_PATH=str(csv), BASELINE="precomputed:roberta",
                                               CANDIDATE="precomputed:gpt2", WANDB_MODE="offline",
                                               RUN_NAME="snapshot")
    for name in ("untouched", "completed", "errored"):
        nbformat.write(notebooks[name], submissions / f"{name}.ipynb")
    return notebooks, submissions, paths


@pytest.mark.parametrize("name", ["untouched", "completed", "precomputed"])
def test_what_the_notebook_shows(runs, name):
    notebooks, _, paths = runs
    compare(name, normalise(reader_text(notebooks[name]), paths))


def test_what_the_ta_summary_shows(runs, capsys):
    _, submissions, paths = runs
    assert lab4.tools.__main__.main(["summary", str(submissions)]) == 0
    compare("ta_summary", normalise(capsys.readouterr().out, paths))


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
