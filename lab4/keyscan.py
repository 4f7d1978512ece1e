"""Finding secrets in notebook text: W&B keys (told apart from git SHAs and digests) and the common
LLM / hub / GitHub API key formats.

Owns the key rule (``find_keys``: line, redacted token, why), the walk over every string of a saved
notebook's JSON (``scan_notebook_json``: cells, outputs, attachments, cell and notebook metadata,
base64 payloads decoded), and the helpers that give an output's text (``_output_texts``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re


# A bare 40-hex token right after one of these words (or identifier parts, e.g. GIT_COMMIT,
# commit_sha) is a git SHA / file digest, not a W&B key. See release_notebook for the full rule.
SHA_CONTEXT_WORDS = ("commit", "sha", "sha1", "git", "rev", "revision", "hash", "digest",
                     "checksum")

# Prefixed API key formats, matched against one whole token (a maximal run of [A-Za-z0-9_-]).
# Lengths and charsets are each provider's real ones; sources looked up in 2026:
# - OpenAI: every key format carries "T3BlbkFJ" (base64 of "OpenAI") with 20+ key characters on
#   each side: legacy sk-<20>T3BlbkFJ<20> (51 chars), early sk-proj-<20>T3BlbkFJ<20>, current
#   sk-proj-/sk-svcacct-/sk-admin-<58 or 74>T3BlbkFJ<58 or 74> -- gitleaks rule "openai-api-key"
#   (github.com/gitleaks/gitleaks cmd/generate/config/rules/openai.go). Project, service-account
#   and admin keys are also caught by their prefix alone with 48+ characters after it (the
#   shortest real project key, <20>T3BlbkFJ<20>, has 48).
# - Anthropic: sk-ant-api03-<93>AA and sk-ant-admin01-<93>AA (95 after the family prefix), OAuth
#   sk-ant-oat01-/sk-ant-ort01- with 40+ -- gitleaks rules/anthropic.go. We take any
#   sk-ant-<family><2 digits>- with 40+ characters, the smallest of those minima.
# - Hugging Face: hf_ + exactly 34 letters -- gitleaks rules/huggingface.go and trufflehog
#   pkg/detectors/huggingface (`\bhf_[a-zA-Z]{34}\b`), both citing huggingface.co/docs/hub/security-tokens.
# - Google (Gemini, GCP) API key: AIza + exactly 35 of [A-Za-z0-9_-] -- gitleaks rules/gcp.go.
# - GitHub: ghp_/gho_/ghu_/ghs_/ghr_ + 36 of [A-Za-z0-9] (GitHub changelog 2021-03-31,
#   "Authentication token format updates are generally available": prefixes, charset
#   [A-Za-z0-9_], same 40-character length, may grow to 255); fine-grained github_pat_ + 82 of
#   [A-Za-z0-9_] -- gitleaks rules/github.go "github-fine-grained-pat".
# - Groq: gsk_ + 48 alphanumerics -- gitleaks rules/groq.go.
# - W&B's new keys: wandb_v1_ + 77 (86 in all, e.g. wandb_v1_<27>_<49>); the SDK accepts 40+
#   characters of [A-Za-z0-9_] after the prefix (wandb/wandb PR #10688 "support api keys longer
#   than 40 chars"; wandb/sdk/lib/wbauth/validation.py; wandb/server issue #163, 86 characters).
# Every format also needs a random-looking body (see _looks_random), so placeholders such as
# hf_xxxx... or AIzaaaaa... are not refused.
KEY_FORMATS = (
    # (what it is, prefix, body): the token must be prefix + body as a whole
    ("OpenAI API key", r"sk-", r"[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}"),
    ("OpenAI project/service-account/admin key", r"sk-(?:proj|svcacct|admin)-", r"[A-Za-z0-9_-]{48,}"),
    ("Anthropic API key", r"sk-ant-[a-z]+[0-9]{2}-", r"[A-Za-z0-9_-]{40,}"),
    ("Hugging Face token", r"hf_", r"[A-Za-z]{34}"),
    ("Google API key", r"AIza", r"[A-Za-z0-9_-]{35}"),
    ("GitHub token", r"gh[pousr]_", r"[A-Za-z0-9]{36,251}"),
    ("GitHub fine-grained token", r"github_pat_", r"[A-Za-z0-9_]{82,}"),
    ("Groq API key", r"gsk_", r"[A-Za-z0-9]{48,}"),
    ("W&B API key", r"wandb_v[0-9]+_", r"[A-Za-z0-9_]{40,}"),
)
_KEY_FORMAT_RES = tuple((why, re.compile(f"(?:{prefix})({body})")) for why, prefix, body in KEY_FORMATS)

_SHORTEST_KEY = 37          # hf_ + 34 letters; every other format (and 40 hex) is longer

_CAMEL_WORDS_RE = re.compile(r"(?:[A-Z][a-z]+)+")

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")   # keys are whole runs of these characters

_PREFIXED_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*-[0-9a-fA-F]{40}")   # local-<40 hex>

_HEX40_RE = re.compile(r"[0-9a-fA-F]{40}")

_NAMED_KEY_RE = re.compile(
    r"""(?: api_key ["'\]\s]* [=:] | wandb\.login\( [^)\n]*? \bkey \s*= )
        \s* ["']? ([A-Za-z0-9_-]{40,}) (?![A-Za-z0-9_-])""", re.IGNORECASE | re.VERBOSE)

_URL_PATH_BEFORE_RE = re.compile(r"https?://[^\s/\"'<>]+/[^\s\"'<>]*$")

_PIN_BEFORE_RE = re.compile(r"[A-Za-z0-9_.\-/:]@$")       # name@<sha>: a revision pin

_WORD_BEFORE_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.]*)[\s\"'`=:(\[\]{},]*$")

