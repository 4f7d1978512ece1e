"""The whole notebook, executed headless (papermill) offline, and read back like a TA would."""
import os
from pathlib import Path

import nbformat
import pytest

import lab4_helpers as lab
import lab4.keyscan
import lab4.tools.summary
import lab4.tools.__main__
ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {
    "df_long": {"text", "label", "model", "pred", "conf", "has_negation"},
    "slice_metrics": {"slice", "model", "n", "accuracy", "too_small"},
    "regression_metrics": {"slice", "n", "regressions", "fixes", "confident_regressions"},
    "df_eval": {"text", "label", "baseline_pred", "candidate_pred", "regressed", "improved", "both_wrong",
                "both_correct", "confident_regression"},
}
EXTRA = ("slice_stats", "discovered_slices", "ship_memo", "synthetic_tests", "synthetic_summary",
         "perturbation_tests", "slice_notes")


def _execute(workdir: Path, **parameters) -> nbformat.NotebookNode:
    import papermill

    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    out = workdir / "executed.ipynb"
    papermill.execute_notebook(str(ROOT / "lab4.ipynb"), str(out), parameters=parameters, cwd=str(workdir),
                               kernel_name="python3", progress_bar=False, log_output=False,
                               execution_timeout=600)
    return nbformat.read(out, as_version=4)


def _texts(nb):
    return "\n".join(t for cell in nb.cells if cell.cell_type == "code"
                     for o in cell.get("outputs", []) for _, t in lab4.keyscan._output_texts(o))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lab")
    nb = _execute(workdir, MAX_TWEETS=150, MODEL_SOURCE="offline", WANDB_MODE="offline", RUN_NAME="ci")
    return workdir, nb


def test_every_code_cell_ran_without_error(executed):
    _, nb = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    assert not [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]


def test_offline_wandb_run_holds_the_tables(executed):
    workdir, _ = executed
    [run_dir] = list((workdir / "wandb").glob("offline-run-*"))
    tables = lab.read_offline_tables(run_dir)
    for name, columns in REQUIRED.items():
        assert columns <= set(tables[name].columns), name
    assert len(tables["df_eval"]) == 150 and len(tables["df_long"]) == 300
    n_slices = len(tables["regression_metrics"])
    assert n_slices == 1 + len(lab.default_slices()) + 1  # all + shipped examples + the notebook's example
    assert len(tables["slice_metrics"]) == 2 * n_slices
    for name in EXTRA:
        assert name in tables and len(tables[name]) > 0, name


def test_outputs_show_each_step(executed):
    _, nb = executed
    text = _texts(nb)
    for marker in ("Data:", "Overall: baseline", "Overall: candidate", "W&B run: offline", "wandb sync",
                   "Self-check:", "[FAIL] notes"):
        assert marker in text, marker
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # slice accuracy and regressions plots, inline


def test_ta_summary_reads_the_executed_notebook(executed, capsys):
    workdir, _ = executed
    summary = lab4.tools.summary.summarize_notebook(workdir / "executed.ipynb")
    assert summary["problem"] is None
    assert lab4.tools.__main__.main(["summary", str(workdir / "executed.ipynb")]) == 0
    report = capsys.readouterr().out
    for part in ("Overall:", "W&B", "has_negation", "SAMPLE:", "Self-check"):
        assert part in report, part


def test_any_text_label_csv_runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("custom")
    rows = ["text,label"] + [f'"tweet number {i} is {w}",{l}' for i, (w, l) in enumerate(
        [("great", "Positive"), ("awful", "negative"), ("on at 5", "neutral")] * 14)]
    (workdir / "mine.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    nb = _execute(workdir, DATA_PATH="mine.csv", MODEL_SOURCE="offline", WANDB_MODE="disabled")
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert "42 rows: 42 to evaluate" in _texts(nb)
