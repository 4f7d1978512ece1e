"""What counts as each deliverable, and the student's self-check that reports them.
"""

from __future__ import annotations


import pandas as pd

from .config import LABELS
from .slicing import EXAMPLE_PREFIX
from .tracking import WANDB_LOGGING_MODES, WANDB_REQUIRED_TABLES


# Self-check thresholds; the handout promises these numbers, so change both together.
# Slices a student must add beyond lab.default_slices(): enough to force own thinking.
MIN_OWN_SLICES = 5

# A slice note counts as written when it has at least this many words ("bad", "ok" are not an
# interpretation of a slice's numbers).
MIN_NOTE_WORDS = 4

# Fewer LLM-generated test cases than this cannot show a failure pattern.
MIN_GENERATED_CASES = 10

# The Step 7 discussion questions (keys of DISCUSSION_ANSWERS in the notebook).
DISCUSSION_KEYS = ("repeated_failures", "new_patterns", "ship_decision", "accuracy_misleading",
                   "slicing_revealed")


def _note_done(note):
    return (isinstance(note, str) and not note.strip().upper().startswith("TODO")
            and len(note.split()) >= MIN_NOTE_WORDS)


def _answer_done(answer):
    return (isinstance(answer, str) and bool(answer.strip())
            and not answer.strip().upper().startswith("TODO"))


def _names(items, limit=8):
    items = list(items)
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def _check_slices(ns, min_own_slices):
    slices, lab = ns.get("slices"), ns.get("lab")
    if not isinstance(slices, dict):
        return False, "no `slices` registry found; run the Step 5 cells that build it"
    if lab is None:
        return False, "`lab` is not imported; run the first cell (import lab4_helpers as lab)"
    shipped = set(lab.default_slices())
    own = [name for name in slices if name not in shipped and not name.startswith(EXAMPLE_PREFIX)]
    if len(own) >= min_own_slices:
        return True, f"{len(own)} of your own beyond the {len(shipped)} examples: {_names(own)}"
    if not own:
        untouched = "still untouched" if set(slices) - shipped <= {n for n in slices if n.startswith(EXAMPLE_PREFIX)} else "the only ones"
        return False, (f"no slices of your own yet: the {len(shipped)} shipped examples are "
                       f"{untouched}; add {min_own_slices} with @lab.add_slice(slices)")
    return False, (f"{len(own)} of your own ({_names(own)}); need at least {min_own_slices} "
                   "beyond the examples")


def _check_notes(ns):
    slices, notes = ns.get("slices"), ns.get("saved_slice_notes")
    if not isinstance(slices, dict):
        return False, "no `slices` registry found; run the Step 5 cells that build it"
    if not isinstance(notes, dict):
        return False, "no `saved_slice_notes` dict found; run the Step 6 notes cell"
    missing = [name for name in slices if name not in notes]
    todo = [name for name in slices
            if isinstance(notes.get(name), str) and notes[name].strip().upper().startswith("TODO")]
    short = [name for name in slices
             if name in notes and name not in todo and not _note_done(notes[name])]
    if not (missing or todo or short):
        return True, f"all {len(slices)} slices have a note"
    parts = []
    if todo:
        parts.append(f"{len(todo)} slices still have TODO notes: {_names(todo)}")
    if missing:
        parts.append(f"{len(missing)} slices have no note: {_names(missing)}")
    if short:
        parts.append(f"{len(short)} notes are shorter than {MIN_NOTE_WORDS} words: {_names(short)}")
    return False, "; ".join(parts)


def _check_wandb(ns):
    info = ns.get("wandb_run_info")
    if not isinstance(info, dict):
        return False, "no W&B run logged (wandb_run_info is missing); run the W&B cell"
    mode = info.get("mode")
    if mode not in WANDB_LOGGING_MODES:
        return False, (f"W&B mode is {mode!r}, so nothing was kept; set mode to 'online' or "
                       "'offline' and rerun the W&B cell")
    logged = info.get("tables") or []
    missing = [name for name in WANDB_REQUIRED_TABLES if name not in logged]
    if missing:
        return False, f"tables not logged: {_names(missing)}; logged: {_names(logged) or 'none'}"
    return True, f"{len(WANDB_REQUIRED_TABLES)} tables logged ({mode} run)"


