"""Helper for the Ray engine test: an extraction task that kills the Ray worker running it.

It runs in the extraction process that the Ray worker's batch starts, so the Ray worker is its parent; the worker's
death takes this process with it (PR_SET_PDEATHSIG in yusuan.extract.worker)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from yusuan.extract.worker import extract_one

KILLER_PREFIX = "kill-ray-worker-"


def kills_its_ray_worker(path: str, timeout: float | None = None):
    if Path(path).name.startswith(KILLER_PREFIX):
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(60)
    return extract_one(path, timeout)
