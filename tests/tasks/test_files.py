from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from headwater import Flow, task
from headwater.executors import LocalExecutor
from headwater.tasks.files import Copy, Glob, Move, Remove, Unzip, Zip


@pytest.fixture
def tree(tmp_path):
    """tmp/src/{a.txt, b.csv, sub/c.txt}"""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "b.csv").write_text("B")
    (src / "sub" / "c.txt").write_text("C")
    return tmp_path


@task
def read_text(path):
    return Path(path).read_text()


def run_flow(flow):
    return flow.run(executor=LocalExecutor())


# -- Move ---------------------------------------------------------------------------------------
class TestMove:
    def test_rename_file(self, tree):
        out = Move().run(source_path=tree / "src" / "a.txt", target_path=tree / "renamed.txt")
        assert out == tree / "renamed.txt"
        assert out.read_text() == "A"
        assert not (tree / "src" / "a.txt").exists()

    def test_into_existing_directory(self, tree):
        (tree / "dest").mkdir()
        out = Move(target_path=str(tree / "dest")).run(source_path=str(tree / "src" / "a.txt"))
        assert out == tree / "dest" / "a.txt"
        assert out.read_text() == "A"

    def test_creates_missing_parents(self, tree):
        out = Move().run(source_path=tree / "src" / "a.txt", target_path=tree / "x" / "y" / "a")
        assert out.read_text() == "A"

    def test_directory(self, tree):
        out = Move().run(source_path=tree / "src", target_path=tree / "moved")
        assert (out / "sub" / "c.txt").read_text() == "C"
        assert not (tree / "src").exists()

    def test_replaces_existing_file(self, tree):
        (tree / "old.txt").write_text("old")
        Move().run(source_path=tree / "src" / "a.txt", target_path=tree / "old.txt")
        assert (tree / "old.txt").read_text() == "A"

    def test_missing_source(self, tree):
        with pytest.raises(FileNotFoundError, match=r"`source_path` '.*nope' does not exist"):
            Move().run(source_path=tree / "nope", target_path=tree / "x")

    @pytest.mark.parametrize("value", ["", None])
    def test_no_source(self, tree, value):
        with pytest.raises(ValueError, match=r"Move 'Move': no `source_path` given"):
            Move().run(source_path=value, target_path=tree / "x")

    def test_no_target(self, tree):
        with pytest.raises(ValueError, match="no `target_path` given"):
            Move().run(source_path=tree / "src" / "a.txt")

    def test_source_wrong_type(self, tree):
        with pytest.raises(
            TypeError, match="`source_path` must be a str or path-like object, got int"
        ):
            Move().run(source_path=3, target_path=tree / "x")

    def test_same_path(self, tree):
        with pytest.raises(ValueError, match="are the same path"):
            Move().run(source_path=tree / "src", target_path=tree)

    def test_directory_over_existing_directory(self, tree):
        (tree / "dest" / "src").mkdir(parents=True)
        with pytest.raises(FileExistsError, match="already exists"):
            Move().run(source_path=tree / "src", target_path=tree / "dest")
        assert (tree / "src" / "a.txt").exists()


# -- Copy ---------------------------------------------------------------------------------------
class TestCopy:
    def test_file(self, tree):
        out = Copy().run(source_path=tree / "src" / "a.txt", target_path=tree / "copy.txt")
        assert out.read_text() == "A"
        assert (tree / "src" / "a.txt").exists()

    def test_file_keeps_modification_time(self, tree):
        src = tree / "src" / "a.txt"
        os.utime(src, (1_000_000_000, 1_000_000_000))
        out = Copy().run(source_path=src, target_path=tree / "copy.txt")
        assert out.stat().st_mtime == 1_000_000_000

    def test_file_into_directory(self, tree):
        (tree / "dest").mkdir()
        out = Copy().run(source_path=tree / "src" / "a.txt", target_path=tree / "dest")
        assert out == tree / "dest" / "a.txt"

    def test_directory_tree(self, tree):
        out = Copy().run(source_path=tree / "src", target_path=tree / "copy")
        assert (out / "sub" / "c.txt").read_text() == "C"
        assert (tree / "src" / "sub" / "c.txt").exists()

    def test_directory_into_existing_directory(self, tree):
        (tree / "dest").mkdir()
        out = Copy().run(source_path=tree / "src", target_path=tree / "dest")
        assert out == tree / "dest" / "src"
        assert (out / "a.txt").read_text() == "A"

    def test_missing_source(self, tree):
        with pytest.raises(FileNotFoundError, match="`source_path` .* does not exist"):
            Copy().run(source_path=tree / "nope", target_path=tree / "x")

    def test_no_target(self, tree):
        with pytest.raises(ValueError, match=r"Copy 'Copy': no `target_path` given"):
            Copy(source_path=tree / "src" / "a.txt").run()

    def test_target_wrong_type(self, tree):
        with pytest.raises(
            TypeError, match="`target_path` must be a str or path-like object, got list"
        ):
            Copy().run(source_path=tree / "src" / "a.txt", target_path=[tree])

    def test_file_over_directory(self, tree):
        (tree / "dest" / "a.txt").mkdir(parents=True)
        with pytest.raises(IsADirectoryError, match="cannot replace the directory"):
            Copy().run(source_path=tree / "src" / "a.txt", target_path=tree / "dest")

    def test_directory_onto_file(self, tree):
        (tree / "file").write_text("x")
        with pytest.raises(FileExistsError, match="is a file"):
            Copy().run(source_path=tree / "src", target_path=tree / "file")


