"""The four fixed lab runs shared by the snapshot and browser tests (``lab_runs`` in conftest.py).

Executed once per test session in a real kernel, the way Jupyter runs the notebook: ``untouched`` (lab4.ipynb
as shipped, bundled tweets, offline pair, W&B offline: what ``make lab`` runs), ``completed`` (finished as a
student would), ``errored`` (completed but stopped by an error in Step 7), ``precomputed`` (the course's earlier
CSV format). Each run's slice report is kept as the finish cell wrote it (the errored run stops before it).
"""
from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd

from lab4.htmlreport import REPORT_NAME
from labnotebooks import Kernel, cell_index, execute_lab, replace_assignment, rerun_edited

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


def make_runs(tmp_path_factory) -> SimpleNamespace:
    """Execute the notebooks once; save them as Jupyter would; keep each run's slice report.

    Returns ``notebooks`` (by name), ``submissions`` (a folder holding untouched, completed and errored
    ``.ipynb``), ``paths`` (placeholders for the snapshot normalisation), ``reports`` (run name -> the report
    the finish cell wrote, copied away before the next run; none for ``errored``).
    """
    # Folders of a fixed path length (pytest's own are numbered, pytest-9 then pytest-10): the notebook pads its
    # tables to the longest value, a run folder's path among them, so the snapshots must not depend on it.
    fixed = lambda name: Path(tempfile.mkdtemp(prefix=f"lab4-{name}-"))  # noqa: E731
    workdir, submissions, kept = fixed("snap"), fixed("submissions"), fixed("reports")
    paths = {"<workdir>": workdir, "<submissions>": submissions}
    notebooks, reports = {}, {}

    def keep(name):
        written = workdir / REPORT_NAME
        if written.is_file():
            reports[name] = Path(shutil.copy(written, kept / f"{name}.html"))
            written.unlink()

    with Kernel(workdir) as kernel:
        notebooks["untouched"] = execute_lab(kernel, **OFFLINE)
        keep("untouched")
        notebooks["completed"] = rerun_edited(kernel, notebooks["untouched"], _completed(notebooks["untouched"]))
        keep("completed")
        notebooks["errored"] = rerun_edited(kernel, notebooks["untouched"], _errored(notebooks["untouched"]))
        keep("errored")
    pre_dir = fixed("pre")
    paths["<workdir-precomputed>"] = pre_dir
    csv = precomputed_csv(pre_dir / "course_format.csv")
    with Kernel(pre_dir) as kernel:
        notebooks["precomputed"] = execute_lab(kernel, DATA_PATH=str(csv), BASELINE="precomputed:roberta",
                                               CANDIDATE="precomputed:gpt2", WANDB_MODE="offline",
                                               RUN_NAME="snapshot")
    for name in ("untouched", "completed", "errored"):
        nbformat.write(notebooks[name], submissions / f"{name}.ipynb")
    return SimpleNamespace(notebooks=notebooks, submissions=submissions, paths=paths, reports=reports,
                           folders=[workdir, submissions, kept, pre_dir])
