"""Lab 4 helpers: testing a candidate sentiment model against a production baseline.

The notebook imports this module as ``lab`` and calls one public function per step. This file only
gathers them, in step order; the code lives in the ``lab4`` package, one module per concern
(``lab.slice_stats??`` in Jupyter shows the real source). Nothing runs at import time.

=====  =======================  ================================================================
step   module                   functions
=====  =======================  ================================================================
1      ``lab4.runtime``         :func:`set_seed`
       ``lab4.tracking``        :func:`login_wandb_in_colab`, :func:`start_wandb_run`
2      ``lab4.data``            :func:`load_tweets`, :func:`row_accounting`
3      ``lab4.slicing``         :func:`add_slice_metadata`, :func:`default_slices`, :func:`add_slice`,
                                :func:`describe_slices`
4      ``lab4.models``          :func:`load_models`, :func:`plan_inference`, :func:`run_models`
5      ``lab4.metrics``         :func:`build_eval_table`, :func:`overall_metrics`,
                                :func:`print_headline`, :func:`slice_metrics`, :func:`compare_models`,
                                :func:`regression_metrics`, :func:`slice_stats`, :func:`suspect_labels`
       ``lab4.discovery``       :func:`discover_slices`, :func:`rediscovered_hypotheses`
6      ``lab4.report``          :func:`plot_slice_accuracy`, :func:`plot_regressions`
       ``lab4.tracking``        :func:`log_to_wandb`, :func:`run_config`, :func:`summary_numbers`,
                                :func:`notes_table`
7      ``lab4.metrics``         :func:`weakest_slice`
       ``lab4.stress``          :func:`build_generation_prompt`, :func:`generate_cases`,
                                :func:`parse_generated_cases`, :func:`review_cases`,
                                :func:`apply_label_fixes`, :func:`score_generated_cases`
       ``lab4.perturb``         :func:`run_perturbation_tests`
       ``lab4.report``          :func:`ship_memo`
end    ``lab4.tracking``        :func:`finish_wandb_run`
       ``lab4.deliverables``    :func:`self_check`
=====  =======================  ================================================================

Every step shows its tables through :func:`show` (``lab4.display``): a formatted view; the table stays numeric.
Statistics used along the way (``lab4.stats``): :func:`wilson_interval`, :func:`mcnemar_exact_p`,
:func:`paired_delta_interval`.

Instructors and TAs: ``python -m lab4.tools release [--check] lab4.ipynb``, ``python -m lab4.tools
summary NOTEBOOK_OR_FOLDER [--csv OUT.csv] [--html OUT.html]``, ``python -m lab4.tools where NB`` (see docs/tas.md and docs/instructors.md).
"""

from lab4.config import LABELS, MIN_SLICE_N
from lab4.validate import MissingColumnError, StaleInputError
from lab4.display import show  # every step: a readable view of a table (the table itself stays numeric)

# Step 1: setup
from lab4.runtime import SEED, hub_reachable, set_seed
from lab4.tracking import decide_wandb_mode, login_wandb_in_colab, start_wandb_run

# Step 2: tweets
from lab4.data import load_tweets, normalise_labels, row_accounting

# Step 3: metadata and slices
from lab4.slicing import add_slice, add_slice_metadata, default_slices, describe_slices, metadata_columns, slice_masks

# Step 4: models
from lab4.models import SentimentModel, load_models, run_models, verify_minilm_weights
from lab4.budget import plan_inference

# Step 5: metrics, evidence per slice, discovery
from lab4.stats import mcnemar_exact_p, paired_delta_interval, wilson_interval
from lab4.metrics import (build_eval_table, compare_models, overall_metrics, print_headline, regression_metrics,
                          slice_metrics, slice_stats, suspect_labels, weakest_slice)
from lab4.discovery import discover_slices, rediscovered_hypotheses

# Step 6: plots and W&B
from lab4.report import plot_regressions, plot_slice_accuracy
from lab4.tracking import log_to_wandb, notes_table, read_offline_tables, run_config, summary_numbers

# Step 7: stress tests and the ship memo
from lab4.stress import build_generation_prompt, check_sample_claim, generate_cases, score_generated_cases
from lab4.review import apply_label_fixes, review_cases
from lab4.paste import parse_generated_cases
from lab4.perturb import run_perturbation_tests
from lab4.report import ship_memo, ship_recommendation

# End: close the run, check the deliverables
from lab4.tracking import finish_wandb_run
from lab4.deliverables import self_check

__all__ = [
    "LABELS", "MIN_SLICE_N", "SEED", "MissingColumnError", "StaleInputError", "show",
    "set_seed", "hub_reachable", "decide_wandb_mode", "login_wandb_in_colab", "start_wandb_run",
    "load_tweets", "normalise_labels", "row_accounting",
    "add_slice_metadata", "default_slices", "add_slice", "describe_slices", "metadata_columns", "slice_masks",
    "SentimentModel", "load_models", "plan_inference", "run_models", "verify_minilm_weights",
    "build_eval_table", "overall_metrics", "print_headline", "slice_metrics", "compare_models", "regression_metrics",
    "slice_stats",
    "suspect_labels",
    "wilson_interval", "mcnemar_exact_p", "paired_delta_interval", "discover_slices", "rediscovered_hypotheses",
    "plot_slice_accuracy", "plot_regressions", "log_to_wandb", "run_config", "summary_numbers", "notes_table",
    "read_offline_tables",
    "weakest_slice", "check_sample_claim", "build_generation_prompt", "generate_cases", "parse_generated_cases", "review_cases",
    "apply_label_fixes", "score_generated_cases",
    "run_perturbation_tests", "ship_memo", "ship_recommendation",
    "finish_wandb_run", "self_check",
]

if __name__ == "__main__":  # the old instructor spelling: say where the commands went
    import sys
    print("The instructor/TA commands moved: run\n  python -m lab4.tools " + " ".join(sys.argv[1:] or ["--help"]),
          file=sys.stderr)
    raise SystemExit(2)
