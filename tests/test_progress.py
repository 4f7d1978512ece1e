"""Progress bars in a real kernel: one final line per bar in the saved notebook, no stderr block, no warning."""
import os
from pathlib import Path

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def test_saved_notebook_keeps_one_final_line_per_bar(tmp_path):
    nb = new_notebook(cells=[new_code_cell(
        "import time\nfrom lab4.progress import progress_bar\n"
        "with progress_bar(total=30, desc='Scoring', unit='tweet') as bar:\n"
        "    for _ in range(30):\n        time.sleep(0.05); bar.update(1)\n"
        "with progress_bar(total=5, desc='Encoding', unit='tweet') as bar:\n    bar.update(5)\n")])
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), env_path])
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data", "display_data"]
    texts = [o.data["text/plain"] for o in outputs]
    assert texts[0].startswith("Scoring: 100%") and "30/30" in texts[0] and "\n" not in texts[0]
    assert texts[1].startswith("Encoding: 100%") and "5/5" in texts[1]
    assert "IProgress" not in str(outputs)


def test_outside_a_kernel_it_is_a_plain_tqdm_bar(capsys):
    from lab4.progress import progress_bar
    with progress_bar(total=3, desc="Plain", unit="x") as bar:
        bar.update(3)
    assert "Plain: 100%" in capsys.readouterr().err
