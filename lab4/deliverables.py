"""What counts as each lab deliverable (one definition each), and the student's self-check.

The rules -- :func:`is_todo`, :func:`note_written`, :func:`answer_written`, :func:`is_own_slice`,
:func:`hypothesis_is_sample`, :func:`is_sample_case` -- and the ``judge_*`` functions built on them
take plain values (names, strings, dicts, lists). The self-check feeds them the notebook's live
variables; the TA summary (``lab4.tools.summary``) feeds them what a saved notebook's cells say. So
both apply the very same definitions.

The self-check shows its ``[PASS]``/``[FAIL]`` lines and, in the same output, a small
machine-readable record (mime type :data:`RECORD_MIME`, JSON) of each deliverable and of the run
(data, models, W&B mode, lab version). Notebook front ends show only the text lines; the TA summary
reads the record instead of printed text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from typing import Iterable
from typing import Mapping

import pandas as pd

from . import tracking
from .config import LABELS
from .slicing import EXAMPLE_PREFIX, _describe, default_slices, is_shipped_slice


# Self-check thresholds; the handout promises these numbers, so change both together.
# Slices a student must add beyond lab.default_slices(): enough to force own thinking.
MIN_OWN_SLICES = 5

# A slice note counts as written when it has at least this many words ("bad", "ok" are not an
# interpretation of a slice's numbers).
MIN_NOTE_WORDS = 4

# Fewer LLM-generated test cases than this cannot show a failure pattern.
MIN_GENERATED_CASES = 10

# The Step 7 discussion questions (keys of DISCUSSION_ANSWERS in the notebook).
DISCUSSION_KEYS = ("accuracy_misleading", "slicing_revealed", "repeated_failures", "new_patterns",
                   "ship_decision")  # the notebook's order

# The deliverables, in the order the self-check prints them.
DELIVERABLES = ("slices", "notes", "wandb", "hypothesis", "cases", "discussion")

# The notebook's sample hypothesis and sample cases, exactly as the notebook's cells hold them
# (tests/test_deliverables.py checks that the two never drift apart). "Still the sample" compares
# content with these, never a comment or a prefix.
SAMPLE_HYPOTHESIS = (
    "SAMPLE: The candidate does worse on emoji-heavy tweets than on the rest because its tokenizer turns nearly "
    "every emoji into one [UNK] token, so the sentiment the emoji carry never reaches the model.")
# The sample shown instead when the loaded candidate's tokenizer keeps emoji (or it has none): no tokenizer claim.
SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM = (
    "SAMPLE: The candidate does worse on emoji-heavy tweets than on the rest because the emoji carry most of "
    "their sentiment while its training taught it to read the words, so tweets whose words are flat or contradict "
    "the emoji get the wrong label.")

SAMPLE_CASES_TEXT = """
# SAMPLE (replace with your LLM's answer)
1. finally home after a 12 hour shift 😩😩😩 | negative
2. new kicks just arrived 😍🔥🔥 | positive
3. when the wifi dies mid-game 🙃🙃🙃 | negative
4. my sister got into med school!!! 🎉🎉😭❤️ | positive
5. train delayed again 😤😤 #commute | negative
6. coffee run before the 9am lecture ☕📚 | neutral
7. the match tonight 👀⚽ who's watching? | neutral
8. grandma's apple pie 🥧😋😋 | positive
9. another monday 🙄🙄💀 | negative
10. packing for the trip tomorrow 🧳✈️ | neutral
"""

_SAMPLE_PREFIX = "SAMPLE:"

# Step 7 settings of the generation flow (lab issue 13): which generator wrote the cases, and the
# student's label corrections. Notebooks without them report "unknown".
GENERATOR_VARIABLE = "GENERATOR"
LABEL_FIXES_VARIABLE = "LABEL_FIXES"

# The self-check's machine-readable record: its mime type and the layout version of its JSON.
RECORD_MIME = "application/vnd.lab4.self-check+json"
RECORD_SCHEMA = 1

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    """One deliverable's result.

    ``passed`` is True / False, or None when it can only be known by running the notebook (the TA
    summary of a cleared notebook). ``facts`` holds JSON-ready details (counts, names, texts).
    """

    passed: bool | None
    message: str
    facts: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- the rules

def is_todo(text) -> bool:
    """A text still marked as a placeholder: it starts with TODO (any case, after spaces).

    >>> is_todo("  todo: describe"), is_todo("Sarcasm flips it; TODO check n")
    (True, False)
    """
    return isinstance(text, str) and text.strip().upper().startswith("TODO")


def note_written(note) -> bool:
    """A slice note counts when it is a text, not TODO, with at least MIN_NOTE_WORDS words.

    >>> note_written("bad"), note_written("TODO"), note_written("Candidate misses negated praise.")
    (False, False, True)
    """
    return isinstance(note, str) and not is_todo(note) and len(note.split()) >= MIN_NOTE_WORDS


def answer_written(answer) -> bool:
    """A discussion answer counts when it is a non-empty text that does not start with TODO."""
    return isinstance(answer, str) and bool(answer.strip()) and not is_todo(answer)


@lru_cache(maxsize=1)
def shipped_slice_names() -> frozenset:
    """Names of the slices :func:`default_slices` ships."""
    return frozenset(default_slices())


def is_own_slice(name) -> bool:
    """A slice is the student's own unless it is a shipped one or named ``example_...``.

    >>> is_own_slice("sarcasm"), is_own_slice("has_url"), is_own_slice("example_question")
    (True, False, False)
    """
    return str(name) not in shipped_slice_names() and not str(name).startswith(EXAMPLE_PREFIX)


def _plain(text) -> str:
    return " ".join(str(text).split()).casefold()


def _without_sample_prefix(text: str) -> str:
    text = str(text).strip()
    return text[len(_SAMPLE_PREFIX):] if text.upper().startswith(_SAMPLE_PREFIX) else text


def hypothesis_is_sample(text) -> bool:
    """True when ``text`` is the notebook's sample hypothesis, with or without its ``SAMPLE:``
    prefix (spacing and case ignored).

    >>> hypothesis_is_sample(SAMPLE_HYPOTHESIS.removeprefix("SAMPLE: ").upper())
    True
    >>> hypothesis_is_sample("SAMPLE: the candidate misreads sarcasm")
    False
    """
    return (isinstance(text, str)
            and _plain(_without_sample_prefix(text)) in {_plain(_without_sample_prefix(sample)) for sample in
                                                          (SAMPLE_HYPOTHESIS, SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM)})


@lru_cache(maxsize=1)
def _sample_case_texts() -> frozenset:
    import warnings

    from .paste import parse_generated_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = parse_generated_cases(SAMPLE_CASES_TEXT, expected_n=None)
    return frozenset(map(_plain, cases["text"]))


def is_sample_case(text) -> bool:
    """True when a generated case's text is one of the notebook's sample cases (spacing and case
    ignored), whatever comment sits above it.

    >>> is_sample_case("another  Monday 🙄🙄💀"), is_sample_case("not bad at all")
    (True, False)
    """
    return _plain(text) in _sample_case_texts()


def _names(items, limit=8):
    items = list(items)
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


# ----------------------------------------------------------------------------- one judge per deliverable

def judge_slices(descriptions: Mapping[str, str | None] | None, *, replaced: Iterable[str] = (),
                 min_own: int = MIN_OWN_SLICES) -> Verdict:
    """At least ``min_own`` slices of the student's own (see :func:`is_own_slice`).

    ``descriptions`` maps every registered slice name to its description ("" for none, e.g. a
    lambda; None when unknown); ``replaced`` names shipped slices the student overwrote (they do
    not count as own). Own slices without a description are flagged, not failed.
    """
    if descriptions is None:
        return Verdict(False, "no `slices` registry found; run the Step 3 cells that build it")
    own = [name for name in descriptions if is_own_slice(name)]
    undescribed = [name for name in own if descriptions[name] == ""]
    replaced = list(replaced)
    flags = ""
    if undescribed:
        flags += (f"; {len(undescribed)} without a description: {_names(undescribed)} (write each as a "
                  'def with a docstring: def name(df): "what the slice holds"; return ...)')
    if replaced:
        flags += (f"; your {_names(replaced)} replaced the shipped slice of that name and does not "
                  "count as your own (rename it to keep both)")
    facts = {"own": own, "undescribed": undescribed, "replaced": replaced,
             "n_slices": len(descriptions), "required": min_own}
    n_shipped = len(shipped_slice_names())
    if len(own) >= min_own:
        return Verdict(True, f"{len(own)} of your own beyond the {n_shipped} shipped examples: "
                             f"{_names(own)}{flags}", facts)
    if not own:
        return Verdict(False, f"no slices of your own yet; add {min_own} with @lab.add_slice(slices) "
                              f"(names not starting with {EXAMPLE_PREFIX!r}){flags}", facts)
    return Verdict(False, f"{len(own)} of your own ({_names(own)}); need at least {min_own} beyond "
                          f"the shipped examples{flags}", facts)


def judge_notes(slice_names: Iterable[str] | None, notes: Mapping | None) -> Verdict:
    """Every slice has a written note (:func:`note_written`); notes naming no slice are reported."""
    if slice_names is None:
        return Verdict(False, "no `slices` registry found; run the Step 3 cells that build it")
    if not isinstance(notes, Mapping):
        return Verdict(False, "no `saved_slice_notes` dict found; run the Step 6 notes cell")
    names = list(slice_names)
    missing = [name for name in names if name not in notes]
    todo = [name for name in names if name in notes and is_todo(notes[name])]
    short = [name for name in names if name in notes and name not in todo
             and not note_written(notes[name])]
    unknown = [str(name) for name in notes if name not in set(names)]
    facts = {"done": len(names) - len(missing) - len(todo) - len(short), "total": len(names),
             "missing": missing, "todo": todo, "short": short, "not_slices": unknown,
             "notes": [[str(k), str(v)[:1000]] for k, v in notes.items()]}   # pairs keep the order
    extra = (f"{len(unknown)} notes name no slice: {_names(unknown)} (a typo, or a slice you "
             "removed?)") if unknown else ""
    if not names:
        return Verdict(False, "no slices to write notes for", facts)
    if not (missing or todo or short):
        return Verdict(True, f"all {len(names)} slices have a note" + (f"; {extra}" if extra else ""),
                       facts)
    parts = []
    if todo:
        parts.append(f"{len(todo)} slices still have TODO notes: {_names(todo)}")
    if missing:
        parts.append(f"{len(missing)} slices have no note: {_names(missing)}")
    if short:
        parts.append(f"{len(short)} notes are shorter than {MIN_NOTE_WORDS} words: {_names(short)}")
    if extra:
        parts.append(extra)
    return Verdict(False, "; ".join(parts), facts)


def judge_wandb(info, notes=None) -> Verdict:
    """The W&B run holds what the lab logs (:func:`lab4.tracking.check_logged` decides)."""
    if not isinstance(info, Mapping):
        return Verdict(False, "no W&B run logged (wandb_run_info is missing); run the W&B cell")
    passed, message = tracking.check_logged(dict(info), notes=notes)
    return Verdict(bool(passed), message, {"mode": info.get("mode")})


def judge_hypothesis(text) -> Verdict:
    """HYPOTHESIS is written: not empty, not TODO, not the sample (:func:`hypothesis_is_sample`)."""
    if not isinstance(text, str) or not text.strip():
        return Verdict(False, "HYPOTHESIS is empty; write one sentence about where the candidate "
                              "fails and why", {"text": None, "sample": False})
    facts = {"text": text.strip()[:1000], "sample": hypothesis_is_sample(text),
             "words": len(text.split())}
    if is_todo(text):
        return Verdict(False, "HYPOTHESIS still starts with TODO; write your own", facts)
    if facts["sample"]:
        return Verdict(False, "HYPOTHESIS is still our sample; write your own about the slice you "
                              "chose", facts)
    prefix = (f" (drop the {_SAMPLE_PREFIX} prefix)"
              if text.strip().upper().startswith(_SAMPLE_PREFIX) else "")
    return Verdict(True, f"written ({facts['words']} words){prefix}", facts)


def judge_cases(texts: Iterable[str] | None, labels: Iterable | None = None, *, scored: bool = True,
                scores: Mapping | None = None) -> Verdict:
    """At least MIN_GENERATED_CASES cases of the student's own (not :func:`is_sample_case`), scored,
    each with a valid expected label, every label expected at least once.

    ``texts``/``labels``: the scored cases (or, with ``scored=False``, the pasted ones: then only a
    too-short or sample paste can be judged, the rest needs running). ``scores``: correct counts per
    model, shown to TAs.
    """
    if texts is None:
        return Verdict(False, "no scored_cases table; run the Step 7 scoring cell")
    texts = [str(t) for t in texts]
    labels = list(labels) if labels is not None else [None] * len(texts)
    own = [(t, label) for t, label in zip(texts, labels) if not is_sample_case(t)]
    kept = len(texts) - len(own)
    facts = {"n": len(texts), "own": len(own), "sample": kept,
             "scores": dict(scores) if scores else None}
    also = f" (plus {kept} of our sample cases, not counted)" if kept and own else ""
    if not texts:
        return Verdict(False, "no generated cases; paste your LLM's answer into GENERATED_CASES_TEXT "
                              "and rerun scoring", facts)
    if not own:
        return Verdict(False, f"the cases are still our {kept} sample cases; paste your own "
                              "LLM-generated cases and rerun scoring", facts)
    if len(own) < MIN_GENERATED_CASES:
        return Verdict(False, f"{len(own)} cases of your own{also}; need at least "
                              f"{MIN_GENERATED_CASES}", facts)
    if not scored:
        return Verdict(None, f"{len(own)} cases of your own pasted{also}; scoring needs running",
                       facts)
    own_labels = [label for _, label in own]
    bad = sum(1 for label in own_labels if label not in LABELS)
    absent = [label for label in LABELS if label not in set(own_labels)]
    if bad or absent:
        why = [f"{bad} of your cases without a valid expected_label"] if bad else []
        why += [f"no case expects {_names(absent)}"] if absent else []
        return Verdict(False, "; ".join(why) + f" (labels: {', '.join(LABELS)})", facts)
    return Verdict(True, f"{len(own)} cases of your own scored, all {len(LABELS)} labels "
                         f"expected{also}", facts)


def judge_discussion(answers: Mapping | None) -> Verdict:
    """Every DISCUSSION_KEYS answer is written (:func:`answer_written`)."""
    if not isinstance(answers, Mapping):
        return Verdict(False, "no DISCUSSION_ANSWERS dict found; run the Step 7 discussion cell")
    todo = [key for key in DISCUSSION_KEYS if not answer_written(answers.get(key))]
    facts = {"done": len(DISCUSSION_KEYS) - len(todo), "total": len(DISCUSSION_KEYS), "todo": todo,
             "answers": {key: str(answers.get(key))[:2000] for key in DISCUSSION_KEYS
                         if answers.get(key) is not None}}
    if todo:
        return Verdict(False, f"{len(todo)} answers still TODO or empty: {_names(todo)}", facts)
    return Verdict(True, f"all {len(DISCUSSION_KEYS)} answered", facts)


# ----------------------------------------------------------------------------- live notebook variables



def _live_slices(ns, min_own):
    slices = ns.get("slices")
    if not isinstance(slices, Mapping):
        return judge_slices(None)
    replaced = [name for name in slices
                if name in shipped_slice_names() and not is_shipped_slice(name, slices[name])]
    return judge_slices({str(name): _describe(fn) for name, fn in slices.items()},
                        replaced=replaced, min_own=min_own)


def _live_notes(ns):
    slices = ns.get("slices")
    return judge_notes(list(slices) if isinstance(slices, Mapping) else None,
                       ns.get("saved_slice_notes"))


def _live_cases(ns):
    cases = ns.get("scored_cases")
    if not isinstance(cases, pd.DataFrame):
        return judge_cases(None)
    if not {"text", "expected_label"} <= set(cases.columns):
        return Verdict(False, "scored_cases needs 'text' and 'expected_label' columns; found "
                              f"{list(cases.columns)}; rerun the Step 7 scoring cell")
    expected = cases["expected_label"].astype(object)
    labelled = expected.isin(LABELS)
    scores = {"labelled": int(labelled.sum())}
    for model in ("baseline", "candidate"):
        if f"{model}_pred" in cases:
            scores[model] = int((cases[f"{model}_pred"].astype(object) == expected)[labelled].sum())
    return judge_cases(cases["text"], expected, scores=scores)


def _live_checks(ns, min_own):
    return {"slices": lambda: _live_slices(ns, min_own),
            "notes": lambda: _live_notes(ns),
            "wandb": lambda: judge_wandb(ns.get("wandb_run_info"), ns.get("saved_slice_notes")),
            "hypothesis": lambda: judge_hypothesis(ns.get("HYPOTHESIS")),
            "cases": lambda: _live_cases(ns),
            "discussion": lambda: judge_discussion(ns.get("DISCUSSION_ANSWERS"))}


def _run_facts(ns) -> dict:
    """What differs between students' runs: data, models, Step 7 generator, W&B mode, lab version."""
    from . import __version__

    tweets, models, info = ns.get("tweets"), ns.get("models"), ns.get("wandb_run_info")
    facts = {"lab_version": __version__, "cwd": os.getcwd(), "data": UNKNOWN, "n_tweets": UNKNOWN,
             "models": UNKNOWN, "generator": UNKNOWN, "labels_changed": UNKNOWN,
             "wandb_mode": UNKNOWN, "run_dir": None, "report": None, "overall": None}
    if isinstance(tweets, pd.DataFrame):
        facts["data"] = str(tweets.attrs.get("source", UNKNOWN))
        facts["n_tweets"] = len(tweets)
    if isinstance(models, Mapping):
        facts["models"] = {str(role): str(getattr(model, "model_id", model))
                           for role, model in models.items()}
    if GENERATOR_VARIABLE in ns:
        generator = ns[GENERATOR_VARIABLE]
        facts["generator"] = "none (copy-paste)" if generator is None else str(generator)
    if isinstance(ns.get(LABEL_FIXES_VARIABLE), Mapping):
        facts["labels_changed"] = len(ns[LABEL_FIXES_VARIABLE])
    if isinstance(info, Mapping):
        facts["wandb_mode"] = str(info.get("mode", UNKNOWN))
        facts["run_dir"] = info.get("run_dir")
        facts["report"] = info.get("report")
    overall = ns.get("overall")
    if isinstance(overall, pd.DataFrame) and {"model", "accuracy"} <= set(overall.columns):
        facts["overall"] = {str(row["model"]): {k: None if pd.isna(row[k]) else float(row[k])
                                                for k in ("accuracy", "macro_f1", "n") if k in row}
                            for row in overall.to_dict("records")}
    return facts


