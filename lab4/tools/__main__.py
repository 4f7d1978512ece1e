"""Command line for instructors and TAs: ``python -m lab4.tools release|summary|where|render-check``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .release import release_notebook
from .summary import _summary_command, _where_command


def main(argv=None):
    """Command line: ``release [--check] NOTEBOOK``, ``summary PATH [--csv OUT.csv] [--html OUT.html]``, ``where``.

    Returns the exit status: release as in :func:`release_notebook`; summary 1 when a single
    notebook cannot be summarised; a folder gives 0 unless it holds no ``*.ipynb`` (a broken
    submission there is one stderr line and a CSV row with ``problem`` filled).
    """
    parser = argparse.ArgumentParser(prog="python -m lab4.tools",
                                     description="Lab 4 instructor/TA tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="clear outputs and volatile metadata in place; "
                                  "refuses when an API key or an unfilled instructor setting is found")
    release.add_argument("notebook", help="the lab notebook, e.g. lab4.ipynb")
    release.add_argument("--check", action="store_true",
                         help="change nothing; exit 1 and say why if not release-clean")
    release.add_argument("--source", action="store_true",
                         help="the maintainers' copy: COURSE_REPO/COURSE_REF may still be placeholders")
    summary = commands.add_parser("summary", help="report on submitted notebooks without "
                                  "running them")
    summary.add_argument("path", help="one .ipynb, or a folder searched for *.ipynb")
    summary.add_argument("--csv", metavar="OUT.csv", help="write one row per notebook here")
    summary.add_argument("--html", metavar="OUT.html", help="write the class page here: one sortable row per "
                         "notebook, notes and answers expandable (opens offline in any browser)")
    where = commands.add_parser("where", help="say where an executed notebook's W&B run and plots are")
    where.add_argument("notebook", help="an executed copy, e.g. build/lab4.executed.ipynb")
    render = commands.add_parser("render-check", help="render an executed notebook to HTML and measure its "
                                 "tables in headless Chromium at 1,280 px (needs Debian's chromium)")
    render.add_argument("notebook", help="an executed copy, e.g. build/lab4.executed.ipynb")
    render.add_argument("--out", default="build", help="folder for the HTML and the screenshot (default: build)")
    args = parser.parse_args(argv)
    if args.command == "render-check":
        from .render_check import render_check, report
        return report(render_check(args.notebook, args.out))
    if args.command == "where":
        return _where_command(Path(args.notebook))
    if args.command == "release":
        return release_notebook(args.notebook, check=args.check, source=args.source)
    return _summary_command(Path(args.path), args.csv, args.html)


if __name__ == "__main__":
    raise SystemExit(main())
