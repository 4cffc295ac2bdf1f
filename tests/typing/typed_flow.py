"""A user's flow written against headwater's public API with full annotations.

``tests/typing/test_type_checkers.py`` checks that it passes ``mypy --strict`` and pyright in
strict mode (see the comment below), and runs it: it is a working flow too.
"""
# pyright: strict

from __future__ import annotations

import asyncio
import datetime
from typing import reveal_type

from headwater import Flow, Parameter, Task, task, unmapped
from headwater.engine.state import Failed, State, Success
from headwater.flows import flow as modern_flow
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
