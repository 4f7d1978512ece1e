"""The deliverable rules, the student's self-check, and slice registration -- as rules, and as cells
run in a real kernel."""

import ast
import json

import nbformat
import pandas as pd
import pytest

import lab4.deliverables as deliverables
import lab4.tracking
import lab4_helpers as lab
from labnotebooks import KEY, ROOT, Kernel, cell_index, errors, record, texts

OWN = ["sarcasm", "slang_heavy", "url_only", "two_emoji", "negated_positive"]

OWN_CASES = "\n".join(f"{i + 1}. own generated tweet number {i} | {lab.LABELS[i % 3]}" for i in range(10))


# ----------------------------------------------------------------------------- the sample, defined once

def _notebook_literal(variable, cell):
    nb = nbformat.read(ROOT / "lab4.ipynb", as_version=4)
    tree = ast.parse(nb.cells[cell_index(nb, cell)].source)
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == variable)


def test_notebook_sample_cells_are_the_package_constants():
    assert _notebook_literal("HYPOTHESIS", "hypothesis") == deliverables.SAMPLE_HYPOTHESIS
    assert _notebook_literal("GENERATED_CASES_TEXT", "cases") == deliverables.SAMPLE_CASES_TEXT


# ----------------------------------------------------------------------------- the rules

@pytest.mark.parametrize("rule, value, expected", [
    (deliverables.note_written, "Candidate misses negated praise.", True),
    (deliverables.note_written, "too short note", False),
    (deliverables.note_written, "TODO: the candidate misses negated praise", False),
    (deliverables.note_written, "  todo the candidate misses negated praise", False),
    (deliverables.note_written, None, False),
    (deliverables.answer_written, "Yes.", True),
    (deliverables.answer_written, "  ", False),
    (deliverables.answer_written, "TODO: Should the candidate ship?", False),
    (deliverables.is_own_slice, "sarcasm", True),
    (deliverables.is_own_slice, "has_url", False),                         # shipped
    (deliverables.is_own_slice, "example_question_with_negation", False),
    (deliverables.hypothesis_is_sample, deliverables.SAMPLE_HYPOTHESIS, True),
    (deliverables.hypothesis_is_sample, deliverables.SAMPLE_HYPOTHESIS.removeprefix("SAMPLE: "), True),
    (deliverables.hypothesis_is_sample, "  " + deliverables.SAMPLE_HYPOTHESIS.lower().replace(" ", "  "), True),
    (deliverables.hypothesis_is_sample, "SAMPLE: The candidate fails on sarcasm.", False),   # own, prefix kept
    (deliverables.is_sample_case, "another monday 🙄🙄💀", True),
    (deliverables.is_sample_case, "Another  Monday 🙄🙄💀", True),
    (deliverables.is_sample_case, "another monday 🙄", False),
])
def test_rule(rule, value, expected):
    assert rule(value) is expected


def _cases(text):
    parsed = lab.parse_generated_cases(text, expected_n=None)
    return list(parsed["text"]), list(parsed["expected_label"].astype(object))


SAMPLE_WITHOUT_COMMENT = deliverables.SAMPLE_CASES_TEXT.replace("# SAMPLE (replace with your LLM's answer)\n", "")


@pytest.mark.parametrize("pasted, scored, passed, fragment", [
    ("# SAMPLE (replace with your LLM's answer)\n" + OWN_CASES, True, True, "10 cases of your own scored"),
    (SAMPLE_WITHOUT_COMMENT, True, False, "still our 10 sample cases"),
    (deliverables.SAMPLE_CASES_TEXT, True, False, "still our 10 sample cases"),
    ("\n".join(OWN_CASES.splitlines()[:9]) + "\n" + "\n".join(SAMPLE_WITHOUT_COMMENT.splitlines()[:4]), True,
     False, "9 cases of your own (plus 3 of our sample cases, not counted); need at least 10"),
    (OWN_CASES.replace("| positive", "| neutral"), True, False, "no case expects positive"),
    (OWN_CASES, False, None, "scoring needs running"),
    (SAMPLE_WITHOUT_COMMENT, False, False, "still our 10 sample cases"),
])
def test_judge_cases(pasted, scored, passed, fragment):
    verdict = deliverables.judge_cases(*_cases(pasted), scored=scored)
    assert verdict.passed is passed and fragment in verdict.message


