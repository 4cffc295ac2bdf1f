"""Blocks: ``LocalFileSystem`` and ``Secret``, saved locally; other blocks name the local way."""

from __future__ import annotations

import os

import pytest

from headwater.blocks import BlockNotFoundError
from headwater.blocks.system import Secret
from headwater.exceptions import ServerNotAvailableError
from headwater.filesystems import S3, LocalFileSystem, RemoteFileSystem
from headwater.utilities.configuration import set_temporary_config


@pytest.fixture(autouse=True)
def _home(headwater_home):
    return headwater_home


def test_local_file_system_reads_and_writes_inside_its_basepath(tmp_path):
    fs = LocalFileSystem(basepath=str(tmp_path))
    path = fs.write_path("a/b.txt", b"data")
    assert path == str(tmp_path / "a" / "b.txt") and fs.read_path("a/b.txt") == b"data"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError, match="outside its basepath"):
        fs.read_path("../elsewhere")
    with pytest.raises(ValueError, match="no file"):
        fs.read_path("missing")
    with pytest.raises(TypeError, match="basepath must be a path"):
        LocalFileSystem(basepath=3)  # type: ignore[arg-type]


def test_directories_are_copied(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.txt").write_text("x")
    fs = LocalFileSystem(basepath=str(tmp_path / "remote"))
    fs.put_directory(str(src))
    fs.get_directory(local_path=str(tmp_path / "back"))
    assert (tmp_path / "back" / "f.txt").read_text() == "x"


def test_saving_and_loading_by_name(headwater_home, tmp_path):
    LocalFileSystem(basepath=str(tmp_path)).save("results")
    assert LocalFileSystem.load("results") == LocalFileSystem(basepath=str(tmp_path))
    assert (headwater_home / "blocks" / "local-file-system" / "results.json").is_file()
    with pytest.raises(ValueError, match="already saved"):
        LocalFileSystem(basepath="/x").save("results")
    LocalFileSystem(basepath="/x").save("results", overwrite=True)
    assert LocalFileSystem.load("results").basepath == "/x"
    with pytest.raises(BlockNotFoundError, match="save\\('nothing'\\)"):
        LocalFileSystem.load("nothing")
    with pytest.raises(ValueError, match="block name"):
        LocalFileSystem().save("Bad Name")


def test_secret_is_masked_never_saved_and_loaded_from_local_secrets():
    secret = Secret(value="s3cr3t-marker")
    assert secret.get() == "s3cr3t-marker" and "s3cr3t" not in repr(secret)
    with pytest.raises(ServerNotAvailableError, match=r"\[context.secrets\]"):
        secret.save("api")
    with set_temporary_config({"context.secrets.API_KEY": "from-config"}):
        assert Secret.load("API_KEY").get() == "from-config"
    with pytest.raises(BlockNotFoundError, match="HEADWATER__CONTEXT__SECRETS__NAME"):
        Secret.load("NOT_SET")


def test_remote_file_systems_name_the_local_alternative():
    for cls in (RemoteFileSystem, S3):
        with pytest.raises(ServerNotAvailableError, match="LocalFileSystem"):
            cls(basepath="s3://bucket")