def _strings(value, depth=0):
    """The strings in a variable: itself, or inside a dict/list/tuple/set (two levels, 1000 items)."""
    if isinstance(value, str):
        yield value
    elif depth < 2 and isinstance(value, (dict, list, tuple, set, frozenset)):
        items = list(value.items()) if isinstance(value, dict) else list(value)
        for item in items[:1000]:
            for part in (item if isinstance(value, dict) else (item,)):
                yield from _strings(part, depth + 1)


def _find_api_keys(ns) -> list[dict]:
    """API keys in the notebook's variables and in the cells run so far (IPython's ``In``)."""
    from .keyscan import find_keys

    places = [(f"variable {name}", value) for name, value in ns.items()
              if not str(name).startswith("_") and name not in ("In", "Out")]
    history = ns.get("In")
    if isinstance(history, list):
        places += [(f"cell In[{number}]", source) for number, source in enumerate(history)]
    found, seen = [], set()
    for where, value in places:
        for text in _strings(value):
            for line, token, why in find_keys(text):
                if (where, token) not in seen:
                    seen.add((where, token))
                    found.append({"where": where, "line": line, "token": token, "why": why})
    return found


def _show(text: str, record: dict) -> None:
    """The lines for the student and the record for the TA summary, as one output."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(text)
        return
    display({"text/plain": text, RECORD_MIME: record}, raw=True)


def self_check(namespace, *, min_own_slices=MIN_OWN_SLICES):
    """Show one [PASS]/[FAIL] line per lab deliverable and a total; never raises.

    Call it as the last cell: ``lab.self_check(globals())``. It reads only the notebook variables
    it checks (however the helpers module was imported).

    Deliverables (names as printed): ``slices`` (at least ``min_own_slices`` of your own: not shipped
    by ``default_slices()``, not named ``example_...``; own slices without a description are
    flagged), ``notes`` (every slice has a ``saved_slice_notes`` entry that is not TODO and has
    MIN_NOTE_WORDS+ words; notes naming no slice are reported), ``wandb`` (what
    :func:`lab4.tracking.check_logged` finds in the run), ``hypothesis`` (HYPOTHESIS written, not TODO,
    not our sample with or without its prefix), ``cases`` (MIN_GENERATED_CASES+ scored cases of your
    own -- not our sample cases, whatever comment is above them -- each with a valid expected_label,
    every label expected at least once), ``discussion`` (every DISCUSSION_KEYS answer written).
    A ``[WARN] keys`` line names (masked) any API key found in a variable or a cell run so far.
    A check that crashes (e.g. a variable of the wrong type) is a FAIL that says why.

    In a notebook the lines come with a JSON record (mime type RECORD_MIME) of each verdict, its
    details and the run (data, models, W&B mode, lab version) for ``python -m lab4.tools summary``.

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
    verdicts, checks = {}, _live_checks(namespace, min_own_slices)
    for name in DELIVERABLES:
        try:
            if not isinstance(namespace, Mapping):
                raise TypeError(f"expected the notebook's globals() dict, got {type(namespace).__name__}")
            verdict = checks[name]()
        except Exception as error:     # noqa: BLE001 - the self-check itself must never crash
            verdict = Verdict(False, f"could not check ({type(error).__name__}: {error})")
        verdicts[name] = verdict
    lines = [f"[{'PASS' if v.passed else 'FAIL'}] {name}: {v.message}" for name, v in verdicts.items()]
    try:
        keys = _find_api_keys(namespace) if isinstance(namespace, Mapping) else []
        run = _run_facts(namespace) if isinstance(namespace, Mapping) else {}
    except Exception as error:     # noqa: BLE001
        keys, run = [], {"error": f"{type(error).__name__}: {error}"}
    for token, why in dict.fromkeys((k["token"], k["why"]) for k in keys):
        places = [f"{k['where']} (line {k['line']})" for k in keys if (k["token"], k["why"]) == (token, why)]
        lines.append(f"[WARN] keys: {token} looks like an API key ({why}), in {', '.join(places)}; "
                     "delete it, revoke it, and load keys from the environment instead")
    done = sum(bool(v.passed) for v in verdicts.values())
    if run.get("report") and Path(run["report"]).is_file():
        lines.append(f"Slice report: {run['report']} (open it in a browser to walk the TA through your slices)")
    lines.append(f"Self-check: {done}/{len(verdicts)} deliverables done")
    record = {"schema": RECORD_SCHEMA, "done": done, "total": len(verdicts),
              "deliverables": {name: {"passed": bool(v.passed), "message": v.message,
                                      "facts": v.facts} for name, v in verdicts.items()},
              "run": run, "keys": keys}
    _show("\n".join(lines), json.loads(json.dumps(record, default=_jsonable)))
    return [(name, bool(v.passed), v.message) for name, v in verdicts.items()]


def _jsonable(value):
    """numpy numbers and other odd values as plain JSON (the record must survive nbformat)."""
    if hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)