# -- Remove -------------------------------------------------------------------------------------
class TestRemove:
    def test_file(self, tree):
        Remove().run(path=tree / "src" / "a.txt")
        assert not (tree / "src" / "a.txt").exists()

    def test_directory_tree(self, tree):
        Remove(path=str(tree / "src")).run()
        assert not (tree / "src").exists()

    def test_symlink_removes_the_link_only(self, tree):
        link = tree / "link"
        link.symlink_to(tree / "src", target_is_directory=True)
        Remove().run(path=link)
        assert not os.path.lexists(link)
        assert (tree / "src" / "a.txt").exists()

    def test_missing(self, tree):
        with pytest.raises(FileNotFoundError, match="`path` '.*nope' does not exist"):
            Remove().run(path=tree / "nope")

    def test_no_path(self):
        with pytest.raises(ValueError, match=r"Remove 'Remove': no `path` given"):
            Remove().run()

    def test_wrong_type(self):
        with pytest.raises(TypeError, match="`path` must be a str or path-like object, got float"):
            Remove().run(path=1.5)


# -- Glob ---------------------------------------------------------------------------------------
class TestGlob:
    def test_default_pattern_lists_directory_sorted(self, tree):
        out = Glob(path=tree / "src").run()
        assert out == [tree / "src" / "a.txt", tree / "src" / "b.csv", tree / "src" / "sub"]

    def test_recursive_pattern(self, tree):
        out = Glob().run(path=tree, pattern="**/*.txt")
        assert [p.name for p in out] == ["a.txt", "c.txt"]

    def test_defaults_to_working_directory(self, tree, monkeypatch):
        monkeypatch.chdir(tree / "src")
        assert [p.name for p in Glob(pattern="*.csv").run()] == ["b.csv"]

    def test_no_match_is_empty(self, tree):
        assert Glob().run(path=tree, pattern="*.parquet") == []

    def test_missing_directory(self, tree):
        with pytest.raises(FileNotFoundError, match="`path` .*nope' does not exist"):
            Glob().run(path=tree / "nope")

    def test_path_is_a_file(self, tree):
        with pytest.raises(NotADirectoryError, match="is not a directory"):
            Glob().run(path=tree / "src" / "a.txt")

    def test_empty_pattern(self, tree):
        with pytest.raises(ValueError, match="`pattern` is empty"):
            Glob(pattern="").run(path=tree)

    def test_absolute_pattern(self, tree):
        with pytest.raises(ValueError, match="is absolute"):
            Glob().run(path=tree, pattern=str(tree / "*"))

    def test_pattern_wrong_type(self, tree):
        with pytest.raises(TypeError, match="`pattern` must be a string"):
            Glob().run(path=tree, pattern=["*"])


