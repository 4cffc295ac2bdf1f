"""Mistakes that type checkers must report in code using headwater's public API.

Each line ending in ``# error`` holds one mistake; ``tests/typing/test_type_checkers.py``
checks that ``mypy --strict`` and pyright (strict) report exactly those lines. The file is
never run.
"""
# pyright: strict

from __future__ import annotations

import headwater
from headwater import Flow, Parameter, Task, task


@task
def square(x: int, offset: int = 0) -> int:
    return x * x + offset


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task(max_retries="3")  # error
def broken(xs: list[int]) -> int:
    return sum(xs)


class Add(Task):
    def run(self, x: int, y: int = 1) -> int:
        return x + y


total.run("x", nonexistent=2)  # error
square.run("x")  # error
square.run(3, nonexistent=2)  # error
label: str = square.run(3)  # error
Add().run("x")  # error

with Flow("mistakes") as flow:
    n = Parameter("n", default=3)
    square(n, nonexistent=2)  # error
    square(n, 2, 3)  # error
    square("three")  # error
    square()  # error
    total(xs=n, upstream_tasks=[n])

flow.run(parameters=3)  # error


@headwater.flow
def modern(n: int, label: str = "n") -> int:
    return n


@headwater.flow(name="async-modern")
async def fetched(n: int) -> str:
    return str(n)


@headwater.flow(retries="2")  # error
def misconfigured() -> None:
    pass


modern("three")  # error
modern(3, label=4)  # error
modern(3, nonexistent=1)  # error
modern()  # error
wrong: str = modern(3)  # error
modern.fn("three")  # error
modern.with_options(nonexistent=1)  # error
modern.with_options(retries="1")(3)  # error
not_awaited: str = fetched(3)  # error
