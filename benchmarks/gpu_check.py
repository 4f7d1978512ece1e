"""Check Step 4's GPU path: batched inference on the device, no CPU/GPU tensor mix-ups, the time estimate.

    python benchmarks/gpu_check.py [--n 512] [--hub auto|skip|require]

On a CUDA machine it runs the lab's real loading and inference code (``lab.load_models``,
``lab.plan_inference``, ``lab.run_models``) on the device with:

1. the stand-in hub models from ``tests/standins.py`` (RoBERTa byte-level BPE, GPT-2 without a pad token,
   a two-label DistilBERT, a WordPiece BERT; tiny random weights, real architectures and tokenizers) and
   the offline candidate (MiniLM + logistic regression);
2. the course's hub models on real tweet_eval tweets, when the hub answers (``--hub require`` fails
   when it does not; ``--hub skip`` never asks).

Checks, each printed as ``ok`` or ``FAIL``: every model sits on the expected device; batched predictions
run there (a tensor left on the wrong device raises "Expected all tensors to be on the same device");
they equal one-at-a-time predictions and the same model's predictions on the CPU (labels identical,
confidences within 1e-3); labels are in LABELS and confidences in [0, 1]. It prints the lab's own
Step 4 estimate and what it means for tweet_eval's full test split (12,284 tweets), and exits 1 on any
failure. Without a GPU it runs the same checks on the CPU and ends with "no GPU: CPU path checked".
Nothing is cached (cache_dir=None), so every number is measured by this run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pandas as pd  # noqa: E402

import lab4_helpers as lab  # noqa: E402
import lab4.models  # noqa: E402
import standins  # noqa: E402

FULL_TEST_SPLIT = standins.TWEET_EVAL_SPLIT_SIZES["test"]
FAILURES: list[str] = []


def check(ok: bool, what: str) -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        FAILURES.append(what)
    return ok


def _agree(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
    same = float((a["pred"].to_numpy() == b["pred"].to_numpy()).mean())
    gap = float((a["conf"] - b["conf"]).abs().max())
    return same, gap


def check_pair(title: str, device: str, tweets: pd.DataFrame, **spec) -> None:
    """Load a pair on ``device`` and on the CPU; run, compare, estimate."""
    print(f"\n== {title} on {device}")
    try:
        models = lab.load_models(device=device, cache_dir=None, progress=False, **spec)
        for role, model in models.items():
            expected = "cpu" if model.kind in ("vader", "precomputed") else device  # no tensors: CPU by design
            check(model.device == expected, f"{role} ({model.model_id}) reports device {model.device!r}")
        planned, _ = lab.plan_inference(tweets, pd.DataFrame(columns=["tweet_id", "reason", "text"]), models,
                                        budget_min=None, cache_dir=None)
        per_s = {}
        for role, model in models.items():
            texts = planned["text"].tolist()
            start = time.perf_counter()
            batched = model.predict(texts, progress=False)
            per_s[role] = len(texts) / (time.perf_counter() - start)
            check(batched["pred"].isin(lab.LABELS).all() and batched["conf"].between(0, 1).all(),
                  f"{role}: {len(texts)} batched predictions (batch {model.batch_size}) are labels with conf in [0, 1]")
            single = model.predict(texts[:16], batch_size=1, progress=False)
            same, gap = _agree(batched.head(16), single)
            check(same == 1.0 and gap < 1e-3, f"{role}: batched == one at a time (labels {same:.0%}, conf gap {gap:.1e})")
            if model.device != "cpu":
                cpu = lab.load_models(device="cpu", cache_dir=None, progress=False, verbose=False, **spec)[role]
                same, gap = _agree(batched.head(64), cpu.predict(texts[:64], progress=False))
                check(same >= 0.99 and gap < 1e-3, f"{role}: {device} == cpu (labels {same:.1%}, conf gap {gap:.1e})")
        per_tweet = sum(1 / v for v in per_s.values())
        print("  measured: " + ", ".join(f"{r} {v:,.0f} tweets/s" for r, v in per_s.items())
              + f" -> tweet_eval's full test split ({FULL_TEST_SPLIT:,} tweets, both models) ≈ "
              + lab4.models._duration(FULL_TEST_SPLIT * per_tweet))
    except Exception as err:  # noqa: BLE001 -- any failure is reported and counted, then the next pair runs
        check(False, f"{title}: {type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="tweets per check (default 512)")
    parser.add_argument("--hub", choices=("auto", "skip", "require"), default="auto")
    args = parser.parse_args(argv)

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__}; device {device}"
          + (f" ({torch.cuda.get_device_name(0)})" if device == "cuda" else "; no CUDA device visible"))
    data = standins.build_tweet_eval_dataset(args.n)["test"]
    tweets = pd.DataFrame({"tweet_id": range(len(data)),
                           "text": [f"{t} #{i}" for i, t in enumerate(data["text"])],  # distinct texts
                           "label": [lab.LABELS[i] for i in data["label"]]})
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: str(build(Path(tmp) / name)) for name, build in standins.BUILDERS.items()}
        check_pair("stand-ins: RoBERTa vs GPT-2", device, tweets,
                   model_source="offline", baseline=folders["roberta"], candidate=folders["gpt2"])
        check_pair("stand-ins: two-label DistilBERT vs WordPiece BERT", device, tweets,
                   model_source="offline", baseline=folders["two_label"], candidate=folders["wordpiece"])
        check_pair("offline pair: VADER vs MiniLM + logistic regression", device, tweets, model_source="offline")
    if args.hub != "skip":
        reachable = lab.hub_reachable()
        if reachable:
            real, _ = lab.load_tweets(source="hub", max_tweets=args.n, verbose=False)
            check_pair("course models on real tweet_eval tweets", device, real, model_source="hub")
        elif args.hub == "require":
            check(False, "the Hugging Face hub is not reachable (--hub require)")
        else:
            print("\n(the Hugging Face hub is not reachable: course models not checked)")
    if device == "cpu":
        print("\nno GPU: CPU path checked")
    print(f"\n{'FAILED: ' + '; '.join(FAILURES) if FAILURES else 'all checks passed'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
