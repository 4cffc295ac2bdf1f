"""Concurrency and rate limits: in threads, across processes, in asyncio, from config."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import threading
import time

import pytest

from headwater.concurrency import (
    AcquireConcurrencySlotTimeoutError,
    ConcurrencySlotAcquisitionError,
    Rate,
    clear_limits,
    parse_rate,
    set_concurrency_limit,
    set_rate_limit,
)
from headwater.concurrency import asyncio as hw_asyncio
from headwater.concurrency.sync import concurrency, rate_limit
from headwater.engine.schedule_loop import ManualClock
from headwater.utilities.configuration import set_temporary_config


@pytest.fixture(autouse=True)
def _fresh(headwater_home):
    clear_limits()
    yield headwater_home
    clear_limits()


def start_clock():
    return ManualClock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


class TestRates:
    def test_parse(self):
        assert parse_rate("10/s") == Rate(10, 10.0)
        assert parse_rate("1/5s") == Rate(1, 0.2)
        assert parse_rate("120/min") == Rate(120, 2.0)
        assert parse_rate("24 / h") == Rate(24, 24 / 3600)
        with pytest.raises(ValueError, match='"N/s"'):
            parse_rate("fast")
        with pytest.raises(ValueError, match="with N > 0"):
            parse_rate("0/s")


class TestConcurrencyInThreads:
    def test_the_limit_bounds_parallel_holders(self):
        set_concurrency_limit("db", 2)
        active, peak, lock = [0], [0], threading.Lock()
        start = threading.Barrier(6)

        def work():
            start.wait()
            for _ in range(5):
                with concurrency("db"):
                    with lock:
                        active[0] += 1
                        peak[0] = max(peak[0], active[0])
                    time.sleep(0.002)  # the work done while holding a slot
                    with lock:
                        active[0] -= 1

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 1 <= peak[0] <= 2

    def test_a_full_limit_times_out_then_frees(self):
        set_concurrency_limit("db", 2)
        with concurrency("db", occupy=2):
            with pytest.raises(AcquireConcurrencySlotTimeoutError, match="'db'"):
                with concurrency("db", timeout_seconds=0.05):
                    pass
        with concurrency("db", occupy=2, timeout_seconds=1):
            pass

    def test_waiting_thread_gets_the_slot_when_it_is_freed(self):
        set_concurrency_limit("db", 1)
        got = threading.Event()

        def waiter():
            with concurrency("db", timeout_seconds=30):
                got.set()

        with concurrency("db"):
            t = threading.Thread(target=waiter)
            t.start()
            assert not got.wait(0.05)
        t.join(30)
        assert got.is_set()

    def test_several_names_all_or_nothing(self):
        set_concurrency_limit("a", 1)
        set_concurrency_limit("b", 1)
        with concurrency("b"):
            with pytest.raises(TimeoutError):
                with concurrency(["a", "b"], timeout_seconds=0.05):
                    pass
            with concurrency("a", timeout_seconds=0.05):  # "a" was given back
                pass

    def test_unknown_names_pass_unless_strict(self):
        with concurrency("nothing-declared"):
            pass
        with pytest.raises(ConcurrencySlotAcquisitionError, match=r"\[concurrency.limits\]"):
            with concurrency("nothing-declared", strict=True):
                pass

    def test_occupy_beyond_the_limit_is_an_error(self):
        set_concurrency_limit("db", 2)
        with pytest.raises(ConcurrencySlotAcquisitionError, match="only 2"):
            with concurrency("db", occupy=3):
                pass
        with pytest.raises(ValueError, match="occupy"):
            with concurrency("db", occupy=0):
                pass

    def test_limits_from_config(self):
        with set_temporary_config({"concurrency.limits.db": 1}):
            with concurrency("db"):
                with pytest.raises(TimeoutError):
                    with concurrency("db", timeout_seconds=0.05):
                        pass
        with set_temporary_config({"concurrency.limits.db": "many"}):
            with pytest.raises(ValueError, match="whole number"):
                with concurrency("db"):
                    pass


class TestRateLimit:
    def test_takes_are_spaced_by_the_rate(self):
        set_rate_limit("api", "1/0.5s")
        clock = start_clock()
        times = []
        for _ in range(5):
            rate_limit("api", clock=clock)
            times.append(clock.now().timestamp())
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert all(g >= 0.5 - 1e-6 for g in gaps), gaps
        assert clock.slept and all(s <= 0.5 + 1e-6 for s in clock.slept)

    def test_bursts_up_to_the_bucket(self):
        set_rate_limit("api", "3/s")
        clock = start_clock()
        for _ in range(3):
            rate_limit("api", clock=clock)
        assert clock.slept == []
        rate_limit("api", clock=clock)
        assert clock.slept and clock.slept[0] == pytest.approx(1 / 3)

    def test_timeout_and_strict(self):
        set_rate_limit("api", "1/10s")
        clock = start_clock()
        rate_limit("api", clock=clock)
        with pytest.raises(AcquireConcurrencySlotTimeoutError, match="within 1 seconds"):
            rate_limit("api", timeout_seconds=1, clock=clock)
        with pytest.raises(ConcurrencySlotAcquisitionError, match="no rate limit"):
            rate_limit("undeclared", strict=True)
        rate_limit("undeclared")
        rate_limit([])

    def test_rate_from_config(self):
        clock = start_clock()
        with set_temporary_config({"concurrency.rate_limits.api": "2/s"}):
            for _ in range(4):
                rate_limit("api", clock=clock)
        assert sum(clock.slept) == pytest.approx(1.0)

    def test_concurrency_on_a_rate_limited_name_takes_rate_slots(self):
        set_rate_limit("api", "1/s")
        clock = start_clock()
        with concurrency("api", clock=clock):
            pass
        with concurrency("api", clock=clock):
            pass
        assert sum(clock.slept) == pytest.approx(1.0)


class TestAsyncio:
    def test_async_concurrency_bounds_tasks(self):
        set_concurrency_limit("db", 2)
        active, peak = [0], [0]

        async def one():
            async with hw_asyncio.concurrency("db"):
                active[0] += 1
                peak[0] = max(peak[0], active[0])
                await asyncio.sleep(0.005)
                active[0] -= 1

        async def main():
            await asyncio.gather(*(one() for _ in range(6)))

        asyncio.run(main())
        assert 1 <= peak[0] <= 2

    def test_async_rate_limit(self):
        set_rate_limit("api", "1/s")
        clock = start_clock()

        async def main():
            await hw_asyncio.rate_limit("api", clock=clock)
            await hw_asyncio.rate_limit("api", clock=clock)

        asyncio.run(main())
        assert sum(clock.slept) == pytest.approx(1.0)


HOLDER = """
import sys, time
from headwater.concurrency import set_concurrency_limit
from headwater.concurrency.sync import concurrency
set_concurrency_limit("db", 1)
try:
    with concurrency("db", timeout_seconds=float(sys.argv[1])):
        print("acquired", flush=True)
