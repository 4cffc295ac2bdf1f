"""A tiny demo flow to try headwater with: greet someone by name.

Run it with the default name, or another one::

    from headwater.hello_world import hello_flow

    state = hello_flow.run()              # logs "Hello World"
    state = hello_flow.run(name="marvin") # logs "Hello Marvin"
    assert state.is_successful()
"""

from __future__ import annotations

from headwater import Flow, Parameter, task

__all__ = ["capitalize", "hello_flow", "say_hello"]


@task(log_stdout=True)
def say_hello(to: str) -> None:
    """Print the greeting (``log_stdout`` sends it to the task's logger)."""
    print(f"Hello {to}")


@task
def capitalize(word: str) -> str:
    """The word with a capital first letter."""
    return word.capitalize()


with Flow("hello-world") as hello_flow:
    name = Parameter("name", default="world")
    say_hello(capitalize(name))
