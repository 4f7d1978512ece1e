"""The student's W&B path in a real kernel (nbclient): the notebook top to bottom with WANDB_DIR set, then
the notes cell and the ship-memo cell re-run after the last cell finished the run, then what W&B holds."""
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

import lab4_helpers as lab

ROOT = Path(__file__).resolve().parents[1]
NOTE = "Links hurt the candidate: 12 regressions, interval excludes zero."


def _index(nb, text):
    [index] = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source]
    return index


def _outputs(cell):
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            out.append(o.get("data", {}).get("text/plain", ""))
        elif o.output_type == "error":
            out.append(f"ERROR {o.ename}: {o.evalue}")
    return "".join(out)


@pytest.fixture(scope="module")
def rerun(tmp_path_factory):
    """Run the notebook (150 tweets, MODEL_SOURCE="auto", offline W&B, WANDB_DIR elsewhere), then, in the
    same kernel: edit a note and re-run the notes cell, re-run the ship memo cell, ask check_logged."""
    from nbclient import NotebookClient

    base = tmp_path_factory.mktemp("wandb_nb")
    work, runs, home = base / "work", base / "runs", base / "home"
    for folder in (work, home):
        folder.mkdir()
    nb = nbformat.read(ROOT / "lab4.ipynb", as_version=4)
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(params + 1, new_code_cell(
        'MAX_TWEETS = 150\nMODEL_SOURCE = "auto"\nWANDB_MODE = "offline"\nRUN_NAME = "ci"'))
    env = {**os.environ, "WANDB_DIR": str(runs), "HOME": str(home), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("WANDB_MODE", None)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}})
    notes_at, memo_at = _index(nb, "saved_slice_notes = {"), _index(nb, "ship_memo = lab.ship_memo(")
    finish_at = _index(nb, "lab.finish_wandb_run(")
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        first_finish = _outputs(nb.cells[finish_at])
        notes = nb.cells[notes_at]
        notes.source = notes.source.replace('"has_url": "TODO"', f'"has_url": {NOTE!r}')
        client.execute_cell(notes, notes_at)
        notes_out = _outputs(notes)
        client.execute_cell(nb.cells[memo_at], memo_at)
        memo_out = _outputs(nb.cells[memo_at])
        probe = new_code_cell("import json, lab4.tracking\n"
                              "print(json.dumps({'check': lab4.tracking.check_logged(wandb_run_info, notes=saved_slice_notes),"
                              " 'info': wandb_run_info, 'config': dict(wandb_session.run.config)}, default=str))")
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    return {"work": work, "runs": runs, "errors": errors, "first_finish": first_finish, "notes_out": notes_out,
            "memo_out": memo_out, **json.loads(_outputs(probe))}


def test_no_cell_fails_even_when_logging_after_the_finish(rerun):
    assert not rerun["errors"], rerun["errors"]


def test_the_run_goes_to_wandb_dir_and_the_sync_command_is_absolute(rerun):
    first = rerun["info"]["continues"][0]["run_dir"]
    assert Path(first).parent == rerun["runs"] / "wandb"
    assert f"Upload it later with: wandb sync {first}" in rerun["first_finish"]
    assert not (rerun["work"] / "wandb").exists()


def test_the_notes_cell_after_the_finish_says_where_it_logged(rerun):
    info = rerun["info"]
    [line] = [l for l in rerun["notes_out"].splitlines() if l.startswith("W&B: run")]
    assert info["continues"][0]["run_id"] in line and info["run_id"] in line and info["run_dir"] in line
    assert "W&B: run" not in rerun["memo_out"]  # the continued run stays open: no second new run


def test_wandb_holds_the_edited_notes_and_every_table(rerun):
    info = rerun["info"]
    passed, message = rerun["check"]
    assert passed, message
    tables = lab.read_offline_tables(info["run_dir"])
    notes = tables["slice_notes"].set_index("slice")["note"]
    assert notes["has_url"] == NOTE and notes["has_negation"] == "TODO"
    assert len(tables["df_eval"]) == 150 and len(tables["df_long"]) == 300
    assert {"ship_memo", "synthetic_tests", "perturbation_tests"} <= set(tables)
    old = lab.read_offline_tables(info["continues"][0]["run_dir"])["slice_notes"].set_index("slice")["note"]
    assert old["has_url"] == "TODO"  # the finished run keeps what it held; check_logged reads the new one


def test_the_config_says_what_ran_not_what_was_asked(rerun):
    config = rerun["config"]
    assert config["model_source"] == "offline"  # MODEL_SOURCE was "auto"; the hub is unreachable here
    assert config["baseline/kind"] == "vader" and config["continues_run"] == rerun["info"]["continues"][0]["run_id"]
