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
    found = lab4.keyscan.find_keys(text)
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
    done = subprocess.run([sys.executable, "-m", "lab4.tools", "release", "--check", "--source", "lab4.ipynb"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "placeholders (--source)" in done.stdout
    refused = subprocess.run([sys.executable, "-m", "lab4.tools", "release", "--check", "lab4.ipynb"], cwd=root,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "COURSE_REPO" in refused.stdout


def test_student_facade_never_imports_the_tools():
    import subprocess
    import sys
    from pathlib import Path
    code = "import sys, lab4_helpers; print(sorted(m for m in sys.modules if m.startswith('lab4.tools')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# ----------------------------------------------------------------------------- papermill

def _papermill(tmp_path, last_cell, params=("-p", "MAX_TWEETS", "300")):
    """Run the real papermill CLI on a tiny notebook with a `parameters` cell; return (input, output)."""
    import subprocess
    import sys
    from pathlib import Path
    from nbformat.v4 import new_code_cell, new_notebook

    parameters = new_code_cell("MAX_TWEETS = None\nSEED = 42")
    parameters.metadata.tags = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell("# Tiny lab"), parameters, new_code_cell(last_cell)])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, out = write(tmp_path, nb, "tiny.ipynb"), tmp_path / "tiny.executed.ipynb"
    papermill = Path(sys.executable).parent / "papermill"
    subprocess.run([str(papermill), str(source), str(out), *params, "-k", "python3",
                    "--no-progress-bar"], capture_output=True, text=True, timeout=120)
    return nbformat.read(source, as_version=4), out


@pytest.mark.parametrize("last_cell, banners", [("print(MAX_TWEETS)", 0),
                                                ("assert MAX_TWEETS is None, 'parameters changed'", 2)])
def test_release_removes_papermills_injected_parameters(tmp_path, capsys, last_cell, banners):
    original, path = _papermill(tmp_path, last_cell)
    executed = nbformat.read(path, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in executed.cells]
    assert ["injected-parameters"] in tags                                  # papermill wrote it
    assert tags.count(["papermill-error-cell-tag"]) == banners
    injected = f"injected-parameters cell {tags.index(['injected-parameters'])} (MAX_TWEETS = 300)"
    assert lab4.tools.__main__.main(["release", "--check", str(path)]) == 1
    assert injected in capsys.readouterr().out
    assert lab4.tools.__main__.main(["release", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{injected}, removed on release" in out
    assert ("error banner cell" in out) == bool(banners)
    released = nbformat.read(path, as_version=4)
    assert [(c.id, c.cell_type, c.source, c.metadata) for c in released.cells] == [
        (c.id, c.cell_type, c.source, c.metadata) for c in original.cells]   # students get None
    assert lab4.tools.__main__.main(["release", "--check", str(path)]) == 0


def test_injected_parameters_holding_a_key_are_refused_and_not_shown(tmp_path, capsys):
    _, path = _papermill(tmp_path, "print(MAX_TWEETS)", ("-p", "WANDB_API_KEY", LONG_KEY))
    before = path.read_bytes()
    assert lab4.tools.__main__.main(["release", "--check", str(path)]) == 1
    assert lab4.tools.__main__.main(["release", str(path)]) == 1
    assert path.read_bytes() == before
    out = capsys.readouterr()
    assert "WANDB_API_KEY = <key, not shown>" in out.out and "cell 2" in out.err
    assert LONG_KEY not in out.out + out.err


# ----------------------------------------------------------------------------- keys anywhere in the file

def _png():
    """A real PNG (matplotlib), base64 as Jupyter stores pictures."""
    import base64
    import io
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(range(10))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _b64(text):
    import base64
    return base64.b64encode(text.encode()).decode()


def _put(nb, where, secret):
    cell = nb.cells[0]
    if where == "attachment (base64 text)":
        cell.source += "\n![notes](attachment:notes.txt)"
        cell.attachments = {"notes.txt": {"text/plain": _b64(f"WANDB_API_KEY={secret}\n")}}
    elif where == "attachment (plain)":
        cell.attachments = {"notes.txt": {"text/plain": f"token: {secret}"}}
    elif where == "cell metadata":
        nb.cells[3].metadata["secrets"] = {"token": secret}
    elif where == "notebook metadata":
        nb.metadata["colab"] = {"name": "lab4.ipynb", "private_outputs": secret}
    elif where == "dict key":
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {secret: {}}}
    elif where == "binary output data":
        nb.cells[3].outputs.append(nbformat.v4.new_output(
            "display_data", data={"application/octet-stream": _b64(f"key {secret}")}))
    return nb


@pytest.mark.parametrize("where, shown", [
    ("attachment (base64 text)", "cell 0 (id {id!r}) attachment 'notes.txt' (text/plain) base64-decoded line 1"),
    ("attachment (plain)", "cell 0 (id {id!r}) attachment 'notes.txt' (text/plain) line 1"),
    ("cell metadata", "cell 3 (id {id!r}) metadata.secrets.token line 1"),
    ("notebook metadata", "notebook metadata.colab.private_outputs line 1"),
    ("dict key", "notebook metadata.widgets.application/vnd.jupyter.widget-state+json (a dict key)"),
    ("binary output data", "cell 3 (id {id!r}) output 1 data (application/octet-stream) base64-decoded"),
])
@pytest.mark.parametrize("secret", [KEY, "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"])
def test_keys_outside_sources_and_outputs_are_refused(tmp_path, capsys, where, shown, secret):
    nb = _put(lab_notebook(), where, secret)
    nb.cells[0].attachments = {**nb.cells[0].get("attachments", {}), "plot.png": {"image/png": _png()}}
    path = write(tmp_path, nb)
    before = path.read_bytes()
    assert lab4.tools.release.release_notebook(path, check=True) == 1
    assert lab4.tools.release.release_notebook(path) == 1
    assert path.read_bytes() == before
    out = capsys.readouterr()
    text = out.out + out.err
    cell_id = nbformat.read(path, as_version=4).cells[0 if "cell 0" in shown else 3].id
    assert shown.format(id=cell_id) in text and secret[:4] + "…" in text
    assert secret not in text and "already release-clean" not in text
    assert text.count("possible API key") == 1                   # the picture is no false alarm


def test_pictures_and_lab_outputs_are_no_false_alarm(tmp_path):
    nb = lab_notebook()
    nb.cells[0].attachments = {"plot.png": {"image/png": _png()}}
    nb.cells[3].outputs.append(nbformat.v4.new_output("display_data", data={"image/png": _png()}))
    assert lab4.keyscan.scan_notebook_json(nbformat.from_dict(nb)) == []
    path = write(tmp_path, nb)
    assert lab4.tools.release.release_notebook(path) == 0
    assert nbformat.read(path, as_version=4).cells[0].attachments["plot.png"]["image/png"]


# ----------------------------------------------------------------------------- Colab ids

def _colab_json(ids):
    """A notebook as Colab saves it: nbformat 4.0, ids in cell metadata, colab metadata, 2-space JSON."""
    import json
    cells = [{"cell_type": "markdown", "metadata": {"id": ids[0], "colab_type": "text"},
              "source": ["<a href=\"https://colab.research.google.com/github/uni/lab4/blob/main/"
                         "lab4.ipynb\" target=\"_parent\"><img src=\"https://colab.research.google.com/"
                         "assets/colab-badge.svg\" alt=\"Open In Colab\"/></a>"]},
             {"cell_type": "markdown", "source": ["# Lab 4"], "metadata": {"id": ids[1]}},
             {"cell_type": "code", "source": ["import lab4_helpers as lab\n", "print('ready')"],
              "metadata": {"id": ids[2], "colab": {"base_uri": "https://localhost:8080/"},
                           "outputId": "5c0a2b6e-1f3d-4c8e-9a7b-0d6e2f4a8c1b"},
              "execution_count": 1,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": ["ready\n"]}]},
             {"cell_type": "code", "source": ["x = 1"], "metadata": {"id": ids[3]},
              "execution_count": None, "outputs": []}]
    nb = {"nbformat": 4, "nbformat_minor": 0,
          "metadata": {"colab": {"provenance": [], "name": "lab4.ipynb"},
                       "kernelspec": {"name": "python3", "display_name": "Python 3"},
                       "language_info": {"name": "python"}},
          "cells": cells}
    return json.dumps(nb, indent=2, ensure_ascii=False)


COLAB_IDS = ["view-in-github", "Xq3e_Lb7Ta1W", "kP0-2vNc8dRs", "Hy6Gm9zQwE4u"]


def test_colab_saved_notebook_keeps_colabs_ids(tmp_path, capsys):
    first, second = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    for path in (first, second):
        path.write_text(_colab_json(COLAB_IDS), encoding="utf-8")
    assert lab4.tools.__main__.main(["release", "--check", str(first)]) == 1
    assert lab4.tools.__main__.main(["release", str(first)]) == 0
    assert "Colab's metadata.id in 4 cells, now their cell ids" in capsys.readouterr().out
    assert lab4.tools.__main__.main(["release", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()              # same ids, every release
    released = nbformat.read(first, as_version=4)
    assert released.nbformat_minor == 5
    assert [cell.id for cell in released.cells] == COLAB_IDS
    assert all(cell.metadata == {} for cell in released.cells)
    assert set(released.metadata) == {"kernelspec", "language_info"}
    assert lab4.tools.__main__.main(["release", "--check", str(first)]) == 0


def test_duplicated_colab_ids_are_repaired(tmp_path):
    # Splitting a Colab cell in Jupyter copies its metadata.id (googlecolab/colabtools#581).
    ids = COLAB_IDS[:3] + [COLAB_IDS[2]]
    path = tmp_path / "lab4.ipynb"
    path.write_text(_colab_json(ids), encoding="utf-8")
    assert lab4.tools.release.release_notebook(path) == 0
    released = [cell.id for cell in nbformat.read(path, as_version=4).cells]
    assert released[:3] == COLAB_IDS[:3] and released[3] not in released[:3]


def test_colab_round_trip_keeps_the_cell_ids_and_drops_metadata_id(tmp_path, capsys):
    nb = lab_notebook()
    ids = [cell.id for cell in nb.cells]
    nb.metadata.colab = {"provenance": []}
    for number, cell in enumerate(nb.cells):
        cell.metadata["id"] = ids[number] if number % 2 else f"colab{number:07d}"
        if cell.cell_type == "code":
            cell.metadata["colab"] = {"base_uri": "https://localhost:8080/"}
    path = write(tmp_path, nb)
    assert lab4.tools.__main__.main(["release", str(path)]) == 0
    assert f"Colab's metadata.id in {len(ids)} cells, dropped (the cell ids stay)" in capsys.readouterr().out
    released = nbformat.read(path, as_version=4)
    assert [cell.id for cell in released.cells] == ids
    assert all("id" not in cell.metadata and "colab" not in cell.metadata for cell in released.cells)


# ----------------------------------------------------------------------------- instructor settings

def _setup_cell(repo, ref):
    return ("%%capture\n"
            "# Instructor settings: fill these in before releasing the notebook.\n"
            f"COURSE_REPO = {repo}  # @param {{type:\"string\"}}\n"
            f"COURSE_REF{': str' if 'annotated' in ref else ''} = {ref.replace('annotated ', '')}\n"
            "!pip install -q \"git+${COURSE_REPO}@${COURSE_REF}\"")


REPO_PLACEHOLDER = '"<fill in: https://github.com/<org>/<repo>>"'
REF_PLACEHOLDER = "'<fill in: the tag or commit students get>'"


@pytest.mark.parametrize("repo, ref, unfilled", [
    (REPO_PLACEHOLDER, REF_PLACEHOLDER, ["COURSE_REPO", "COURSE_REF"]),
    ('"https://github.com/uni/lab4"', REF_PLACEHOLDER, ["COURSE_REF"]),
    ('"https://github.com/uni/lab4"', "annotated " + REF_PLACEHOLDER, ["COURSE_REF"]),
    (REPO_PLACEHOLDER, '"v2026.1"', ["COURSE_REPO"]),
    ('"https://github.com/uni/lab4"', '"v2026.1"', []),
])
def test_release_refuses_unfilled_course_settings(tmp_path, capsys, repo, ref, unfilled):
    nb = lab_notebook(executed=False)
    nb.cells.insert(1, nbformat.v4.new_code_cell(_setup_cell(repo, ref)))
    nb.cells.insert(1, new_markdown_cell(f"Set `COURSE_REPO = {REPO_PLACEHOLDER}` to your repository."))
    path = write(tmp_path, nb)
    before = path.read_bytes()
    expected = 1 if unfilled else 0
    assert lab4.tools.__main__.main(["release", "--check", str(path)]) == expected
    assert lab4.tools.__main__.main(["release", str(path)]) == expected
    assert path.read_bytes() == before
    out = capsys.readouterr()
    text = out.out + out.err
    for name in ("COURSE_REPO", "COURSE_REF"):
        assert (f"{name} is not filled in: cell 2" in text) == (name in unfilled)
        assert (f"set {name} there before releasing" in text) == (name in unfilled)
    assert ("line 3 still says '<fill in: https://github.com/<org>/<repo>>'" in text) == (
        "COURSE_REPO" in unfilled)


def test_commented_placeholder_is_not_an_assignment(tmp_path):
    nb = lab_notebook(executed=False)
    nb.cells.insert(1, nbformat.v4.new_code_cell(
        f"# COURSE_REPO = {REPO_PLACEHOLDER}\nCOURSE_REPO = 'https://github.com/uni/lab4'\n"
        "COURSE_REF = 'main'"))
    assert lab4.tools.release.release_notebook(write(tmp_path, nb), check=True) == 0
