"""The Colab path of Step 1, in a real kernel: google.colab stubbed, the course repository a local file:// clone."""
import os
import subprocess
from pathlib import Path

import pytest

from kernel import LabKernel

ROOT = Path(__file__).resolve().parents[1]


def _git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def course_repo(tmp_path_factory):
    """A bare copy of this repository's committed HEAD, tagged like an instructor's release."""
    bare = tmp_path_factory.mktemp("remote") / "lab4.git"
    _git("clone", "--quiet", "--bare", str(ROOT), str(bare))
    _git("tag", "lab4-release", "HEAD", cwd=bare)
    return bare


@pytest.fixture
def colab_kernel(tmp_path):
    """A kernel in an empty folder where the lab is NOT importable, with a stub google.colab package."""
    stub = tmp_path / "stub" / "google" / "colab"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text("")
    (stub / "__init__.py").write_text('"""Stand-in for Colab\'s module: only its presence matters here."""\n')
    content = tmp_path / "content"
    content.mkdir()
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(tmp_path / "stub")      # the lab itself must not be on the path
    try:
        kernel = LabKernel.__new__(LabKernel)
        from jupyter_client.manager import start_new_kernel
        kernel.manager, kernel.client = start_new_kernel(kernel_name="python3", cwd=str(content),
                                                         env=dict(os.environ, PYTHONPATH=str(tmp_path / "stub")))
        import nbformat
        kernel.nb = nbformat.read(ROOT / "lab4.ipynb", as_version=4)
        kernel.code = [c for c in kernel.nb.cells if c.cell_type == "code"]
    finally:
        os.environ["PYTHONPATH"] = env_path
    kernel.run("import google.colab, sys; assert 'google.colab' in sys.modules")
    yield kernel, content
    kernel.close()


def _setup_cell(kernel, repo, ref="lab4-release"):
    return kernel.cell("COURSE_REPO").replace('"<fill in: https://github.com/ORG/REPO.git>"', repr(f"file://{repo}")) \
        .replace('"<fill in: the release tag or commit>"', repr(ref))


def test_setup_cell_fetches_the_released_lab_on_colab(colab_kernel, course_repo):
    kernel, content = colab_kernel
    with pytest.raises(Exception):
        kernel.run("import lab4_helpers")                    # not importable before the setup cell
    setup = _setup_cell(kernel, course_repo)
    out = kernel.run(setup, timeout=900)
    assert "every package the lab needs is already installed" in out
    assert kernel.run("import os; print(os.getcwd())").strip() == str(content / "lab4-course")
    assert _git("rev-parse", "HEAD", cwd=content / "lab4-course") == _git("rev-parse", "lab4-release", cwd=course_repo)
    kernel.run("import lab4_helpers as lab; print(lab.load_tweets(None, verbose=False)[0].shape[0] > 1000)")
    kernel.run(setup, timeout=900)                           # a re-run changes nothing and does not fail


def test_setup_cell_without_the_repository_setting_says_so(colab_kernel):
    kernel, _ = colab_kernel
    from kernel import CellError
    with pytest.raises(CellError, match="COURSE_REPO/COURSE_REF are not filled in"):
        kernel.run(kernel.cell("COURSE_REPO"))


def test_install_keeps_colabs_numpy_pandas_and_torch():
    from lab4 import colab
    pins = colab.keep_constraints()
    import numpy
    import pandas
    assert f"numpy=={numpy.__version__}" in pins and f"pandas=={pandas.__version__}" in pins
    # a real pip resolution (dry run) of a package that is missing here, under those pins
    command = colab.install_missing((("lab4_no_such_module", "six"),), dry_run=True)
    assert "--dry-run" in command and "-c" in command


def test_outside_colab_the_setup_cell_does_nothing(tmp_path):
    kernel = LabKernel(tmp_path)
    try:
        assert kernel.run(kernel.cell("COURSE_REPO")) == ""
        assert kernel.run("import os; print(os.getcwd())").strip() == str(tmp_path)
    finally:
        kernel.close()
