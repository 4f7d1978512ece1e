"""Instructor release: the key rule and the release-clean check."""


import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_output

import lab4.deliverables
import lab4.keyscan
import lab4.tools.release
import lab4.tools.summary
import lab4.tracking
import lab4.tools.__main__
from labnotebooks import KEY, LONG_KEY, SHA, lab_notebook, write


# ----------------------------------------------------------------------------- key rule

@pytest.mark.parametrize("text, is_key", [
    (f'wandb.login(key="{KEY}")', True),
    (f"os.environ['WANDB_API_KEY'] = '{LONG_KEY}'", True),
    (f"%env WANDB_API_KEY={LONG_KEY}", True),
    (f'config = {{"api_key": "{LONG_KEY}"}}', True),
    (f"local-{KEY}", True),
    (f"key = '{KEY}'", True),
    (f"{KEY}\n", True),                                          # print(key) output
    (f"commit {SHA}", False),
    (f"Commit: {SHA}", False),
    (f'GIT_COMMIT = "{SHA}"', False),
    (f"https://github.com/uni/lab4/commit/{SHA}", False),
    (f"pip install git+https://github.com/uni/lab4@{SHA}", False),
    ("wandb.login(key=os.environ['WANDB_API_KEY'])", False),
    (f"tweet_id {KEY[:39]}", False),                             # 39 hex: too short
    (f"x{KEY}", False),                                          # 41 chars, not hex
])
def test_key_rule(text, is_key):
    found = lab4.keyscan._find_keys(text)
    assert bool(found) == is_key
    assert all(KEY not in str(f) and LONG_KEY not in str(f) for f in found)


# ----------------------------------------------------------------------------- release

def _plant(nb, where, secret):
    cell = nb.cells[3]
    if where == "source":
        cell.source += f"\nwandb.login(key='{secret}')"
    elif where == "stream output":
        cell.outputs = [new_output("stream", name="stdout", text=f"key is\n{secret}\n")]
    elif where == "error traceback":
        cell.outputs = [new_output("error", ename="CommError", evalue="bad key",
                                   traceback=[f"\x1b[0;31mCommError\x1b[0m: {secret}"])]
    elif where == "data":
        cell.outputs = [new_output("display_data", data={"text/plain": f"key={secret}"})]
    return nb


@pytest.mark.parametrize("where, secret", [
    ("source", KEY), ("stream output", KEY), ("error traceback", KEY), ("data", KEY),
    ("source", f"local-{KEY}"), ("stream output", f"local-{KEY}"),
])
def test_release_refuses_a_key(tmp_path, capsys, where, secret):
    path = write(tmp_path, _plant(lab_notebook(), where, secret))
    before = path.read_bytes()
    assert lab4.tools.release.release_notebook(path) == 1
    assert lab4.tools.release.release_notebook(path, check=True) == 1
    assert path.read_bytes() == before
    out = capsys.readouterr()
    text = out.out + out.err
    cell_id = nbformat.read(path, as_version=4).cells[3].id
    assert f"cell 3 (id {cell_id!r}) " in text and where in text and secret[:4] + "…" in text
    assert KEY not in text


def test_release_refuses_wandb_api_key_env(tmp_path, capsys):
    nb = lab_notebook(executed=False)
    nb.cells[1].source += f"\nos.environ['WANDB_API_KEY'] = '{LONG_KEY}'"
    path = write(tmp_path, nb)
    assert lab4.tools.__main__.main(["release", str(path)]) == 1
    err = capsys.readouterr().err
    assert "cell 1" in err and "source line 3" in err and LONG_KEY not in err


@pytest.mark.parametrize("text", [f"commit {SHA}", f"see https://github.com/uni/lab4/tree/{SHA}"])
def test_release_accepts_git_shas(tmp_path, text):
    nb = lab_notebook()
    nb.cells.insert(1, new_markdown_cell(text))
    nb.cells[4].outputs.append(new_output("stream", name="stdout", text=text))
    path = write(tmp_path, nb)
    assert lab4.tools.release.release_notebook(path) == 0
    assert SHA in path.read_text()


def _volatile(nb):
    nb.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata.colab = {"provenance": []}
    nb.metadata.papermill = {"duration": 3.2}
    cell = nb.cells[3]
    cell.metadata.update({"collapsed": True, "scrolled": True, "tags": ["keep-me"],
                          "ExecuteTime": {"end_time": "2024-01-01"},
                          "execution": {"iopub.status.idle": "2024-01-01"}})
    del nb.cells[5]["id"]
    return nb


@pytest.mark.parametrize("name, build, clean_before", [
    ("clean", lambda: lab_notebook(executed=False), True),
    ("with outputs", lambda: lab_notebook(), False),
    ("volatile metadata and a missing id", lambda: _volatile(lab_notebook()), False),
])
def test_release_and_check(tmp_path, capsys, name, build, clean_before):
    nb = build()
    path = tmp_path / "lab4.ipynb"
    path.write_text(nbformat.v4.writes(nb) + "\n")    # no validation: keeps the missing id
    before = path.read_bytes()
    assert lab4.tools.__main__.main(["release", "--check", str(path)]) == (0 if clean_before else 1)
    assert path.read_bytes() == before                # --check changes nothing
    assert lab4.tools.__main__.main(["release", str(path)]) == 0
    first = path.read_bytes()
    assert lab4.tools.__main__.main(["release", str(path)]) == 0
    assert path.read_bytes() == first                 # idempotent, byte for byte
    assert lab4.tools.__main__.main(["release", "--check", str(path)]) == 0
    released = nbformat.read(path, as_version=4)
    assert set(released.metadata) == {"kernelspec", "language_info"}
    for old, new in zip(nb.cells, released.cells):
        assert new.source == old.source
        assert new.id == old.get("id", new.id) and new.id
        if new.cell_type == "code":
            assert new.outputs == [] and new.execution_count is None
    assert released.cells[3].metadata == ({"tags": ["keep-me"]} if "volatile" in name else {})
    assert len({c.id for c in released.cells}) == len(released.cells)
    out = capsys.readouterr().out
    assert ("not release-clean" in out) != clean_before
    assert ("missing or duplicate cell ids" in out) == ("missing id" in name)


def test_release_unreadable_file(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [')
    assert lab4.tools.__main__.main(["release", str(path)]) == 2
    assert lab4.tools.__main__.main(["release", "--check", str(path)]) == 2


def test_old_command_spelling_prints_the_new_one():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "lab4_helpers.py", "release", "--check", "lab4.ipynb"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "python -m lab4.tools release --check lab4.ipynb" in done.stderr


def test_tools_entry_point_runs_from_the_repository():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "lab4.tools", "release", "--check", "lab4.ipynb"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_student_facade_never_imports_the_tools():
    import subprocess
    import sys
    from pathlib import Path
    code = "import sys, lab4_helpers; print(sorted(m for m in sys.modules if m.startswith('lab4.tools')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
