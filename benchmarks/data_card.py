"""The data card's two measured tables: the bundled tweets against real TweetEval tweets.

    .venv/bin/python benchmarks/data_card.py            # print both tables (markdown)
    .venv/bin/python benchmarks/data_card.py --write    # and put them into docs/data-card.md

Table 1, properties of the tweets, measured without any model: size, label balance, each shipped slice's share
and label mix, length, and how often the words alone (emoji removed) hold no sentiment word of the AFINN list.
Table 2, the offline pair (VADER baseline, MiniLM + logistic-regression candidate whose head is fit on the
bundled ``train`` split, exactly as the notebook's offline default) on the bundled ``test`` split and on the real
tweets: overall and per-slice Δ (candidate − baseline accuracy) with its paired 95% interval and q (the lab's
``slice_stats``: exact McNemar, Benjamini–Hochberg over the slices).

Real tweets: ``../shared/data/tweeteval_sentiment_val.csv`` (2,000 TweetEval validation tweets, not shipped with
the lab) when it is there; without it the script says so, measures the bundled data alone and leaves the real
columns empty. The bundled tweets were never chosen, kept or edited by looking at either model's predictions
(docs/data-card.md); this script only describes them.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "data" / "tweeteval_sentiment_val.csv"
CARD = ROOT / "docs" / "data-card.md"
LABELS = ("negative", "neutral", "positive")


def _frame(path: Path, split: str | None):
    import lab4_helpers as lab

    # loaded and cleaned as the notebook's Step 2 loads them, so the figures are the ones a student sees
    df, dropped = lab.load_tweets(path, split=split, verbose=False)
    lost = dropped[~dropped["reason"].str.startswith("split ")]  # the other split's rows are expected
    if len(lost):
        print(f"# {path.name} ({split or 'every row'}): {len(lost)} row(s) not evaluated: "
              f"{dict(lost['reason'].value_counts())}")
    return lab.add_slice_metadata(df)


def _no_sentiment_word(texts):
    import emoji
    from afinn import Afinn

    afinn = Afinn()
    return texts.map(lambda t: afinn.score(emoji.replace_emoji(t, " ")) == 0)


def _mix(labels) -> str:
    n = len(labels)
    return "/".join(f"{round(100 * (labels == l).sum() / n)}" for l in LABELS) if n else "–"


def properties(frames: dict) -> str:
    """Markdown table: one row per property, one column per data set."""
    import lab4_helpers as lab

    slices = lab.default_slices()
    rows = {"tweets": {}, "labels neg/neu/pos (%)": {}, "median length (characters)": {},
            "no AFINN sentiment word (% of all)": {}}
    for name, df in frames.items():
        rows["tweets"][name] = f"{len(df):,}"
        rows["labels neg/neu/pos (%)"][name] = _mix(df["label"])
        rows["median length (characters)"][name] = f"{df['n_chars'].median():.0f}"
        rows["no AFINN sentiment word (% of all)"][name] = f"{100 * _no_sentiment_word(df['text']).mean():.0f}"
    for slice_name, fn in slices.items():
        key = f"`{slice_name}`: % of tweets (labels %)"
        rows[key] = {}
        for name, df in frames.items():
            mask = fn(df)
            rows[key][name] = f"{100 * mask.mean():.1f} ({_mix(df.loc[mask, 'label'])})"
    key = "`emoji_dense` with no sentiment word once the emoji are removed (%)"
    rows[key] = {}
    for name, df in frames.items():
        dense = df[df["emoji_dense"]]
        rows[key][name] = f"{100 * _no_sentiment_word(dense['text']).mean():.0f} of {len(dense)}" if len(dense) else "no such tweets"
    train, test = frames.get("bundled train"), frames.get("bundled test")
    if train is not None and test is not None:
        tags = lambda df: {t.lower() for text in df["text"] for t in re.findall(r"#\w+", text)}  # noqa: E731
        shared = tags(test) & tags(train)
        key = "test hashtags also used in train (% of distinct test hashtags)"
        rows[key] = {name: "" for name in frames}
        rows[key]["bundled test"] = f"{100 * len(shared) / max(1, len(tags(test))):.0f} of {len(tags(test))}"
    names = list(frames)
    out = ["| property | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    out += [f"| {key} | " + " | ".join(values.get(n, "") for n in names) + " |" for key, values in rows.items()]
    return "\n".join(out)


def offline_pair(frames: dict, train) -> tuple[str, dict]:
    """Markdown table of the offline pair's Δ (overall and per slice) on each evaluated data set."""
    import lab4_helpers as lab
    from lab4.display import fmt_p

    models = lab.load_models("offline", train=train, progress=False, verbose=False, cache_dir=None)
    stats, seconds = {}, {}
    for name, df in frames.items():
        started = time.perf_counter()
        df_long = lab.run_models(df, models, cache_dir=None, progress=False)
        df_eval = lab.build_eval_table(df_long, tweets=df)
        stats[name] = lab.slice_stats(df_eval, lab.default_slices()).set_index("slice")
        seconds[name] = time.perf_counter() - started
    names = list(frames)
    cell = lambda r: (f"{r.baseline_acc:.3f} → {r.candidate_acc:.3f}; Δ {r.delta:+.3f} [{r.delta_lo:+.3f}, "  # noqa: E731
                      f"{r.delta_hi:+.3f}], q {fmt_p(r.q_bh)}, n {int(r.n):,}"
                      + (" **significant regression**" if r.significant_regression else ""))
    out = ["| slice | " + " | ".join(f"{n}: baseline → candidate accuracy; Δ [95% CI], q, n" for n in names) + " |",
           "|---|" + "---|" * len(names)]
    for slice_name in stats[names[0]].index:
        cells = [cell(stats[n].loc[slice_name]) if slice_name in stats[n].index and stats[n].loc[slice_name].n > 0
                 else "no such tweets" for n in names]
        out.append(f"| `{slice_name}` | " + " | ".join(cells) + " |")
    summary = {n: {"all": stats[n].loc["all"], "regressions": [s for s in stats[n].index if s != "all"
                                                              and stats[n].loc[s].significant_regression],
                   "seconds": seconds[n]} for n in names}
    return "\n".join(out), summary


