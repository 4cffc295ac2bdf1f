"""A writer killed mid-write never leaves a partial result behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from headwater.engine.results import LocalResult
from headwater.engine.results._files import is_temp_name

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

WRITER = textwrap.dedent(
    """
    import sys
    from headwater.engine.results import LocalResult

    result = LocalResult(dir=sys.argv[1], location="big.pkl")
    payload = b"x" * int(sys.argv[2])
    print("writing", flush=True)
    result.write(payload)
    print("done", flush=True)
    """
)

SIZE = 200 * 1024 * 1024
PREVIOUS = {"value": "previous good value"}


def _temp_files(directory: Path) -> list[Path]:
    return [directory / n for n in os.listdir(directory) if is_temp_name(n)]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _kill_writer_mid_write(directory: Path, result: LocalResult, location: str) -> list[int]:
    """Start a writer, watch its temp file grow, SIGKILL it; return the sizes seen.

    Every loop iteration also reads the result, which must be the previous value (or, if the
    writer finished before the kill, the whole new value) and never a partial one.
    """
    sizes: list[int] = []
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), str(SIZE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        try:
            _watch_and_kill(proc, directory, result, location, sizes)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return sizes if proc.returncode == -signal.SIGKILL else []


def _watch_and_kill(
    proc: subprocess.Popen, directory: Path, result: LocalResult, location: str, sizes: list[int]
) -> None:
    """Poll (with a deadline) until the writer's temp file has grown, then SIGKILL the writer."""
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    assert line == b"writing\n", (line, proc.stderr.read())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        value = result.read(location).value
        if value != PREVIOUS:  # the writer won the race: the new value must be complete
            assert value == b"x" * SIZE
            break
        temps = _temp_files(directory)
        if not temps:
            continue
        size = _size(temps[0])
        if size > 0:
            sizes.append(size)
        if (len(sizes) >= 2 and sizes[-1] > sizes[0]) or size >= SIZE:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)


def test_sigkill_mid_write_keeps_the_previous_value(tmp_path: Path) -> None:
    result = LocalResult(dir=tmp_path, location="big.pkl")
    first = result.write(PREVIOUS)
    sizes: list[int] = []
    for _ in range(3):  # the writer may outrun the watcher on a very fast disk: try again
        for leftover in _temp_files(tmp_path):
            leftover.unlink()
        result.write(PREVIOUS)
        sizes = _kill_writer_mid_write(tmp_path, result, first.location)
        if sizes and _temp_files(tmp_path):
            break
    else:
        pytest.fail("could not catch the writer in the middle of its write")

    # the temp file grew while the final file kept the previous value
    assert sizes[-1] > sizes[0] or sizes[-1] >= SIZE
    leftovers = _temp_files(tmp_path)
    assert len(leftovers) == 1
    assert result.read(first.location).value == PREVIOUS
    assert result.read("big.pkl").value == PREVIOUS

    # the leftover temp file is not a result, under its own name or the name it was meant for
    assert not result.exists(leftovers[0].name)
    with pytest.raises(FileNotFoundError):
        result.read(leftovers[0].name)
    (tmp_path / "big.pkl").unlink()
    assert not result.exists("big.pkl")
    with pytest.raises(FileNotFoundError):
        result.read("big.pkl")

    # a later write succeeds next to the leftover and is read back whole
    again = result.write({"value": "new"})
    assert result.read(again.location).value == {"value": "new"}
