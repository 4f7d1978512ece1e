"""Drive the real notebook's cells in a real Jupyter kernel, in any order, the way a student clicks them."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]


class CellError(RuntimeError):
    """A cell raised in the kernel: ``ename`` and ``evalue`` as Jupyter reports them."""

    def __init__(self, ename: str, evalue: str):
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


class LabKernel:
    """A python3 kernel started in ``workdir`` with the lab importable; cells of lab4.ipynb by index or id."""

    def __init__(self, workdir: Path, notebook: Path = ROOT / "lab4.ipynb"):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(workdir), env=env)
        self.nb = nbformat.read(notebook, as_version=4)
        self.code = [c for c in self.nb.cells if c.cell_type == "code"]

    def cell(self, key) -> str:
        """Source of a code cell: its position among code cells, its id, or the first that contains ``key``."""
        if isinstance(key, int):
            return self.code[key].source
        for c in self.code:
            if c.get("id") == key or key in c.source:
                return c.source
        raise KeyError(f"no code cell with id or text {key!r}")

    def run(self, code: str, timeout: float = 600) -> str:
        """Execute ``code``; return its text output (stdout and text/plain results); raise CellError on error."""
        texts, errors = [], []

        def collect(msg):
            content, kind = msg["content"], msg["msg_type"]
            if kind == "stream":
                texts.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                texts.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                errors.append((content["ename"], content["evalue"]))

        self.client.execute_interactive(code, timeout=timeout, output_hook=collect, allow_stdin=False)
        if errors:
            raise CellError(*errors[0])
        return "".join(texts)

    def run_cells(self, *keys, timeout: float = 600) -> str:
        return "".join(self.run(self.cell(k), timeout=timeout) for k in keys)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