@pytest.mark.parametrize("notes, passed, fragments", [
    ({n: f"{n} shows a clear regression" for n in ["a", "b"]}, True, ["all 2 slices have a note"]),
    ({"a": "a shows a clear regression", "b": "TODO"}, False, ["1 slices still have TODO notes: b"]),
    ({"a": "a shows a clear regression"}, False, ["1 slices have no note: b"]),
    ({"a": "a shows a clear regression", "b": "fine"}, False, ["shorter than 4 words: b"]),
    ({"a": "a shows a clear regression", "b": "b shows a clear regression", "c": "c is my typo slice"},
     True, ["1 notes name no slice: c"]),
    ({"a": "a shows a clear regression", "bb": "b shows a clear regression"}, False,
     ["no note: b", "1 notes name no slice: bb"]),
])
def test_judge_notes(notes, passed, fragments):
    verdict = deliverables.judge_notes(["a", "b"], notes)
    assert verdict.passed is passed and all(f in verdict.message for f in fragments)
    assert verdict.facts["total"] == 2 and verdict.facts["done"] == sum(
        deliverables.note_written(notes.get(n)) for n in ["a", "b"])


def test_judge_slices_flags_and_replacements():
    shipped = {name: "shipped" for name in lab.default_slices()}
    verdict = deliverables.judge_slices({**shipped, **dict.fromkeys(OWN[:4], "mine"), "link_only": ""},
                                        replaced=["has_url"])
    assert verdict.passed and verdict.facts["own"] == OWN[:4] + ["link_only"]
    assert "1 without a description: link_only" in verdict.message and "your has_url replaced" in verdict.message
    assert not deliverables.judge_slices({**shipped, "example_x": "ex"}).passed


# ----------------------------------------------------------------------------- self_check on a namespace

def _slice(doc):
    def predicate(df):
        return df.has_url
    predicate.__doc__ = doc
    return predicate


@pytest.fixture(scope="module")
def run_info(tmp_path_factory):
    """A real offline W&B run holding the required tables and the complete namespace's notes."""
    ns = _complete_namespace(None)
    frame = pd.DataFrame({"text": ["a", "b"], "label": ["neutral", "positive"]})
    session = lab.start_wandb_run(project="lab4-tests", mode="offline",
                                  directory=tmp_path_factory.mktemp("wandb"))
    lab.log_to_wandb(session, {name: frame for name in lab4.tracking.WANDB_REQUIRED_TABLES})
    lab.log_to_wandb(session, {"slice_notes": lab.notes_table(ns["saved_slice_notes"], ns["slices"])})
    return lab.finish_wandb_run(session)


@pytest.fixture
def complete(run_info):
    return lambda: _complete_namespace(run_info)


def _complete_namespace(info):
    slices = lab.default_slices()
    slices.update({name: _slice(f"{name} tweets.") for name in OWN})
    cases = lab.parse_generated_cases(OWN_CASES, expected_n=None)
    scored = cases.assign(expected_label=cases["expected_label"].astype(object),
                          baseline_pred=cases["expected_label"].astype(object), candidate_pred="neutral")
    return {"slices": slices,
            "saved_slice_notes": {name: f"{name} shows the candidate regressing" for name in slices},
            "wandb_run_info": dict(info or {}),
            "HYPOTHESIS": "The candidate misreads negated praise.",
            "GENERATED_CASES_TEXT": OWN_CASES, "scored_cases": scored,
            "DISCUSSION_ANSWERS": {key: "A real answer." for key in deliverables.DISCUSSION_KEYS}}


def _set(**changes):
    def apply(ns):
        ns.update(changes)
    return apply


def _notes(value):
    def apply(ns):
        ns["saved_slice_notes"]["has_url"] = value
    return apply


