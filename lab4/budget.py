"""Step 4, before inference: how long it will take (a small batch timed per model), and sampling down to
a time budget when the student set no MAX_TWEETS; the rows left out are reported like any dropped row.
"""

from __future__ import annotations

import os
import time
from typing import Mapping

import numpy as np
import pandas as pd

from .cache import PredictionCache, _text_key
from .config import CACHE_DIR
from .models import SentimentModel
from .runtime import SEED
from .validate import _require_columns

# Step 4's time budget: when MAX_TWEETS is not set and running every tweet would take longer than this
# many minutes, a seeded sample that fits is evaluated instead (hub-sized models on a 2-core CPU run
# ~15-20 tweets/s, so tweet_eval's 12,284 test tweets with both models take ~25 min there).
TIME_BUDGET_MIN = 5.0


PROBE_TWEETS = 48  # tweets timed per model to estimate its speed (their predictions are kept)


def _duration(seconds: float) -> str:
    """A readable duration: "< 1 s", "42 s", "4.5 min", "1 h 05 min".

    >>> [_duration(s) for s in (0.2, 42, 270, 3900)]
    ['< 1 s', '42 s', '4.5 min', '1 h 05 min']
    """
    if seconds < 1:
        return "< 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _measure_speed(model: SentimentModel, missing: list[str], cache: PredictionCache, n: int,
                   seed: int) -> tuple[float, int, float]:
    """Time ``model`` on a seeded sample of ``n`` uncached texts. Returns (texts/s, texts timed, load s).

    Loading and the first small batch (one-off set-up) are timed apart; the predictions are cached,
    so the timing costs nothing later.
    """
    rng = np.random.default_rng(seed)
    sample = [missing[i] for i in sorted(rng.choice(len(missing), size=min(n, len(missing)), replace=False))]
    start = time.perf_counter()
    model.load()
    load_s = time.perf_counter() - start
    warm, timed = (sample[:2], sample[2:]) if len(sample) > 4 else ([], sample)
    if warm:
        model.predict(warm, cache=cache, progress=False)
    start = time.perf_counter()
    model.predict(timed, cache=cache, progress=False)
    per_s = len(timed) / max(time.perf_counter() - start, 1e-6)
    cache.put_speed(model.fingerprint, model.device, per_s)
    return per_s, len(sample), load_s


def plan_inference(
    tweets: pd.DataFrame,
    dropped: pd.DataFrame,
    models: Mapping[str, SentimentModel],
    *,
    max_tweets: int | None = None,
    budget_min: float | None = TIME_BUDGET_MIN,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    seed: int = SEED,
    probe: int = PROBE_TWEETS,
    verbose: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Say how long Step 4 will take before it starts, and keep it within ``budget_min`` minutes.

    Each model's speed (tweets/s on its device) is measured on ``probe`` uncached tweets, once, and
    remembered in the cache, so a re-run plans the same way without loading anything. Cached
    predictions cost nothing. When ``max_tweets`` is None (MAX_TWEETS not set) and running every tweet
    would take longer than ``budget_min`` minutes (as if nothing were cached, so re-runs pick the same
    tweets), a seeded random sample that fits is kept, and the rest go to ``dropped`` with reason
    "not sampled (time budget)". An explicit ``max_tweets`` always wins; ``budget_min=None``
    runs everything; with every prediction cached nothing is sampled.

    Returns ``(tweets, dropped)``: new frames with the same columns as those given (``dropped``:
    tweet_id, reason, text); ``len(tweets) + len(dropped)`` is unchanged.
    """
    _require_columns(tweets, "text")
    texts = list(dict.fromkeys(tweets["text"].astype(str)))
    keys = [_text_key(t) for t in texts]
    cache = PredictionCache(cache_dir)
    parts, per_tweet_s, left_s, devices = [], 0.0, 0.0, set()
    try:
        for role, model in models.items():
            known = cache.get_predictions(model.fingerprint, keys)
            missing = [t for t, k in zip(texts, keys) if k not in known]
            per_s = cache.get_speed(model.fingerprint, model.device)
            n_missing, how = len(missing), "remembered"
            if missing and per_s is None:
                per_s, timed, load_s = _measure_speed(model, missing, cache, probe, seed)
                n_missing -= timed  # the timed ones are cached now
                how = f"measured on {timed}" + (f" after loading in {load_s:.1f} s" if load_s >= 0.05 else "")
            if per_s:
                per_tweet_s += 1 / per_s
                left_s += n_missing / per_s
                parts.append(f"{role} {per_s:,.0f} tweets/s ({how})")
            if n_missing:
                devices.add(model.device)
    finally:
        cache.close()
    full_s = len(texts) * per_tweet_s
    n = len(tweets)
    if not left_s:
        if verbose:
            print(f"Step 4 estimate: all {n:,} tweets' predictions are cached: nothing to compute"
                  + ("" if all(m.loaded for m in models.values()) else ", no model loaded") + ".")
        return tweets, dropped
    where = "/".join(sorted(devices)) or "cpu"
    if verbose:
        print(f"Step 4 estimate on {where}: {n:,} tweets; " + ", ".join(parts)
              + f" -> ≈ {_duration(full_s)} for all of them ({_duration(left_s)} still to compute).")
    over = budget_min is not None and full_s > budget_min * 60
    if not over or max_tweets is not None:
        if verbose and over:
            print(f"MAX_TWEETS={max_tweets} is set, so every one of them runs (≈ {_duration(left_s)}).")
        return tweets, dropped
    keep_n = max(1, int(budget_min * 60 / per_tweet_s))
    kept = tweets.sample(n=min(keep_n, n), random_state=seed).sort_index()
    rest = tweets.drop(index=kept.index)
    reason = "not sampled (time budget)"
    ids = rest["tweet_id"] if "tweet_id" in rest else pd.Series(rest.index, index=rest.index)
    extra = pd.DataFrame({"tweet_id": ids.to_numpy(), "reason": reason, "text": rest["text"].astype(str).to_numpy()})
    new_dropped = pd.concat([dropped, extra], ignore_index=True) if len(dropped) else extra
    new_tweets = kept.reset_index(drop=True)
    new_tweets.attrs, new_dropped.attrs = dict(tweets.attrs), dict(dropped.attrs)
    if verbose:
        print(f"That is over the {budget_min:g}-min budget (TIME_BUDGET_MIN), so a seeded sample of {len(new_tweets):,} "
              f"tweets is evaluated (≈ {_duration(len(new_tweets) * per_tweet_s)}); the other {len(rest):,} are in "
              f"`dropped` as {reason!r}. To choose yourself: set MAX_TWEETS, or TIME_BUDGET_MIN = None to run all "
              "(or use a GPU: on Colab, Runtime > Change runtime type).")
    return new_tweets, new_dropped
