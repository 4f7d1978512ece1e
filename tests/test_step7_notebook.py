"""Step 7 of the real notebook in a real Jupyter kernel: GENERATOR = "openai:stub-model" against the loopback
OpenAI-compatible stub (generate -> parse -> review -> label fixes -> score -> memo), the copy-paste flow
without a generator, re-runs, bad LABEL_FIXES; and the whole notebook under papermill with the course's
precomputed-column CSV and no hub (issue 12): it reaches the end."""
import json
import os
from pathlib import Path

import nbformat
import pytest
from kernel import CellError, LabKernel
from openai_stub import serve

from lab4.stress import GENERATED_MIMETYPE

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-notebook-0123456789"
STUB_TWEETS = [  # labels as an LLM might give them; case 3 is plainly mislabelled; none is one of our samples
    ("two buses cancelled before my exam 😩😩😩 so tired", "negative"), ("got the concert tickets 😍🔥🔥", "positive"),
    ("I hate this so much, worst day ever 😡😡", "positive"), ("library opens at 8 tomorrow 📚⏰", "neutral"),
    ("phone screen cracked again 😤😤 #mondays", "negative"), ("mum's lasagna tonight 🍝😋😋 love it", "positive"),
    ("flight lands at 6pm ✈️🧳", "neutral"), ("group project meeting moved again 🙄💀", "negative"),
    ("my brother passed his driving test!!! 🎉🚗❤️", "positive"), ("derby kicks off at 3 👀⚽ anyone watching?", "neutral"),
]
ANSWER = "Sure! Here are 10 tweets:\n\n" + "\n".join(f"{i}. {t} | {y}" for i, (t, y) in enumerate(STUB_TWEETS, 1))
SECOND = "\n".join(f"{i}. another tweet number {i} 😀 | neutral" for i in range(1, 11))
STEPS_1_TO_6 = ("import lab4_helpers as lab", "tweets, dropped = lab.load_tweets", "tweets = lab.add_slice_metadata",
                "def example_question_with_negation", "models = lab.load_models", "df_eval = lab.build_eval_table",
                "slice_stats = lab.slice_stats", "suspects = lab.suspect_labels")
STEP_7 = ("WEAK_SLICE = lab.weakest_slice", "GENERATED_CASES_TEXT = \"\"\"", "review = lab.review_cases",
          "LABEL_FIXES = {}", "scored_cases, synthetic_summary", "perturbation_results, perturbation_examples",
          "ship_memo = lab.ship_memo")


@pytest.fixture(scope="module")
def stub():
    with serve({"ten": ANSWER, "second": SECOND}) as server:
        yield server


@pytest.fixture(scope="module")
def kernel(tmp_path_factory, stub):
    pytest.importorskip("transformers")
    from tiny_classifier import build_tiny_classifier

    folder = build_tiny_classifier(tmp_path_factory.mktemp("candidate") / "clf")
    with pytest.MonkeyPatch.context() as mp:  # the kernel's environment, as a student would set it
        mp.setenv("OPENAI_BASE_URL", stub.url)
        mp.setenv("OPENAI_API_KEY", KEY)
        k = LabKernel(tmp_path_factory.mktemp("step7"))
    k.run_cells("DATA_PATH = None")
    k.run(f'MAX_TWEETS = 150\nMODEL_SOURCE = "offline"\nBASELINE = "vader"\nCANDIDATE = {str(folder)!r}\n'
          'WANDB_MODE = "disabled"\n')
    k.run_cells(*STEPS_1_TO_6)
    yield k
    k.close()