@pytest.mark.parametrize("change, failing, fragment", [
    (lambda ns: None, None, ""),
    (_set(slices=lab.default_slices()), "slices", "no slices of your own yet"),
    (lambda ns: [ns["slices"].pop(n) for n in OWN[:2]], "slices", "3 of your own"),
    # a note changed after logging: W&B no longer holds the notes either (the wandb line says which)
    (_notes("TODO: describe"), ("notes", "wandb"), "1 slices still have TODO notes: has_url"),
    (_notes("bad"), ("notes", "wandb"), "shorter than"),
    (lambda ns: ns["saved_slice_notes"].pop("sarcasm"), ("notes", "wandb"), "no note: sarcasm"),
    (_set(wandb_run_info={"mode": "disabled", "tables": []}), "wandb", "'disabled'"),
    (lambda ns: ns.pop("wandb_run_info"), "wandb", "missing"),
    (_set(wandb_run_info={"mode": "online", "tables": ["df_eval"]}), "wandb", "df_long"),
    (_set(HYPOTHESIS=deliverables.SAMPLE_HYPOTHESIS.removeprefix("SAMPLE: ")), "hypothesis", "still our sample"),
    (_set(HYPOTHESIS="  "), "hypothesis", "empty"),
    (lambda ns: ns.update(scored_cases=ns["scored_cases"].head(6)), "cases", "6 cases of your own"),
    (lambda ns: ns.update(scored_cases=ns["scored_cases"].assign(expected_label="neutral")), "cases",
     "no case expects negative, positive"),
    (lambda ns: ns.pop("scored_cases"), "cases", "no scored_cases table"),
    (lambda ns: ns["DISCUSSION_ANSWERS"].update(ship_decision="TODO"), "discussion", "ship_decision"),
    (_set(wandb_run_info={"mode": "offline", "tables": 5}), "wandb", "could not read the W&B run back"),
    (_set(wandb_run_info=5), "wandb", ""),
])
def test_self_check(capsys, complete, change, failing, fragment):
    ns = complete()
    change(ns)
    results = lab.self_check(ns)
    out = capsys.readouterr().out.splitlines()
    assert [name for name, _, _ in results] == list(deliverables.DELIVERABLES)
    failing = (failing,) if isinstance(failing, str) else failing or ()
    assert [name for name, ok, _ in results if not ok] == list(failing)
    assert out[-1] == f"Self-check: {6 - len(failing)}/6 deliverables done"
    if failing:
        line = next(line for line in out if line.startswith(f"[FAIL] {failing[0]}:"))
        assert fragment in line


def test_self_check_never_raises(capsys, complete):
    results = lab.self_check({})
    assert [ok for _, ok, _ in results] == [False] * 6
    assert lab.self_check(None)[0][2].startswith("could not check (TypeError")
    assert "Self-check: 0/6 deliverables done" in capsys.readouterr().out


# ----------------------------------------------------------------------------- in a real kernel

@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with Kernel(tmp_path_factory.mktemp("kernel")) as k:
        setup = k.run("import pandas as pd\nimport lab4_helpers as lab\nslices = lab.default_slices()")
        assert not errors(setup), errors(setup)
        yield k