# -- Zip / Unzip --------------------------------------------------------------------------------
class TestZip:
    def test_directory_round_trip(self, tree):
        archive = Zip().run(source_path=tree / "src", zip_path=tree / "out" / "src.zip")
        assert archive == tree / "out" / "src.zip"
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
        assert {"src/a.txt", "src/b.csv", "src/sub/c.txt"} <= names
        out = Unzip().run(zip_path=archive, extract_dir=tree / "restored")
        assert (out / "src" / "sub" / "c.txt").read_text() == "C"

    def test_several_sources(self, tree):
        archive = Zip().run(
            source_path=[tree / "src" / "a.txt", tree / "src" / "sub"], zip_path=tree / "x.zip"
        )
        with zipfile.ZipFile(archive) as zf:
            assert set(zf.namelist()) == {"a.txt", "sub/", "sub/c.txt"}

    @pytest.mark.parametrize("method", ["store", "deflate", "bzip2", "lzma"])
    def test_compression_methods(self, tree, method):
        archive = Zip(compression_method=method).run(
            source_path=tree / "src" / "a.txt", zip_path=tree / "a.zip"
        )
        with zipfile.ZipFile(archive) as zf:
            assert zf.read("a.txt") == b"A"

    def test_unknown_compression(self):
        with pytest.raises(ValueError, match="unknown compression_method 'rar'"):
            Zip(compression_method="rar")

    def test_missing_source(self, tree):
        with pytest.raises(FileNotFoundError, match="`source_path` .*nope' does not exist"):
            Zip().run(source_path=[tree / "src", tree / "nope"], zip_path=tree / "x.zip")
        assert not (tree / "x.zip").exists()

    def test_no_source(self, tree):
        with pytest.raises(ValueError, match=r"Zip 'Zip': no `source_path` given"):
            Zip().run(zip_path=tree / "x.zip")

    def test_no_zip_path(self, tree):
        with pytest.raises(ValueError, match="no `zip_path` given"):
            Zip().run(source_path=tree / "src")

    def test_archive_inside_source(self, tree):
        with pytest.raises(ValueError, match="would contain itself"):
            Zip().run(source_path=tree / "src", zip_path=tree / "src" / "self.zip")


class TestUnzip:
    def test_password_may_be_given_as_text(self, tree):
        # zipfile wants bytes; a str password is encoded instead of raising a TypeError
        archive = Zip().run(source_path=tree / "src" / "a.txt", zip_path=tree / "a.zip")
        out = Unzip(password="unused").run(zip_path=archive, extract_dir=tree / "x")
        assert (out / "a.txt").read_text() == "A"

    def test_missing_archive(self, tree):
        with pytest.raises(FileNotFoundError, match="`zip_path` .*nope.zip' does not exist"):
            Unzip().run(zip_path=tree / "nope.zip", extract_dir=tree / "x")

    def test_not_a_zip(self, tree):
        with pytest.raises(ValueError, match="is not a zip archive"):
            Unzip().run(zip_path=tree / "src" / "a.txt", extract_dir=tree / "x")

    def test_no_extract_dir(self, tree):
        archive = Zip().run(source_path=tree / "src", zip_path=tree / "a.zip")
        with pytest.raises(ValueError, match=r"Unzip 'Unzip': no `extract_dir` given"):
            Unzip().run(zip_path=archive)

    def test_extract_dir_is_a_file(self, tree):
        archive = Zip().run(source_path=tree / "src", zip_path=tree / "a.zip")
        with pytest.raises(NotADirectoryError, match="`extract_dir` .* is not a directory"):
            Unzip().run(zip_path=archive, extract_dir=tree / "src" / "a.txt")

    @pytest.mark.parametrize("member", ["../escape.txt", "a/../../escape.txt"])
    def test_refuses_members_outside_extract_dir(self, tree, member):
        archive = tree / "evil.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("fine.txt", "ok")
            zf.writestr(member, "gotcha")
        with pytest.raises(ValueError, match="outside `extract_dir`; refusing"):
            Unzip().run(zip_path=archive, extract_dir=tree / "out")
        assert not (tree / "escape.txt").exists()
        assert not (tree / "out" / "fine.txt").exists()


# -- in a flow ----------------------------------------------------------------------------------
class TestInFlow:
    def test_pipeline(self, tree):
        with Flow("files") as flow:
            copied = Copy()(source_path=tree / "src", target_path=tree / "work")
            archive = Zip()(source_path=copied, zip_path=tree / "work.zip")
            extracted = Unzip()(zip_path=archive, extract_dir=tree / "unzipped")
            found = Glob(pattern="**/*.txt")(path=extracted)
            moved = Move()(
                source_path=tree / "unzipped" / "work" / "a.txt",
                target_path=tree / "final.txt",
                upstream_tasks=[found],
            )
            text = read_text(moved)
            removed = Remove()(path=copied, upstream_tasks=[text])
        state = run_flow(flow)
        assert state.is_successful()
        assert [p.name for p in state.result[found].result] == ["a.txt", "c.txt"]
        assert state.result[text].result == "A"
        assert state.result[removed].is_successful()
        assert not (tree / "work").exists()

    def test_bad_input_fails_the_task_with_its_message(self, tree):
        with Flow("files-bad") as flow:
            moved = Move()(source_path=tree / "nope", target_path=tree / "x")
            after = read_text(moved)
        state = run_flow(flow)
        assert state.is_failed()
        assert state.result[moved].is_failed()
        assert "`source_path`" in state.result[moved].message
        assert "does not exist" in state.result[moved].message
        assert not state.result[after].is_successful()
