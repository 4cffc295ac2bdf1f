"""The writer's queue: events taken whole, in order, while other threads keep adding to it."""

from __future__ import annotations

import threading

from headwater.history._batch import FLAT_FIELDS, TASK
from headwater.history._writer import FLUSH, take


def _flat(tag: str, n: int) -> tuple[object, ...]:
    """A flat event: its kind, then FLAT_FIELDS - 1 fields naming it."""
    return (TASK, *(f"{tag}.{n}.{k}" for k in range(FLAT_FIELDS - 1)))


def _events(flat: list[object]) -> list[tuple[object, ...]]:
    assert len(flat) % FLAT_FIELDS == 0, "a flat event was split"
    return [tuple(flat[i : i + FLAT_FIELDS]) for i in range(0, len(flat), FLAT_FIELDS)]


def test_take_splits_tuples_from_flat_events_and_stops_at_a_flush():
    queue: list[object] = []
    done = threading.Event()
    queue.append(("start",))
    queue.extend(_flat("a", 0))
    queue.extend(_flat("a", 1))
    queue.append((FLUSH, done))
    queue.extend(_flat("a", 2))
    queue.append(("end",))

    events, flat, flushes = take(queue, 100)
    assert events == [("start",)]
    assert _events(flat) == [_flat("a", 0), _flat("a", 1)]
    assert flushes == [done]
    # what follows the flush request stays queued, whole
    assert queue == [*_flat("a", 2), ("end",)]
    events, flat, flushes = take(queue, 100)
    assert (events, _events(flat), flushes, queue) == ([("end",)], [_flat("a", 2)], [], [])


def test_take_takes_at_most_limit_events_and_leaves_the_rest_whole():
    queue: list[object] = []
    for n in range(5):
        queue.extend(_flat("b", n))
        queue.append(("log", n))
    events, flat, _ = take(queue, 3)
    assert events == [("log", 0)]
    assert _events(flat) == [_flat("b", 0), _flat("b", 1)]
    assert queue[0] == ("log", 1)
    assert queue[1 : 1 + FLAT_FIELDS] == list(_flat("b", 2))
    events, flat, _ = take(queue, 1)
    assert (events, flat) == ([("log", 1)], [])
    events, flat, _ = take(queue, 1)
    assert (events, _events(flat)) == ([], [_flat("b", 2)])
    events, flat, _ = take(queue, 100)
    assert events == [("log", n) for n in (2, 3, 4)]
    assert _events(flat) == [_flat("b", 3), _flat("b", 4)]
    assert queue == []


def test_events_added_while_the_writer_takes_are_all_taken_once_in_order():
    queue: list[object] = []
    per_thread = 20_000
    go = threading.Event()

    def add(tag: str) -> None:
        go.wait()
        for n in range(per_thread):
            if n % 7 == 0:
                queue.append((tag, n))
            else:
                queue.extend(_flat(tag, n))

    threads = [threading.Thread(target=add, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    go.set()
    seen: dict[str, list[int]] = {f"t{i}": [] for i in range(4)}

    def note(events: list[tuple[object, ...]], flat: list[object]) -> None:
        for e in events:
            seen[str(e[0])].append(int(str(e[1])))
        for e in _events(flat):
            tag, n, k = str(e[1]).split(".")
            assert k == "0" and all(field == f"{tag}.{n}.{i}" for i, field in enumerate(e[1:])), (
                f"the fields of one event came apart: {e}"
            )
            seen[tag].append(int(n))

    while any(t.is_alive() for t in threads):
        events, flat, _ = take(queue, 50)
        note(events, flat)
    for t in threads:
        t.join()
    while queue:
        events, flat, _ = take(queue, 50)
        note(events, flat)
    for tag, numbers in seen.items():
        # tuples and flat events of one thread are taken in separate lists: each kind keeps
        # its order, and together they are every event the thread added, once
        assert sorted(numbers) == list(range(per_thread)), tag
        tuples = [n for n in numbers if n % 7 == 0]
        flats = [n for n in numbers if n % 7]
        assert tuples == sorted(tuples) and flats == sorted(flats), tag