def _shown(path: Path) -> str:
    import os

    return os.path.relpath(path, ROOT)


def _replace_block(text: str, name: str, block: str) -> str:
    start, end = f"<!-- data_card.py: {name} -->", f"<!-- end data_card.py: {name} -->"
    if start not in text or end not in text:
        raise SystemExit(f"docs/data-card.md has no block {start} ... {end}; add both markers where the table goes")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}\n{end}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="put both tables into docs/data-card.md")
    parser.add_argument("--real", type=Path, default=REAL, help=f"real tweets (text,label) (default {REAL})")
    args = parser.parse_args(argv)
    bundled = ROOT / "tweets.csv"
    frames = {"bundled test": _frame(bundled, "test"), "bundled train": _frame(bundled, "train")}
    if args.real.is_file():
        frames["real TweetEval validation"] = _frame(args.real, None)
        source = f"real tweets: {_shown(args.real)} ({len(frames['real TweetEval validation']):,})"
    else:
        source = f"real tweets: {_shown(args.real)} is not here, so only the bundled data is measured"
    print(f"# data_card.py: {source}\n")
    table1 = properties(frames)
    print(table1 + "\n")
    evaluated = {k: v for k, v in frames.items() if k != "bundled train"}
    table2, summary = offline_pair(evaluated, train=None)  # None: the bundled train split, as the notebook fits it
    print(table2 + "\n")
    for name, s in summary.items():
        a = s["all"]
        print(f"{name}: overall {a.baseline_acc:.3f} → {a.candidate_acc:.3f}, Δ {a.delta:+.3f} "
              f"[{a.delta_lo:+.3f}, {a.delta_hi:+.3f}], p {a.q_bh:.2g}; significant slice regressions: "
              f"{', '.join(s['regressions']) or 'none'} ({s['seconds']:.0f} s)")
    if args.write:
        stamp = f"_Measured by `benchmarks/data_card.py` on {time.strftime('%Y-%m-%d')}; {source}._"
        text = CARD.read_text(encoding="utf-8")
        text = _replace_block(text, "properties", f"{stamp}\n\n{table1}")
        text = _replace_block(text, "offline pair", f"{stamp}\n\n{table2}")
        CARD.write_text(text, encoding="utf-8")
        print(f"\nwrote both tables into {CARD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
