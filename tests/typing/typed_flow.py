"""A user's flow written against headwater's public API with full annotations.

``tests/typing/test_type_checkers.py`` checks that it passes ``mypy --strict`` and pyright in
strict mode (see the comment below), and runs it: it is a working flow too.
"""
# pyright: strict

from __future__ import annotations

import asyncio
import datetime
from typing import reveal_type

import headwater
from headwater import Flow, Parameter, Task, task, unmapped
from headwater.engine.state import Failed, State, Success
from headwater.flows import Flow as ModernFlow
from headwater.flows import flow as modern_flow
from headwater.states import State as ModernState
from headwater.task_runners import ThreadPoolTaskRunner
from headwater.tasks.control_flow import case, merge
from headwater.utilities.tasks import defaults_from_attrs


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task(name="square", max_retries=1, retry_delay=datetime.timedelta(seconds=0), tags=["math"])
def square(x: int, offset: int = 0) -> int:
    return x * x + offset


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def is_big(x: int) -> bool:
    return x > 10


@task
def describe(value: int, label: str = "total") -> str:
    return f"{label}: {value}"


@task
async def pause(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


class Add(Task):
    """The documented subclass: ``run`` takes the arguments it needs."""

    def run(self, x: int, y: int = 1) -> int:
        return x + y


class Greet(Task):
    def __init__(self, greeting: str = "hello") -> None:
        self.greeting = greeting
        super().__init__(name="greet")

    @defaults_from_attrs("greeting")
    def run(self, name: str, greeting: str | None = None) -> str:
        return f"{greeting} {name}"


with Flow("typed") as flow:
    n = Parameter("n", default=4)
    nums = numbers(n)
    squares = square.map(nums, offset=unmapped(1))
    summed = total(squares)
    bigger = Add()(summed, y=2)
    greeting = Greet()("typed flow")
    with case(is_big(summed), True):
        big = describe(summed, label="big")
    with case(is_big(summed), False):
        small = describe(summed, label="small")
    text = merge(big, small)
    napped = pause(0.01)
    napped.set_upstream(nums)
    after = describe(summed, upstream_tasks=[napped])
    flow.set_reference_tasks([text, bigger, after])

state = flow.run(n=4)
assert isinstance(state, Success), state
results: dict[Task, State] = state.result
assert results[summed].result == 18
assert results[text].result == "big: 18"
assert results[bigger].result == 20
assert results[greeting].result == "hello typed flow"
assert not isinstance(results[after], Failed)

# run() keeps the function's signature: this is how tasks are unit-tested
direct: int = total.run([1, 2, 3])
assert direct == 6 and square.run(3, offset=1) == 10
assert Add().run(1) == 2
reveal_type(total.run)


@modern_flow
def modern(n: int) -> int:
    """In a Prefect 2/3-style ``@flow`` the same tasks run when called and return values."""
    first: int = total(numbers(n))
    return first + square(3)


assert modern(4) == 15


# ----- Prefect 2/3's @flow: typed as the function it decorates ------------------------------
def remember(flow: object, flow_run: object, state: object) -> None:
    outcomes.append(str(state))


outcomes: list[str] = []


@headwater.flow(
    name="typed-modern", retries=1, retry_delay_seconds=0, log_prints=True, on_completion=[remember]
)
def scaled(values: list[int], factor: float = 1.0) -> float:
    return sum(values) * factor


@headwater.flow(task_runner=ThreadPoolTaskRunner(max_workers=2), timeout_seconds=30)
def squares_of(n: int) -> list[int]:
    futures = [square.submit(i) for i in range(n)]
    return [f.result() for f in futures]


@headwater.flow
async def fetched(n: int) -> str:
    await asyncio.sleep(0)
    return str(n)


@headwater.flow(history=False)
def nothing() -> None:
    pass


reveal_type(scaled)
reveal_type(scaled.fn)
value: float = scaled([1, 2], factor=2.0)
assert value == 6.0 and scaled.fn([1], 3.0) == 3.0
listed: list[int] = squares_of(3)
assert listed == [0, 1, 4]
text_value: str = asyncio.run(fetched(4))
assert text_value == "4"
nothing()
final: ModernState = scaled([1], return_state=True)
assert final.is_completed() and final.result() == 1.0


async def awaited_state() -> ModernState:
    return await fetched(1, return_state=True)


assert asyncio.run(awaited_state()).is_completed()
renamed = scaled.with_options(name="renamed", retries=0)
reveal_type(renamed)
assert renamed([2]) == 2.0 and outcomes
as_function: ModernFlow[[int], list[int]] = modern_flow(squares_of.fn)
assert as_function(2) == [0, 1]
