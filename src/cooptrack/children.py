"""Second interpreters that read and check an import's file while the importing process writes
(Comtrade, CSV, IATI): started through ``subprocess``, so they are safe to start from the web
server's threads, and running the same cooptrack as the process that starts them."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

import cooptrack


def child_env() -> dict[str, str]:
    """This process's environment, with this cooptrack first on the child's ``sys.path``
    (whatever the working folder or the way this one was installed)."""
    env = dict(os.environ)
    package_root = str(Path(cooptrack.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def start_reader(boot: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """A new interpreter running the code ``boot``, with pipes on its standard input and output;
    its standard error goes to a temporary file (returned; the caller closes it), so a child
    writing much there never blocks."""
    errors = tempfile.TemporaryFile()  # noqa: SIM115  (closed by the caller)
    try:
        # -P: not the working folder first on sys.path, where a file could shadow a module.
        process = subprocess.Popen([sys.executable, "-P", "-c", boot], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=errors, env=child_env(), close_fds=True)
    except BaseException:
        errors.close()
        raise
    return process, errors


def stop_child(process: subprocess.Popen[bytes], wait: bool) -> int | None:
    """The child's exit code: waited for (up to 30 s, then killed) with ``wait``, else killed
    first if it still runs."""
    if process.poll() is None and not wait:
        process.kill()
    try:
        return process.wait(timeout=30 if wait else None)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
