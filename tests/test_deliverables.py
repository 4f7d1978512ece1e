"""The student self-check: one line per deliverable."""

import types

import pytest

import lab4_helpers as lab
import lab4.deliverables
import lab4.keyscan
import lab4.tools.release
import lab4.tools.summary
import lab4.tracking
import lab4.tools.__main__
from labnotebooks import DEFAULTS, OWN, _cases_frame


# ----------------------------------------------------------------------------- self_check

FAKE_LAB = types.SimpleNamespace(default_slices=lambda: {name: None for name in DEFAULTS})


def complete_namespace():
    names = DEFAULTS + OWN
    return {"lab": FAKE_LAB, "slices": {name: None for name in names},
            "saved_slice_notes": {name: f"{name} shows the candidate regressing" for name in names},
            "wandb_run_info": {"mode": "offline", "tables": list(lab4.tracking.WANDB_REQUIRED_TABLES)},
            "HYPOTHESIS": "The candidate misreads negated praise.",
            "GENERATED_CASES_TEXT": "1. not bad at all -> positive", "scored_cases": _cases_frame(),
            "DISCUSSION_ANSWERS": {key: "A real answer." for key in lab4.deliverables.DISCUSSION_KEYS}}


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