def _outputs(kernel, code):
    """(mimebundles of display/execute results, stream text) of running ``code``; CellError on an error."""
    bundles, streams, errors = [], [], []

    def collect(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind in ("display_data", "execute_result"):
            bundles.append(content["data"])
        elif kind == "stream":
            streams.append(content["text"])
        elif kind == "error":
            errors.append((content["ename"], content["evalue"]))

    kernel.client.execute_interactive(code, timeout=600, output_hook=collect, allow_stdin=False)
    if errors:
        raise CellError(*errors[0])
    return bundles, "".join(streams)


def _value(kernel, expression):
    return json.loads(kernel.run(f"import json as _j; print(_j.dumps({expression}))"))


def test_copy_paste_flow_is_unchanged_without_a_generator(kernel, stub):
    kernel.run("GENERATOR = None")
    bundles, _ = _outputs(kernel, kernel.cell(STEP_7[0]) + "\n" + kernel.cell(STEP_7[1]))
    assert stub.requests == []  # nothing was asked of any LLM
    record = next(b[GENERATED_MIMETYPE] for b in bundles if GENERATED_MIMETYPE in b)
    assert (record["generator"], record["model"], record["source"]) == ("pasted", None, "paste")
    assert record["text"].lstrip().startswith("# SAMPLE")
    assert _value(kernel, "[GENERATED_BY, len(cases), GENERATED_CASES_TEXT.lstrip()[:8]]") == ["pasted", 10, "# SAMPLE"]
    kernel.run_cells(*STEP_7[2:5])
    assert _value(kernel, "scored_cases['expected_label'].tolist()")[:3] == ["negative", "positive", "negative"]


def test_generator_chain_in_the_notebook(kernel, stub):
    kernel.run('GENERATOR = "openai:stub-model"')
    bundles, _ = _outputs(kernel, kernel.cell(STEP_7[0]) + "\n" + kernel.cell(STEP_7[1]))
    (request,) = stub.requests
    assert request["auth"] == f"Bearer {KEY}"  # the key came from the kernel's environment
    assert request["body"]["model"] == "stub-model"
    assert request["body"]["messages"][0]["content"] == kernel.run("print(prompt)").rstrip("\n")
    record = next(b[GENERATED_MIMETYPE] for b in bundles if GENERATED_MIMETYPE in b)
    assert record == {"generator": "openai:stub-model", "model": "stub-model", "source": "openai", "cached": False,
                      "text": ANSWER}
    plain = "\n".join(b.get("text/plain", "") for b in bundles)
    assert "Generated by stub-model (openai)" in plain and STUB_TWEETS[2][0] in plain
    assert _value(kernel, "[GENERATED_BY, GENERATED_CASES_TEXT == " + repr(ANSWER) + ", cases['text'].tolist()]") == [
        "openai:stub-model", True, [t for t, _ in STUB_TWEETS]]
    # review: case 3 ("I hate this so much ...", labelled positive) is flagged when both models say otherwise
    review = _value(kernel, "review.reset_index().astype(str).to_dict('records')")
    assert [r["case"] for r in review] == [str(i) for i in range(1, 11)]
    agree = [r for r in review if r["baseline_pred"] == r["candidate_pred"] != r["llm_label"]]
    assert agree and all(r["check"].startswith(f"check this label: both models say {r['baseline_pred']}") for r in agree)
    # the student fixes case 3; scoring uses the fixed label and the summary counts it
    kernel.run(kernel.cell(STEP_7[3]).replace("LABEL_FIXES = {}", 'LABEL_FIXES = {3: "negative"}'))
    kernel.run_cells(*STEP_7[4:])
    assert _value(kernel, "scored_cases.loc[3, ['llm_label', 'expected_label']].tolist()") == ["positive", "negative"]
    assert _value(kernel, "synthetic_summary['labels_changed'].tolist()") == [1, 1]
    assert _value(kernel, "int(synthetic_summary['n_cases'].iloc[0])") == 10
    assert "stress test failure rate" in _value(kernel, "ship_memo['item'].tolist()")
    names = _value(kernel, "perturbation_results['test'].unique().tolist()")
    assert {"change_name", "change_place"} <= set(names)
    out = kernel.run("lab.self_check(globals());")
    assert "[PASS] cases: 10 cases of your own scored" in out, [line for line in out.splitlines() if "cases" in line]


def test_rerunning_the_generation_cell_keeps_the_cases(kernel, stub):
    kernel.run('GENERATOR = "openai:stub-model"')
    stub.mode = "second"  # the endpoint would now write other tweets
    before = len(stub.requests)
    out = kernel.run_cells(STEP_7[1])
    assert len(stub.requests) == before and "reused from the cache" in out
    assert _value(kernel, "GENERATED_CASES_TEXT == " + repr(ANSWER)) is True
    kernel.run_cells(*STEP_7[2:5])  # the label fixes still point at the same tweets
    assert _value(kernel, "scored_cases.loc[3, 'text']") == STUB_TWEETS[2][0]
    stub.mode = "ten"


def test_a_failing_generator_falls_back_to_the_paste(kernel, stub):
    kernel.run('GENERATOR = "openai:stub-model"\nSEED_BEFORE = SEED\nSEED = 123')  # a new seed: not cached
    stub.mode = "500"
    try:
        out = kernel.run_cells(STEP_7[1])
    finally:
        stub.mode = "ten"
        kernel.run("SEED = SEED_BEFORE")
    assert "HTTP 500" in out and "Parsing the pasted GENERATED_CASES_TEXT instead" in out
    assert _value(kernel, "GENERATED_BY") == "pasted"


@pytest.mark.parametrize("fixes, message", [
    ("{11: 'negative'}", "case 11 does not exist; the review table numbers them 1-10"),
    ("{3: 'negatve'}", "LABEL_FIXES[3] = 'negatve' is not a label"),
    ("{'3': 'negative'}", "write {3: ...} without quotes"),
])
def test_bad_label_fixes_stop_with_a_clear_error(kernel, fixes, message):
    kernel.run_cells(STEP_7[1])
    with pytest.raises(CellError) as err:
        kernel.run(kernel.cell(STEP_7[3]).replace("LABEL_FIXES = {}", f"LABEL_FIXES = {fixes}"))
    assert err.value.ename == "ValueError" and message in err.value.evalue


# ------------------------------------------------------------------------------------------------------------
# The whole notebook with precomputed columns and no hub (issue 12)
# ------------------------------------------------------------------------------------------------------------

def _precomputed_csv(path):
    words = [("love this 😍 #happy", "positive"), ("not good at all @user", "negative"), ("bus at 9 http://t.co/x", "neutral"),
             ("Sarah in London, so great!", "positive"), ("why is it late again?", "negative"), ("meh 😐😐", "neutral")]
    rows = ["text,label,roberta,gpt2"]
    for i in range(60):
        text, label = words[i % len(words)]
        roberta = label if i % 4 else "neutral"
        gpt2 = label if i % 3 else "negative"
        rows.append(f'"tweet {i}: {text}",{label},{roberta},{gpt2}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_precomputed_columns_without_hub_run_to_the_end(tmp_path):
    import papermill

    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # conftest: the hub does not answer
    csv = _precomputed_csv(tmp_path / "course.csv")
    out = tmp_path / "executed.ipynb"
    env = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", env)
        papermill.execute_notebook(str(ROOT / "lab4.ipynb"), str(out), cwd=str(tmp_path), kernel_name="python3",
                                   progress_bar=False, log_output=False, execution_timeout=600,
                                   parameters={"DATA_PATH": str(csv), "BASELINE": "precomputed:roberta",
                                               "CANDIDATE": "precomputed:gpt2", "WANDB_MODE": "offline"})
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)  # every cell ran, the last one included
    assert not [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    text = "\n".join(o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
                     for c in code for o in c.get("outputs", []))
    assert "baseline is precomputed:roberta" in text and "Its scores on new tweets are skipped" in text
    assert "needs the Hugging Face hub, which does not answer" in text and "the notebook goes on" in text
    assert "Self-check:" in text
    records = [o["data"][GENERATED_MIMETYPE] for c in code for o in c.get("outputs", [])
               if GENERATED_MIMETYPE in o.get("data", {})]
    assert len(records) == 1 and records[0]["generator"] == "pasted"  # saved as JSON, readable without running