except TimeoutError:
    print("timeout", flush=True)
"""

WORKER = """
import json, os, sys, time
from headwater.concurrency import set_concurrency_limit, set_rate_limit
from headwater.concurrency.sync import concurrency, rate_limit
set_concurrency_limit("db", 2)
set_rate_limit("api", "1/0.05s")
mode, out = sys.argv[1], sys.argv[2]
for _ in range(3):
    if mode == "rate":
        rate_limit("api")
        with open(out, "a") as f:
            f.write(json.dumps(["take", time.time()]) + "\\n")
        continue
    with concurrency("db"):
        with open(out, "a") as f:
            f.write(json.dumps(["in", time.time()]) + "\\n")
        time.sleep(0.02)  # the work done while holding the slot
        with open(out, "a") as f:
            f.write(json.dumps(["out", time.time()]) + "\\n")
"""


def _run(code, *args, timeout=60):
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class TestAcrossProcesses:
    def test_a_slot_held_here_blocks_another_process(self):
        set_concurrency_limit("db", 1)
        with concurrency("db"):
            out, err = _run(HOLDER, 0.2).communicate(timeout=60)
            assert out.strip() == "timeout", err
        out, err = _run(HOLDER, 30).communicate(timeout=60)
        assert out.strip() == "acquired", err

    def test_a_killed_holder_frees_its_slot(self):
        holder = _run(
            "import sys, time\n"
            "from headwater.concurrency import set_concurrency_limit\n"
            "from headwater.concurrency.sync import concurrency\n"
            "set_concurrency_limit('db', 1)\n"
            "with concurrency('db'):\n"
            "    print('holding', flush=True)\n"
            "    sys.stdin.read()\n"
        )
        assert holder.stdout.readline().strip() == "holding"
        set_concurrency_limit("db", 1)
        with pytest.raises(TimeoutError):
            with concurrency("db", timeout_seconds=0.05):
                pass
        holder.kill()
        holder.communicate()
        with concurrency("db", timeout_seconds=30):
            pass

    def test_a_forked_child_does_not_keep_the_slot(self):
        import multiprocessing

        set_concurrency_limit("db", 1)
        ctx = multiprocessing.get_context("fork")
        release = ctx.Event()
        with concurrency("db"):
            child = ctx.Process(target=release.wait, args=(60,))
            child.start()
        try:
            out, err = _run(HOLDER, 5).communicate(timeout=60)
            assert out.strip() == "acquired", err
        finally:
            release.set()
            child.join(60)

    def test_the_limit_bounds_holders_in_several_processes(self, tmp_path):
        log = tmp_path / "events.jsonl"
        procs = [_run(WORKER, "slots", log) for _ in range(4)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        events = sorted(json.loads(line)[::-1] for line in log.read_text().splitlines())
        active = peak = 0
        for _, kind in events:
            active += 1 if kind == "in" else -1
            peak = max(peak, active)
        assert len(events) == 24
        assert 1 <= peak <= 2

    def test_a_rate_limit_spaces_takes_of_several_processes(self, tmp_path):
        log = tmp_path / "takes.jsonl"
        started = time.time()
        procs = [_run(WORKER, "rate", log) for _ in range(2)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        takes = sorted(json.loads(line)[1] for line in log.read_text().splitlines())
        assert len(takes) == 6
        # a bucket of one slot refilled every 0.05 s: the sixth take comes 5 refills after the first
        assert takes[-1] - started >= 5 * 0.05 - 0.01