def _check_hypothesis(ns):
    hypothesis = ns.get("HYPOTHESIS")
    if not isinstance(hypothesis, str) or not hypothesis.strip():
        return False, "HYPOTHESIS is empty; write one sentence about where the candidate fails"
    if hypothesis.strip().startswith("SAMPLE:"):
        return False, "HYPOTHESIS is still the SAMPLE; replace it with your own"
    return True, f"written ({len(hypothesis.split())} words)"


def _check_cases(ns, min_cases=MIN_GENERATED_CASES):

    raw = ns.get("GENERATED_CASES_TEXT")
    if isinstance(raw, str) and raw.lstrip().startswith("# SAMPLE"):
        return False, ("GENERATED_CASES_TEXT is still the sample cases; paste your own "
                       "LLM-generated cases and rerun scoring")
    cases = ns.get("scored_cases")
    if not isinstance(cases, pd.DataFrame):
        return False, "no scored_cases table; run the Step 7 scoring cell"
    if "expected_label" not in cases.columns:
        return False, f"scored_cases has no 'expected_label' column; found {list(cases.columns)}"
    if len(cases) < min_cases:
        return False, f"{len(cases)} scored cases; need at least {min_cases}"
    bad = int((~cases["expected_label"].isin(LABELS)).sum())
    absent = [label for label in LABELS if label not in set(cases["expected_label"])]
    if bad or absent:
        why = [f"{bad} cases without a valid expected_label"] if bad else []
        why += [f"no case expects {_names(absent)}"] if absent else []
        return False, "; ".join(why) + f" (labels: {', '.join(LABELS)})"
    return True, f"{len(cases)} cases scored, all {len(LABELS)} labels expected"


def _check_discussion(ns):
    answers = ns.get("DISCUSSION_ANSWERS")
    if not isinstance(answers, dict):
        return False, "no DISCUSSION_ANSWERS dict found; run the Step 7 discussion cell"
    todo = [key for key in DISCUSSION_KEYS if not _answer_done(answers.get(key))]
    if todo:
        return False, f"{len(todo)} answers still TODO or empty: {_names(todo)}"
    return True, f"all {len(DISCUSSION_KEYS)} answered"


def self_check(namespace, *, min_own_slices=MIN_OWN_SLICES):
    """Print one [PASS]/[FAIL] line per lab deliverable and a total; never raises.

    Call it as the last cell: ``lab.self_check(globals());`` (the ``;`` hides the returned list).

    Deliverables (names as printed): ``slices`` (at least ``min_own_slices`` slices in
    ``slices`` beyond ``lab.default_slices()``), ``notes`` (every slice has a
    ``saved_slice_notes`` entry that is not TODO and has MIN_NOTE_WORDS+ words), ``wandb``
    (``wandb_run_info`` with mode online/offline and WANDB_REQUIRED_TABLES logged),
    ``hypothesis`` (HYPOTHESIS written, not the SAMPLE), ``cases`` (own GENERATED_CASES_TEXT,
    ``scored_cases`` with MIN_GENERATED_CASES+ rows, each with a valid expected_label, every
    label expected at least once), ``discussion`` (every DISCUSSION_KEYS answer written, not TODO).
    A check that crashes (e.g. a variable of the wrong type) is a FAIL that says why.

    Parameters
    ----------
    namespace : dict
        The notebook's ``globals()``.
    min_own_slices : int
        Own slices required beyond the shipped examples.

    Returns
    -------
    list of (str, bool, str)
        (deliverable, passed, message) in the printed order.
    """
    checks = [("slices", lambda ns: _check_slices(ns, min_own_slices)), ("notes", _check_notes),
              ("wandb", _check_wandb), ("hypothesis", _check_hypothesis),
              ("cases", _check_cases), ("discussion", _check_discussion)]
    results = []
    for name, check in checks:
        try:
            if not isinstance(namespace, dict):
                raise TypeError(f"expected the notebook's globals() dict, got "
                                f"{type(namespace).__name__}")
            passed, message = check(namespace)
        except Exception as error:     # noqa: BLE001 - the self-check itself must never crash
            passed, message = False, f"could not check ({type(error).__name__}: {error})"
        results.append((name, bool(passed), message))
        print(f"[{'PASS' if passed else 'FAIL'}] {name}: {message}")
    print(f"Self-check: {sum(passed for _, passed, _ in results)}/{len(results)} "
          "deliverables done")
    return results
