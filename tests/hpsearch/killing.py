"""Kill a search mid-run, as a user's Ctrl-\\ or the OOM killer would: SIGKILL, no cleanup."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd


def kill_after(script, progress, rows, timeout=60):
    """Run `script` in a fresh Python process and SIGKILL it as soon as the CSV file
    `progress` (a results directory's generations.csv) has `rows` rows."""
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if progress.exists() and len(pd.read_csv(progress)) >= rows:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
