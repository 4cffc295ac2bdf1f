"""Every result class the project ships passes the ResultContract."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from headwater.engine.result import Result
from headwater.engine.results import FSSpecResult, HeadwaterResult, LocalResult, PrefectResult
from headwater.engine.serializers import (
    CompressedSerializer,
    DateTimeSerializer,
    JSONSerializer,
    PickleSerializer,
)
from headwater.testing import ResultContract


class TestLocalResultContract(ResultContract):
    def make_result(self, tmp_path: Any) -> Result:
        return LocalResult(dir=tmp_path / "results")


class TestLocalResultJSONContract(ResultContract):
    def make_result(self, tmp_path: Any) -> Result:
        return LocalResult(dir=tmp_path, location="{task_name}.json", serializer=JSONSerializer())


class TestLocalResultCompressedContract(ResultContract):
    def make_result(self, tmp_path: Any) -> Result:
        return LocalResult(
            dir=tmp_path, serializer=CompressedSerializer(PickleSerializer(), format="zlib")
        )


class TestLocalResultFromFixture(ResultContract):
    @pytest.fixture
    def make_result(self, tmp_path: Any) -> Result:
        return LocalResult(dir=tmp_path, location="fixture/{task_name}.pkl")


class TestFSSpecFileContract(ResultContract):
    def make_result(self, tmp_path: Any) -> Result:
        return FSSpecResult(f"file://{tmp_path}/fs/{{task_name}}.pkl")

    def put_bytes(self, result: Result, location: str, data: bytes) -> None:
        super().put_bytes(result, location.removeprefix("file://"), data)

    def list_names(self, result: Result, location: str) -> list[str]:
        return super().list_names(result, location.removeprefix("file://"))


class TestFSSpecMemoryContract(ResultContract):
    def make_result(self, tmp_path: Any) -> Result:
        # a unique root per test keeps the process-wide memory filesystem isolated
        return FSSpecResult(f"memory://contract-{uuid.uuid4().hex}/{{flow_name}}/{{task_name}}.pkl")

    def _fs(self) -> Any:
        import fsspec

        return fsspec.filesystem("memory")

    def put_bytes(self, result: Result, location: str, data: bytes) -> None:
        self._fs().pipe_file(location, data)

    def list_names(self, result: Result, location: str) -> list[str]:
        parent = location.rsplit("/", 1)[0]
        return [os.path.basename(p) for p in self._fs().ls(parent, detail=False)]


class TestHeadwaterResultContract(ResultContract):
    supports_templates = False
    stores_data = False

    def make_result(self, tmp_path: Any) -> Result:
        return HeadwaterResult()

    def foreign_serializer(self, result: Result) -> Any:
        return DateTimeSerializer()  # the only other serializer a HeadwaterResult takes

    def corrupt_location(self, result: Result, written: Result, data: bytes) -> str:
        return data.decode("utf-8", "replace")


def test_prefect_result_is_the_same_class() -> None:
    assert PrefectResult is HeadwaterResult
