"""The on-disk prediction cache (SQLite, keyed by model fingerprint and text) and batching by length.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Callable
from typing import Iterable

import numpy as np

from .config import CACHE_DIR
from .progress import progress_bar


BATCH_SIZE = 64  # texts per forward pass on a CPU: large enough to amortise overhead, small for 2 cores

GPU_BATCH_SIZE = 256  # on a GPU: tweets are short (<= 128 tokens), so 256 fit easily and keep the GPU busy


def _sha256_file(path: Path, digest=None):
    """Feed a file to a SHA-256 digest in 1 MiB chunks (weights are too big to read at once)."""
    digest = digest or hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class PredictionCache:
    """Predictions (and embeddings) on disk in SQLite, keyed by model fingerprint and text hash.

    A re-run, a kernel restart or Step 7's scoring reuses known predictions; a changed model has a new
    fingerprint and so never reuses stale ones; every finished batch is committed, so an interrupted
    run keeps what it finished; a corrupted file is moved aside with a warning and rebuilt.
    """

    def __init__(self, directory: str | os.PathLike | None = CACHE_DIR):
        self.path = None if directory is None else Path(directory) / "predictions.sqlite"
        self._db = None

    def _connect(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as err:
                broken = self.path.with_suffix(f".broken-{int(time.time())}")
                warnings.warn(f"prediction cache {self.path} is unreadable ({err}); moved it to {broken.name} "
                              "and started an empty one. Predictions will be recomputed once.", stacklevel=3)
                self.path.replace(broken)
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        db.execute("CREATE TABLE IF NOT EXISTS pred (model TEXT, text TEXT, pred TEXT, conf REAL, "
                   "PRIMARY KEY (model, text))")
        db.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, text TEXT, vec BLOB, PRIMARY KEY (model, text))")
        db.execute("CREATE TABLE IF NOT EXISTS speed (model TEXT, device TEXT, per_s REAL, PRIMARY KEY (model, device))")
        db.execute("SELECT count(*) FROM pred").fetchone()  # touches the file: raises if it is corrupt
        return db

    def _get(self, table: str, model: str, keys: list[str]) -> dict:
        db = self._connect()
        if db is None or not keys:
            return {}
        found = {}
        cols = "text, pred, conf" if table == "pred" else "text, vec"
        for i in range(0, len(keys), 900):  # SQLite's limit on bound parameters
            chunk = keys[i:i + 900]
            marks = ",".join("?" * len(chunk))
            try:
                rows = db.execute(f"SELECT {cols} FROM {table} WHERE model = ? AND text IN ({marks})",
                                  [model, *chunk]).fetchall()
            except sqlite3.DatabaseError as err:
                warnings.warn(f"prediction cache read failed ({err}); recomputing.", stacklevel=3)
                return {}
            found.update({r[0]: r[1:] for r in rows})
        return found

    def _put(self, table: str, model: str, rows: list[tuple]) -> None:
        db = self._connect()
        if db is None:
            return
        try:
            db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?{', ?' if table == 'pred' else ''})",
                           [(model, *r) for r in rows])
            db.commit()
        except sqlite3.DatabaseError as err:
            warnings.warn(f"prediction cache write failed ({err}); continuing without caching.", stacklevel=3)

    def get_predictions(self, model: str, keys: list[str]) -> dict[str, tuple[str, float]]:
        return self._get("pred", model, keys)

    def put_predictions(self, model: str, rows: list[tuple[str, str, float]]) -> None:
        self._put("pred", model, rows)

    def get_embeddings(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        return {k: np.frombuffer(v[0], dtype=np.float32) for k, v in self._get("emb", model, keys).items()}

    def put_embeddings(self, model: str, rows: list[tuple[str, np.ndarray]]) -> None:
        self._put("emb", model, [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in rows])

    def get_speed(self, model: str, device: str) -> float | None:
        """The remembered throughput (texts per second) of ``model`` on ``device``, or None."""
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT per_s FROM speed WHERE model = ? AND device = ?", (model, device)).fetchone()
        except sqlite3.DatabaseError:
            return None
        return float(row[0]) if row else None

    def put_speed(self, model: str, device: str, per_s: float) -> None:
        """Remember a measured throughput, so a re-run plans the same way without measuring again."""
        db = self._connect()
        if db is None:
            return
        try:
            db.execute("INSERT OR REPLACE INTO speed VALUES (?, ?, ?)", (model, device, float(per_s)))
            db.commit()
        except sqlite3.DatabaseError as err:
            warnings.warn(f"prediction cache write failed ({err}); continuing without caching.", stacklevel=3)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _batched_by_length(texts: list[str], batch_size: int, lengths: list[int] | None = None) -> Iterable[list[int]]:
    """Indices of ``texts`` in batches of similar length (longest first), so padding is small.

    ``lengths`` (e.g. token counts) replace character counts when given: emoji, links and hashtags
    tokenise unevenly, so sorting by tokens pads far less.
    """
    size = lengths if lengths is not None else [len(t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -size[i])
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def _cached_map(texts: list[str], fingerprint: str, compute: Callable[[list[str]], list], *, kind: str,
                cache: PredictionCache, batch_size: int, progress: bool, desc: str,
                lengths: Callable[[list[str]], list[int]] | None = None) -> list:
    """Run ``compute`` over the distinct uncached texts in length-sorted batches; results in input order."""
    unique = list(dict.fromkeys(texts))
    keys = [_text_key(t) for t in unique]
    get = cache.get_predictions if kind == "pred" else cache.get_embeddings
    put = cache.put_predictions if kind == "pred" else cache.put_embeddings
    known = get(fingerprint, keys)
    todo = [i for i, k in enumerate(keys) if k not in known]
    if todo:
        bar = progress_bar(total=len(todo), desc=desc, unit="tweet", disable=not progress)
        pending = [unique[i] for i in todo]
        for batch in _batched_by_length(pending, batch_size, lengths(pending) if lengths else None):
            results = compute([pending[j] for j in batch])
            fresh = [(keys[todo[j]], *((r,) if kind == "emb" else r)) for j, r in zip(batch, results)]
            put(fingerprint, fresh)
            known.update({row[0]: row[1:] if kind == "pred" else row[1] for row in fresh})
            bar.update(len(batch))
        bar.close()
    by_text = {t: known[k] for t, k in zip(unique, keys)}
    return [by_text[t] for t in texts]
