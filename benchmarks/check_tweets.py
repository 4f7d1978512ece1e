"""Check a file of written tweets (text,label,split) without any model: labels, slices, lengths, emoji rules,
near-duplicates. The writers of tweets.csv ran it on their parts (docs/data-writing.md); run it on any draft:

    .venv/bin/python benchmarks/check_tweets.py FILE.csv
"""
import csv, sys, difflib, re
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
import pandas as pd
import emoji
from afinn import Afinn
import lab4_helpers as lab

path = sys.argv[1]
df = pd.read_csv(path, dtype=str, keep_default_na=False)
assert list(df.columns) == ["text", "label", "split"], df.columns.tolist()
bad = df[~df.label.isin(["negative", "neutral", "positive"])]
print(f"{len(df)} tweets; splits {df.split.value_counts().to_dict()}; bad labels: {len(bad)}")
print("labels:", df.label.value_counts().to_dict())
t = lab.add_slice_metadata(df.assign(tweet_id=range(len(df))))
sl = lab.default_slices()
print("slice counts (n, and label mix neg/neu/pos):")
for name, fn in sl.items():
    m = fn(t); sub = t[m]
    mix = "/".join(str((sub.label == l).sum()) for l in ["negative", "neutral", "positive"])
    print(f"  {name:15s} {int(m.sum()):4d}  {mix}")
print("chars: median", t.n_chars.median(), "quartiles", t.n_chars.quantile([.25, .75]).tolist(), "max", t.n_chars.max())
af = Afinn()
def no_sentiment_word(x):
    return af.score(emoji.replace_emoji(x, "")) == 0
ed = t[t.emoji_dense]
if len(ed):
    print(f"emoji_dense: {len(ed)}; share whose text without emoji has no sentiment word (AFINN): {ed.text.map(no_sentiment_word).astype(float).mean():.2f}")
print(f"share of all tweets with no sentiment word: {t.text.map(no_sentiment_word).astype(float).mean():.2f}")
long_ = df[df.text.str.len() > 280]; print("over 280 chars:", len(long_), "; with '|':", df.text.str.contains('|', regex=False).sum())
norm = [re.sub(r"http\S+|@user|[^a-z ]", "", x.lower()).strip() for x in df.text]
dups = [(i, j) for i in range(len(norm)) for j in range(i + 1, min(len(norm), i + 400))
        if difflib.SequenceMatcher(None, norm[i], norm[j]).quick_ratio() > 0.9 and difflib.SequenceMatcher(None, norm[i], norm[j]).ratio() > 0.85]
print("near-duplicate pairs (row numbers, 0-based):", dups[:20], "..." if len(dups) > 20 else "")
