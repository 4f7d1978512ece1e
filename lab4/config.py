"""Settings shared by several modules: the label set, the model roles, the cache folder and the
slice-size rule's threshold. Settings used by one module live in that module.

How settings work: a constant that is a function's default (``min_n=MIN_SLICE_N``, ``seed=SEED``,
``cache_dir=CACHE_DIR``) is read once, when the module is imported. Assigning ``lab4.config.MIN_SLICE_N = 50``
afterwards changes nothing; pass the keyword instead (``lab.slice_stats(df_eval, slices, min_n=50)``).
"""

from __future__ import annotations

from pathlib import Path


LABELS = ("negative", "neutral", "positive")  # TweetEval's order; model outputs are mapped onto it

ROOT = Path(__file__).resolve().parent.parent  # the repository folder: tweets.csv, lab4.ipynb

CONFIDENT_THRESHOLD = 0.8  # a regression is "confident" when the candidate's conf is at least this

CACHE_DIR = Path(".lab4_cache")  # on-disk prediction cache (git-ignored), relative to the cwd

# A slice with fewer tweets than this is "too small to judge": below ~30 paired outcomes the
# accuracy estimate moves by >3 points per tweet and McNemar has almost no power.
MIN_SLICE_N = 30

# Columns build_eval_table adds: predictions and outcomes, never slice metadata.
_OUTCOME_COLUMNS = frozenset({
    "baseline_pred", "baseline_conf", "candidate_pred", "candidate_conf", "baseline_correct",
    "candidate_correct", "regressed", "improved", "both_wrong", "both_correct",
    "confident_regression",
})

_MODELS = ("baseline", "candidate")
