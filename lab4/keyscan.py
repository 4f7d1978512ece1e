"""Finding secrets in notebook text (W&B keys, told apart from git SHAs and digests).
"""

from __future__ import annotations

import re


# A bare 40-hex token right after one of these words (or identifier parts, e.g. GIT_COMMIT,
# commit_sha) is a git SHA / file digest, not a W&B key. See release_notebook for the full rule.
SHA_CONTEXT_WORDS = ("commit", "sha", "sha1", "git", "rev", "revision", "hash", "digest",
                     "checksum")

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")   # keys are whole runs of these characters

_PREFIXED_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*-[0-9a-fA-F]{40}")   # local-<40 hex>

_HEX40_RE = re.compile(r"[0-9a-fA-F]{40}")

_NAMED_KEY_RE = re.compile(
    r"""(?: api_key ["'\]\s]* [=:] | wandb\.login\( [^)\n]*? \bkey \s*= )
        \s* ["']? ([A-Za-z0-9_-]{40,}) (?![A-Za-z0-9_-])""", re.IGNORECASE | re.VERBOSE)

_URL_PATH_BEFORE_RE = re.compile(r"https?://[^\s/\"'<>]+/[^\s\"'<>]*$")

_WORD_BEFORE_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.]*)[\s\"'`=:(\[\]{},]*$")


def _mask(secret):
    """Show only enough of a secret to find it again: first 4 characters and an ellipsis."""
    return secret[:4] + "…"


def _is_sha_context(before):
    """True when the text just before a bare 40-hex token says it is a git SHA or a digest."""
    before = before[-120:]
    if _URL_PATH_BEFORE_RE.search(before):
        return True
    match = _WORD_BEFORE_RE.search(before)
    return bool(match) and any(part.lower() in SHA_CONTEXT_WORDS
                               for part in re.split(r"[_.]", match.group(1)))


def _find_keys(text):
    """Return [(line number, masked token, why)] for every W&B-key-like token in ``text``."""
    text = _ANSI_RE.sub("", text)
    found = {}
    for match in _NAMED_KEY_RE.finditer(text):
        found[match.start(1)] = (match.group(1), "value given to api_key/WANDB_API_KEY/login(key=)")
    for match in _TOKEN_RE.finditer(text):
        token, start = match.group(), match.start()
        if start in found:
            continue
        if _PREFIXED_KEY_RE.fullmatch(token):
            why = "'name-' followed by 40 hex characters"
        elif _HEX40_RE.fullmatch(token):
            if _is_sha_context(text[text.rfind("\n", 0, start) + 1:start]):
                continue
            why = "40 hex characters, not after commit/sha/git/... nor in a URL path"
        else:
            continue
        found[start] = (token, why)
    return [(text.count("\n", 0, pos) + 1, _mask(token), why)
            for pos, (token, why) in sorted(found.items())]


find_keys = _find_keys  # public name: the self-check warns about keys with it


def _as_text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def _output_texts(output):
    """Yield (where, text) for the scannable text of one output."""
    kind = output.get("output_type")
    if kind == "stream":
        yield f"stream output ({output.get('name', 'stdout')})", _as_text(output.get("text", ""))
    elif kind == "error":
        text = "\n".join([_as_text(output.get("ename", "")), _as_text(output.get("evalue", "")),
                          *map(_as_text, output.get("traceback", []))])
        yield "error traceback", text
    else:
        for mime, value in output.get("data", {}).items():
            if not mime.startswith("image/"):     # base64 pictures cannot hold a typed key
                yield f"data ({mime})", _as_text(value)
