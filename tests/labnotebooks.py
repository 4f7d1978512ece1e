"""Lab notebooks written as Jupyter saves them, for the release, self-check and summary tests."""

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import lab4.deliverables
import lab4_helpers as lab

KEY = "0123456789abcdef0123456789abcdef01234567"          # 40 hex, looks like a W&B key
SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"          # 40 hex, a git commit
LONG_KEY = "Abc_def-" * 6                                 # 48 chars, a non-hex key
DEFAULTS = [f"example_{i}" for i in range(12)]
OWN = ["sarcasm", "slang_heavy", "url_only", "two_emoji", "negated_positive"]


# ----------------------------------------------------------------------------- notebook builders

def _slices_source(names):
    functions = "".join(f'\n@lab.add_slice(slices)\ndef {n}(df):\n    """{n}."""\n'
                        f'    return df.n_words > 3\n' for n in names)
    return "slices = lab.default_slices()\n" + functions + "print(lab.describe_slices(slices))"


def _cases_frame(n=12):
    labels = [lab.LABELS[i % 3] for i in range(n)]
    return pd.DataFrame({"text": [f"generated tweet number {i}" for i in range(n)],
                         "expected_label": labels, "baseline_pred": labels,
                         "candidate_pred": ["neutral"] * n})


def lab_notebook(complete=True, executed=True):
    """A small lab 4 notebook; ``complete`` = deliverables done, ``executed`` = outputs saved."""
    notes = {n: (f"{n} regresses on sarcasm, candidate misses it" if complete else "TODO: note")
             for n in DEFAULTS + OWN}
    answers = {k: ("Because the slice shows it clearly." if complete else "TODO")
               for k in lab4.deliverables.DISCUSSION_KEYS}
    hypothesis = "Candidate fails on negated praise." if complete else "SAMPLE: fails on emoji"
    cases = "1. great, not! -> negative" if complete else "# SAMPLE\n1. love it -> positive"
    cells = [
        new_markdown_cell("# Lab 4: slicing"),
        new_code_cell("%matplotlib inline\nimport lab4_helpers as lab"),
        new_code_cell(_slices_source(OWN if complete else [])),
        new_code_cell("lab.headline(df_eval)"),
        new_code_cell("wandb_run_info = lab.log_to_wandb(df_eval, mode='offline')"),
        new_code_cell(f"saved_slice_notes = {notes!r}\n"
                      'saved_slice_notes["sarcasm"] = "Sarcasm flips the label for candidate."'),
        new_code_cell(f"HYPOTHESIS = {hypothesis!r}"),
        new_code_cell(f'GENERATED_CASES_TEXT = """{cases}"""'),
        new_code_cell("scored_cases = lab.score_cases(GENERATED_CASES_TEXT)\nscored_cases"),
        new_code_cell(f"DISCUSSION_ANSWERS = {answers!r}"),
        new_code_cell("lab.self_check(globals());"),
    ]
    if executed:
        frame = _cases_frame()
        outputs = {
            3: new_output("stream", name="stdout", text="Overall: baseline 0.712, candidate "
                          "0.734 (n=2000)\n"),
            4: new_output("stream", name="stdout", text="W&B run: offline run lab4-abc12 "
                          "(4 tables)\n"),
            8: new_output("execute_result", execution_count=9,
                          data={"text/plain": repr(frame), "text/html": frame.to_html()}),
            10: new_output("stream", name="stdout", text="[PASS] slices: 5 of your own\n"
                           "[FAIL] notes: 3 slices still have TODO notes: a\n"
                           "Self-check: 5/6 deliverables done\n"),
        }
        for index, output in outputs.items():
            cells[index].outputs = [output]
            cells[index].execution_count = index
    nb = new_notebook(cells=cells)
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.language_info = {"name": "python", "version": "3.11.7"}
    return nb


def write(tmp_path, nb, name="lab4.ipynb"):
    path = tmp_path / name
    nbformat.write(nb, path)
    return path
