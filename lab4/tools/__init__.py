"""Instructor and TA tooling, never imported by the student facade.

``python -m lab4.tools release [--check] lab4.ipynb`` (``release``), ``python -m lab4.tools summary
NOTEBOOK_OR_FOLDER [--csv OUT.csv]`` (``summary``) and ``python -m lab4.tools where NB``.
"""