# Mime types nbformat stores as plain text or JSON; any other mime bundle value is base64.
_PLAIN_MIME_RE = re.compile(r"^text/|json$|^application/(?:javascript|xml)$|\+xml$")


def _redact(secret):
    """Show only enough of a secret to find it again: first 4 characters and an ellipsis."""
    return secret[:4] + "…"


def _looks_random(body):
    """True when a key body mixes two of lower case / upper case / digits, has 10+ distinct
    characters and is not CamelCase words (``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`` is 34 letters).

    >>> [_looks_random(b) for b in ("x" * 34, "AutoModelForSequenceClassification",
    ...                             "ujzPdeIgxLdGncfBAepfJBdKhoOOLdKLzd")]
    [False, False, True]
    """
    classes = (any(c.islower() for c in body), any(c.isupper() for c in body),
               any(c.isdigit() for c in body))
    return sum(classes) >= 2 and len(set(body)) >= 10 and not _CAMEL_WORDS_RE.fullmatch(body)


def _prefixed_key(token):
    """The KEY_FORMATS name ``token`` matches as a whole (with a random-looking body), else None."""
    for why, pattern in _KEY_FORMAT_RES:
        match = pattern.fullmatch(token)
        if match and _looks_random(match.group(1)):
            return why
    return None


def _is_sha_context(before):
    """True when the text just before a bare 40-hex token says it is a git SHA, digest or pin."""
    before = before[-120:]
    if _URL_PATH_BEFORE_RE.search(before) or _PIN_BEFORE_RE.search(before):
        return True
    match = _WORD_BEFORE_RE.search(before)
    return bool(match) and any(part.lower() in SHA_CONTEXT_WORDS
                               for part in re.split(r"[_.]", match.group(1)))


def find_keys(text):
    """Return ``[(line number, redacted token, why)]`` for every API-key-like token in ``text``.

    The rule is documented in :func:`lab4.tools.release.release_notebook`; tokens are shown only
    by their first 4 characters.

    >>> find_keys("commit 9fceb02d0ae598e95dc970b74767f19372d61af8")
    []
    >>> find_keys("ok\\n0123456789abcdef0123456789abcdef01234567")[0][:2]
    (2, '0123…')
    """
    text = _ANSI_RE.sub("", text)
    found = {}
    for match in _NAMED_KEY_RE.finditer(text):
        found[match.start(1)] = (match.group(1), "value given to api_key/WANDB_API_KEY/login(key=)")
    for match in _TOKEN_RE.finditer(text):
        token, start = match.group(), match.start()
        if start in found or len(token) < _SHORTEST_KEY:
            continue
        why = _prefixed_key(token)
        if why:
            why = f"{why} format"
        elif _PREFIXED_KEY_RE.fullmatch(token):
            why = "'name-' followed by 40 hex characters (W&B local key)"
        elif _HEX40_RE.fullmatch(token):
            if _is_sha_context(text[text.rfind("\n", 0, start) + 1:start]):
                continue
            why = "40 hex characters (W&B key), not after commit/sha/git/..., name@ nor in a URL path"
        else:
            continue
        found[start] = (token, why)
    return [(text.count("\n", 0, pos) + 1, _redact(token), why)
            for pos, (token, why) in sorted(found.items())]


# ----------------------------------------------------------------------------- whole notebooks

def _join_lines(parts):
    """nbformat's multi-line strings: a list of lines; items without a newline are kept apart."""
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts[:-1]) + parts[-1]


