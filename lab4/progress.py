"""Progress bars that look right live and leave one line in a saved notebook.

In a Jupyter kernel (Jupyter, Colab, VS Code) a text bar is drawn into one display output that is *updated in
place*, so the live view moves and the saved notebook keeps only the final state: one line per bar, no stderr
block of intermediate states, and no ``IProgress not found`` warning (no widgets are needed). Elsewhere
(terminal, tests, scripts) it is an ordinary tqdm bar on stderr.
"""

from __future__ import annotations


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class _DisplayLine:
    """A file-like target for tqdm that keeps one display output showing the bar's latest state."""

    def __init__(self):
        from IPython.display import display

        self._handle = display({"text/plain": ""}, raw=True, display_id=True)
        self._last = ""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line and line != self._last:
            self._last = line
            self._handle.update({"text/plain": line}, raw=True)

    def flush(self) -> None:
        pass


def progress_bar(*, total: int, desc: str, unit: str = "it", disable: bool = False, leave: bool = True):
    """A tqdm bar (use it as a context manager or call ``close()``); see the module docstring for where it draws."""
    from tqdm import tqdm

    if disable or not _in_kernel():
        return tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=leave, mininterval=1.0)
    return tqdm(total=total, desc=desc, unit=unit, file=_DisplayLine(), leave=leave, mininterval=0.5,
                ncols=90, ascii=False, dynamic_ncols=False)
