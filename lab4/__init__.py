"""The code behind Lab 4, one module per concern. Students import the facade ``lab4_helpers`` (as ``lab``);
instructors and TAs use ``python -m lab4.tools``.

Step by step, what lives where:

=================  ==========================================================================
``runtime``        Step 1: seeds, Colab detection, "does this host answer?" network checks
``colab``          Step 1 on Colab: install what Colab lacks, pinning its numpy, pandas and torch
``data``           Step 2: reading CSVs and ``tweet_eval``, labels, row accounting
``slicing``        Step 3: metadata columns, the slice registry, the shipped slices
``cache``          Step 4: the on-disk prediction cache and batching by length
``models``         Step 4: model wrappers, loading by source, running them on every tweet
``budget``         Step 4: the time estimate, and sampling down to a time budget
``stats``          Step 5: Wilson, exact McNemar, paired interval, Benjamini-Hochberg
``metrics``        Step 5: eval table, overall/slice/regression metrics, per-slice verdicts
``discovery``      Step 5: sliceline search and rediscovered hypotheses
``tracking``       Step 6: Weights & Biases (mode, run, logging, reading runs back)
``report``         Steps 6-7: plots and the ship memo
``stress``         Step 7: generation prompt, getting the LLM's answer, scoring generated cases
``paste``          Step 7: reading an LLM's answer (lists, ``text | label``, JSON, CSV, tables) into cases
``review``         Step 7: the label review table and the student's LABEL_FIXES
``generate``       Step 7: LLM generators (hub model, OpenAI-compatible endpoint, copy-paste)
``perturb``        Step 7: INV / DIR / MFT perturbation tests
``deliverables``   what counts as each deliverable; the self-check
``keyscan``        finding API keys (W&B, OpenAI, Anthropic, Hugging Face, Google, GitHub, ...) in notebooks
``display``        every step: readable, page-width views of the tables (``lab.show``)
``progress``       progress bars that leave one line in a saved notebook
``config``         the few settings several modules share
``validate``       the one DataFrame-argument checker and its error
``tools``          instructor/TA command line: release, summary, where (never imported by students)
=================  ==========================================================================
"""

__version__ = "2026.12"  # shown by the self-check and the TA summary; bump it with each release