def _decoded(value):
    """The UTF-8 text inside a base64 payload, or None (pictures, other binaries, not base64)."""
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", value), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text if text.strip() else None


def _walk(value, path):
    """Yield (path, text) for every string in a JSON value: dict keys, values, lists of lines."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        if value and all(isinstance(item, str) for item in value):
            yield path, _join_lines(value)
        else:
            for index, item in enumerate(value):
                yield from _walk(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key, "<key>"), str(key)
            yield from _walk(item, (*path, key))


def _safe(part):
    """A path part as printed: redacted when it is itself key-like (a secret used as a dict key)."""
    text = str(part)
    return _redact(text) if find_keys(text) else text


def _dotted(path):
    return "".join(f"[{p}]" if isinstance(p, int) else f".{_safe(p)}" for p in path).lstrip(".")


def _describe(path, cells):
    """Say where a JSON path is, in the words release uses (cell, output, attachment, metadata)."""
    if not (len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int)):
        return f"notebook {_dotted(path)}".rstrip()
    cell = cells[path[1]] if isinstance(cells[path[1]], dict) else {}
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    head = f"cell {path[1]} (id {_safe(cell.get('id', metadata.get('id', '?')))!r})"
    rest = path[2:]
    if rest == ("source",):
        return f"{head} source"
    if rest[:1] == ("attachments",) and len(rest) >= 3:
        tail = f" {_dotted(rest[3:])}" if rest[3:] else ""
        return f"{head} attachment {_safe(rest[1])!r} ({_safe(rest[2])}){tail}"
    if rest[:1] == ("outputs",) and len(rest) >= 3 and isinstance(rest[1], int):
        number, field = rest[1], rest[2]
        output = cell["outputs"][number] if isinstance(cell["outputs"][number], dict) else {}
        if field == "text" and len(rest) == 3:
            return f"{head} output {number} stream output ({_safe(output.get('name', '?'))})"
        if field in ("traceback", "ename", "evalue") and len(rest) == 3:
            return f"{head} output {number} error {field}"
        if field == "data" and len(rest) >= 4:
            tail = f" {_dotted(rest[4:])}" if rest[4:] else ""
            return f"{head} output {number} data ({_safe(rest[3])}){tail}"
        return f"{head} output {number} {_dotted(rest[2:])}"
    return f"{head} {_dotted(rest)}"


def _is_base64_payload(path):
    """Attachment payloads (any mime) and output data in non-text mime types are base64 in nbformat."""
    if len(path) == 5 and path[0] == "cells" and path[2] == "attachments":
        return True
    return (len(path) == 6 and path[0] == "cells" and path[2] == "outputs" and path[4] == "data"
            and not _PLAIN_MIME_RE.search(str(path[5])))


def scan_notebook_json(nb_json):
    """Return ``[(where, line, redacted token, why)]`` for keys anywhere in a notebook's JSON.

    Every string is scanned: cell sources, outputs (stream, error, every data mime type), cell
    attachments, cell and notebook metadata, even dict keys. Base64 payloads (attachments, and
    output data in non-text mime types) are also decoded and scanned when they hold UTF-8 text.
    """
    cells = nb_json.get("cells") if isinstance(nb_json, dict) else None
    cells = cells if isinstance(cells, list) else []
    findings = []
    for path, text in _walk(nb_json, ()):
        found = [("", *finding) for finding in find_keys(text)]
        if _is_base64_payload(path) and (decoded := _decoded(text)) is not None:
            found += [(" base64-decoded", *finding) for finding in find_keys(decoded)]
        if found:         # describing the place costs more than scanning: only for findings
            where = (f"{_describe(path[:-2], cells)} (a dict key)" if path[-1:] == ("<key>",)
                     else _describe(path, cells))
            findings += [(where + suffix, *finding) for suffix, *finding in found]
    return findings


def scan_notebook_text(text):
    """:func:`scan_notebook_json` on the text of a ``.ipynb`` file (raises ValueError on bad JSON)."""
    return scan_notebook_json(json.loads(text))


# ----------------------------------------------------------------------------- output text

def _as_text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def _output_texts(output):
    """Yield (where, text) for the readable text of one output (the TA summary reads these)."""
    kind = output.get("output_type")
    if kind == "stream":
        yield f"stream output ({output.get('name', 'stdout')})", _as_text(output.get("text", ""))
    elif kind == "error":
        text = "\n".join([_as_text(output.get("ename", "")), _as_text(output.get("evalue", "")),
                          *map(_as_text, output.get("traceback", []))])
        yield "error traceback", text
    else:
        for mime, value in output.get("data", {}).items():
            if not mime.startswith("image/"):     # base64 pictures hold no readable text
                yield f"data ({mime})", _as_text(value)
