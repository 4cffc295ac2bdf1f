"""Stable hashes: the same digest in every process and every version (entries on disk use them)."""

from __future__ import annotations

import collections
import datetime
import decimal
import pathlib
import uuid

import pytest

from headwater.engine.caching.hashing import UnhashableInputError, stable_hash
from headwater.engine.caching.in_process import input_tokens

# digests written by earlier versions: a change here makes every persistent cache entry miss
KNOWN = {
    "none": (None, "8ce86a6ae65d3692e7305e2c58ac62eebd97d3d943e093f577da25c36988246b"),
    "bool": (True, "5b950e77941d01cdf246d00b1ece546bc95234b77d98b44c9187e2733afa696a"),
    "int": (
        12345678901234567890,
        "8909da77b617708c3202bd97eb481ab5b62656112c02b4a0740933b11971f8ce",
    ),
    "float": (1.5, "a2e3cadf5be8bbaa24426bd9b10867f454bc55544d64e085c1fdac1a079a0259"),
    "str": ("héllo", "fff94593986370bb20abf0634158ac1527bd2103cd4fa1e5c1a3f8d4f89aa70e"),
    "bytes": (b"ab", "2fb37b23b48aa7a97aff5e5dd2ac35caae344d924442aee523c61eee1b977c29"),
    "nested": (
        [1, (2, "x"), {"k": {1, 2}}],
        "0f76d4797cb5b1aea1262e4299b3c84087fd1b36de3a203dbbcef8888a8e9b2a",
    ),
    "datetime": (
        datetime.datetime(2020, 1, 2, 3, 4, 5),
        "848c5bc3136a081906f20f6dd7be7847f1086dee11b89329209c6c2a359ce77a",
    ),
    "timedelta": (
        datetime.timedelta(days=1, seconds=3),
        "bd91a275845ca1cb3c68dd4fcc827d08026962dc196a5129c4898ceb30fb3418",
    ),
    "decimal": (
        decimal.Decimal("1.5"),
        "57be7b0c3266a51e042e60c97c22e448529bc7ba7aadc0d601caeee2f70881c4",
    ),
    "uuid": (uuid.UUID(int=5), "6ec55427334bb4886d616df0f9f9796c66b0f42bd3d75a89e7a8b8805dff7fcd"),
    "path": (
        pathlib.PurePosixPath("/a/b"),
        "dd0d9bb1641ce95d2aac0be1cd715bbbbcf5773f89dbf39a31a7c86e3f1e3764",
    ),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_digests_do_not_change(name: str) -> None:
    value, digest = KNOWN[name]
    assert stable_hash(value) == digest


def test_types_and_subclasses_are_told_apart() -> None:
    Point = collections.namedtuple("Point", "x y")
    assert stable_hash(1) != stable_hash(1.0) != stable_hash("1") != stable_hash(True)
    assert stable_hash((1, 2)) != stable_hash([1, 2]) != stable_hash(Point(1, 2))
    assert stable_hash(datetime.date(2020, 1, 2)) != stable_hash(datetime.datetime(2020, 1, 2))
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})


def test_an_unhashable_value_is_named_where_it_sits() -> None:
    with pytest.raises(UnhashableInputError, match=r"value\[1\]\['k'\] \(a object\)"):
        stable_hash([1, {"k": object()}])


def test_input_tokens_leave_out_what_dask_cannot_tokenize() -> None:
    class NoToken:
        def __dask_tokenize__(self) -> object:
            raise TypeError("no")

    tokens = input_tokens({"x": 1, "y": NoToken()})
    assert list(tokens) == ["x"] and input_tokens({}) == {}