def _stderr(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")


REPLACE_SHIPPED = '''@lab.add_slice(slices)
def has_url(df):
    "Tweets with a link and words around it."
    return df.has_url & (df.n_words > 3)
'''


def test_add_slice_under_a_taken_name_warns_but_a_rerun_does_not(kernel):
    first = kernel.run(REPLACE_SHIPPED)
    assert "UserWarning: slice 'has_url' replaces the shipped slice 'has_url' (Tweets with a link.); rename " \
           "your function to keep both." in _stderr(first)
    assert _stderr(kernel.run(REPLACE_SHIPPED)) == ""                     # re-running the same cell
    lambda_then_def = kernel.run('slices["negated_question"] = lambda df: df.is_question & df.has_negation\n'
                                 "@lab.add_slice(slices)\ndef negated_question(df):\n"
                                 '    "Questions with a negation."\n    return df.is_question & df.has_negation\n')
    assert "replaces the slice defined as <lambda> 'negated_question'" in _stderr(lambda_then_def)


def test_add_slice_refuses_a_lambda(kernel):
    cell = kernel.run("lab.add_slice(slices)(lambda df: df.has_url)")
    [(ename, evalue)] = errors(cell)
    assert ename == "TypeError" and "@add_slice needs a named function, got '<lambda>'" in evalue
    assert "def negated_question(df):" in evalue and 'slices["negated_question"] = lambda df:' in evalue
    assert texts(kernel.run("'<lambda>' in slices")) == "False"


def test_self_check_in_a_kernel_with_helpers_imported_under_another_name(kernel, tmp_path):
    kernel.run("del lab")
    cell = kernel.run('import lab4_helpers as helpers\nslices = helpers.default_slices()\n'
                      'slices["link_only"] = lambda df: df.has_url & (df.n_words < 6)\n'
                      'saved_slice_notes = {"link_onyl": "the candidate does well on bare links"}\n'
                      "result = helpers.self_check(globals())")
    assert not errors(cell) and "could not check" not in texts(cell)
    [output] = cell.outputs                                   # one output: lines and record together
    assert output.output_type == "display_data"
    returned = json.loads(texts(kernel.run("import json; print(json.dumps(result))")))
    assert texts(cell).splitlines()[:6] == [f"[{'PASS' if ok else 'FAIL'}] {n}: {m}" for n, ok, m in returned]
    saved = record(cell)
    assert saved["deliverables"]["slices"]["facts"]["own"] == ["link_only"]
    assert saved["deliverables"]["slices"]["facts"]["undescribed"] == ["link_only"]
    assert "1 notes name no slice: link_onyl" in saved["deliverables"]["notes"]["message"]
    path = tmp_path / "saved.ipynb"                            # survives saving as Jupyter saves
    nb = nbformat.v4.new_notebook(cells=[cell])
    nbformat.write(nb, path)
    again = nbformat.read(path, as_version=4)
    nbformat.validate(again)
    assert record(again.cells[0]) == saved and texts(again.cells[0]) == texts(cell)
    kernel.run("import lab4_helpers as lab")


def test_self_check_warns_about_an_api_key_without_showing_it(kernel):
    kernel.run(f"my_key = {KEY!r}")
    cell = kernel.run("lab.self_check(globals());")
    shown = texts(cell)
    [warning] = [line for line in shown.splitlines() if line.startswith("[WARN] keys:")]
    assert warning.startswith(f"[WARN] keys: {KEY[:4]}… looks like an API key")
    assert "variable my_key (line 1)" in warning and "cell In[" in warning
    assert KEY not in json.dumps(cell.outputs)
    assert shown.splitlines()[-1].startswith("Self-check: ")
    kernel.run("del my_key")


WEAK_SLICE_SETUP = '''tweets = lab.add_slice_metadata(pd.DataFrame({
    "tweet_id": range(6), "label": ["negative", "positive", "neutral", "negative", "positive", "neutral"],
    "text": ["not good #fail", "love it", "ok then", "never again", "#tbt fun", "meh"]}))
preds = ["negative", "negative", "neutral", "positive", "positive", "neutral"]
df_long = pd.concat([tweets.assign(model="baseline", model_id="b", pred=tweets.label, conf=0.9),
                     tweets.assign(model="candidate", model_id="c", pred=preds, conf=0.8)])
slices = lab.default_slices()
slice_stats = lab.slice_stats(lab.build_eval_table(df_long), slices)
'''


def test_weakest_slice_reports_a_prefer_that_is_not_there(kernel):
    assert not errors(kernel.run(WEAK_SLICE_SETUP))
    typo = kernel.run('lab.weakest_slice(slice_stats, prefer="sarcsm")')
    [(ename, evalue)] = errors(typo)
    assert ename == "ValueError" and evalue.startswith("prefer='sarcsm' is not a slice in slice_stats; slices: ")
    assert "has_hashtag" in evalue and "prefer=None" in evalue
    empty = kernel.run('lab.weakest_slice(slice_stats, prefer="has_url")')   # a real slice, no tweets here
    assert "UserWarning: slice 'has_url' holds no tweets in this data" in _stderr(empty)
    chosen = kernel.run("lab.weakest_slice(slice_stats)")
    [result] = [o.data["text/plain"] for o in empty.outputs if o.output_type == "execute_result"]
    assert result == texts(chosen) != ""
