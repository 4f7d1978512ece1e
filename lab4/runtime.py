"""Step 1's runtime: seeds, whether we run on Colab, and whether a host answers (the network check that
lets every online path fall back instead of hanging).
"""

from __future__ import annotations

import os
import sys

import numpy as np


SEED = 42  # one seed for sampling, the offline candidate's head and perturbations: re-runs agree

NETWORK_TIMEOUT_S = 3.0  # a reachability check must answer in seconds: a fallback beats a hang

HUB_URL = "https://huggingface.co"  # the Hugging Face hub; the user's HF_ENDPOINT (a mirror) replaces it


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def _answers(url: str, *, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """True when an HTTP(S) request to ``url`` gets any HTTP answer within ``timeout`` seconds.

    Name lookup, TCP and TLS are all inside the bound: the probe runs in a daemon thread, because a
    stalled DNS lookup ignores socket timeouts. An HTTP error status (401, 404, ...) still means the
    server answered; a bare TCP connect is not enough (proxies and captive portals accept those).
    """
    import threading
    import urllib.error
    import urllib.request

    answer: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                answer.append(True)
        except urllib.error.HTTPError:
            answer.append(True)
        except Exception:  # noqa: BLE001 -- DNS, refused, TLS, timeout: all mean "not reachable"
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def default_hub_url() -> str:
    """The hub address the ``huggingface_hub`` library will use: the user's ``HF_ENDPOINT``, else HUB_URL."""
    return os.environ.get("HF_ENDPOINT") or HUB_URL


def hub_switched_off() -> bool:
    """True when the *user* switched the hub off with ``HF_HUB_OFFLINE`` (the lab never sets it itself)."""
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in ("0", "", "false", "no", "off")


def hub_reachable(*, url: str | None = None, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """True when the Hugging Face hub answers within ``timeout`` seconds and the user has not switched it off.

    ``url``: where to ask (default :func:`default_hub_url`); tests point it at a local server. The lab
    never writes ``HF_HUB_OFFLINE`` or any other environment variable, so loading the offline models
    never switches the hub off for the rest of the kernel.
    """
    if hub_switched_off():
        return False
    return _answers(url or default_hub_url(), timeout=timeout)


def set_seed(seed: int = SEED) -> int:
    """Seed Python, NumPy and (if installed) torch so a re-run gives the same numbers."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass
    return seed
