"""Lab notebooks for the tests.

Real ones: :class:`Kernel` runs cells in a real IPython kernel started by nbclient (as Jupyter does);
:func:`execute_lab` runs the real ``lab4.ipynb`` there (parameters injected as papermill does) and
:func:`rerun_edited` edits cells the way students do, re-runs them in the same kernel and returns the
notebook as Jupyter would save it. :func:`lab_notebook` is a small hand-built notebook with made-up
outputs, for the release tests only (its outputs prove nothing about what real cells print).
"""

import copy
import os
from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import lab4.deliverables
import lab4.keyscan
import lab4_helpers as lab

ROOT = Path(__file__).resolve().parents[1]

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
    """A small hand-built lab 4 notebook for the release tests; ``complete`` = deliverables done,
    ``executed`` = made-up outputs saved."""
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


# ----------------------------------------------------------------------------- a real kernel

def kernel_env():
    """The kernel's environment: this checkout importable, W&B offline and quiet, no hub."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", HF_HUB_OFFLINE="1")
    return env


class Kernel:
    """One IPython kernel, started by nbclient as Jupyter starts one, running cells on demand.

    ``run(source)`` runs a new cell and returns it with its outputs; ``run_cells(nb, indices)`` runs
    cells of a notebook in place and returns the index of the first cell that showed an error.
    """

    def __init__(self, workdir, timeout=600):
        from nbclient import NotebookClient

        self.scratch = new_notebook()
        self.client = NotebookClient(self.scratch, kernel_name="python3", timeout=timeout, allow_errors=True,
                                     resources={"metadata": {"path": str(workdir)}})

    def __enter__(self):
        self._context = self.client.setup_kernel(env=kernel_env())
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)

    def run(self, source):
        cell = new_code_cell(source)
        self.scratch.cells.append(cell)
        self.client.nb = self.scratch
        return self.client.execute_cell(cell, len(self.scratch.cells) - 1)

    def run_cells(self, nb, indices):
        self.client.nb = nb
        for index in indices:
            self.client.execute_cell(nb.cells[index], index)
            if errors(nb.cells[index]):
                return index
        return None


def texts(cell):
    """What a cell's outputs show as text in a notebook: streams, text/plain, error names and values.

    Consecutive outputs of one stream are shown as one, as Jupyter shows them: how the kernel's flushes split
    a cell's prints into messages depends on timing, not on what was printed.
    """
    shown, last_stream = [], None
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            text = lab4.keyscan._as_text(output.get("text", ""))
            if last_stream == output.get("name") and shown:
                shown[-1] += text
            else:
                shown.append(text)
            last_stream = output.get("name")
            continue
        last_stream = None
        if kind in ("display_data", "execute_result"):
            shown.append(lab4.keyscan._as_text(output.get("data", {}).get("text/plain", "")))
        elif kind == "error":
            shown.append(f"{output.get('ename')}: {output.get('evalue')}")
    return "\n".join(shown)


def errors(cell):
    return [(o["ename"], o["evalue"]) for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def record(cell):
    """The self-check's JSON record in a cell's outputs, or None."""
    return next((o["data"][lab4.deliverables.RECORD_MIME] for o in cell.get("outputs", [])
                 if lab4.deliverables.RECORD_MIME in o.get("data", {})), None)


# ----------------------------------------------------------------------------- the real lab notebook

# Cells of lab4.ipynb by id: the ones students edit and the ones the harness needs.
CELL_IDS = {"wandb": "a26ecfe4", "models": "9519c251", "slices": "37e7fb48", "notes": "95fba3c8",
            "hypothesis": "25226ac5", "cases": "0e322e1c", "discussion": "bd8ae36b", "self_check": "75b1b604",
            "fixes": "7b06bf5c"}


def cell_index(nb, name):
    return next(i for i, cell in enumerate(nb.cells) if cell.get("id") == CELL_IDS[name])


def execute_lab(kernel, **parameters):
    """Run the real lab4.ipynb top to bottom in ``kernel``, parameters injected as papermill injects them."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(ROOT / "lab4.ipynb")), parameters)
    failed = kernel.run_cells(nb, [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"])
    assert failed is None, f"the untouched notebook failed in cell {failed}: {errors(nb.cells[failed])}"
    return nb


def rerun_edited(kernel, executed, edits):
    """A copy of ``executed`` with cells edited (``{cell name: new source}``) and re-run in ``kernel`` top to
    bottom -- all but the slow model cell, whose outputs and variables stay -- stopping at the first error as
    "Run all" does (later cells then show no outputs). Variables of earlier variants are removed first."""
    nb = copy.deepcopy(executed)
    for name, source in edits.items():
        nb.cells[cell_index(nb, name)].source = source
    kernel.run("%reset_selective -f ^(?!(models|df_long)$)")
    skip = cell_index(nb, "models")
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and i != skip]
    failed = kernel.run_cells(nb, code)
    if failed is not None:
        for cell in nb.cells[failed + 1:]:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    return nb


def cleared(nb):
    """``nb`` as Jupyter's "Clear All Outputs" leaves it."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def replace_assignment(source, variable, new_value_source):
    """``source`` with the (possibly multi-line) literal assigned to ``variable`` replaced."""
    import ast

    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == variable)
    lines = source.splitlines(keepends=True)
    before = "".join(lines[:node.lineno - 1])
    after = "".join(lines[node.end_lineno:])
    return f"{before}{variable} = {new_value_source}\n{after}"
