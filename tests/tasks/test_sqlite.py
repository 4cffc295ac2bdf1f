from __future__ import annotations

import sqlite3

import pytest

from headwater import Flow, Parameter
from headwater.executors import LocalExecutor
from headwater.tasks.database import SQLiteQuery, SQLiteScript

SCHEMA = """
CREATE TABLE users (name TEXT, age INTEGER);
INSERT INTO users VALUES ('ada', 36);
INSERT INTO users VALUES ('alan', 41);
"""


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "test.db")
    SQLiteScript(db=path, script=SCHEMA).run()
    return path


def names(db):
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM users ORDER BY name")]


class TestSQLiteQuery:
    def test_select_returns_rows(self, db):
        rows = SQLiteQuery(db=db, query="SELECT name, age FROM users ORDER BY age").run()
        assert rows == [("ada", 36), ("alan", 41)]

    def test_positional_placeholders(self, db):
        q = SQLiteQuery(db=db, query="SELECT name FROM users WHERE age > ? ORDER BY name")
        assert q.run(data=(40,)) == [("alan",)]
        assert q.run(data=[30]) == [("ada",), ("alan",)]

    def test_named_placeholders(self, db):
        q = SQLiteQuery(db=db, query="SELECT age FROM users WHERE name = :who")
        assert q.run(data={"who": "ada"}) == [(36,)]

    def test_data_from_constructor(self, db):
        q = SQLiteQuery(db=db, query="SELECT age FROM users WHERE name = ?", data=("alan",))
        assert q.run() == [(41,)]

    def test_changes_are_committed(self, db):
        SQLiteQuery(db=db, query="INSERT INTO users VALUES (?, ?)", data=("grace", 85)).run()
        assert names(db) == ["ada", "alan", "grace"]

    def test_failed_statement_error_names_task_and_db(self, db):
        q = SQLiteQuery(db=db, query="INSERT INTO nope VALUES (?)", data=(1,))
        with pytest.raises(
            sqlite3.OperationalError,
            match=r"SQLiteQuery 'SQLiteQuery' on .*test.db.*no such table: nope",
        ):
            q.run()

    def test_injection_attempt_is_stored_as_plain_text(self, db):
        evil = "x'); DROP TABLE users; --"
        SQLiteQuery(db=db, query="INSERT INTO users VALUES (?, 1)", data=(evil,)).run()
        found = SQLiteQuery(db=db, query="SELECT name FROM users WHERE name = ?").run(data=(evil,))
        assert found == [(evil,)]
        assert names(db) == ["ada", "alan", evil]

    def test_injection_attempt_in_lookup_matches_nothing(self, db):
        q = SQLiteQuery(db=db, query="SELECT name FROM users WHERE name = ?")
        assert q.run(data=("' OR '1'='1",)) == []

    def test_second_statement_is_never_executed(self, db):
        q = SQLiteQuery(db=db, query="SELECT 1; DROP TABLE users")
        with pytest.raises(sqlite3.ProgrammingError, match="one statement at a time"):
            q.run()
        assert names(db) == ["ada", "alan"]

    def test_creates_a_new_database_file(self, tmp_path):
        path = tmp_path / "new.db"
        assert SQLiteQuery(db=path, query="SELECT 1 + 1").run() == [(2,)]
        assert path.exists()

    @pytest.mark.parametrize("value", ["", None])
    def test_no_db(self, value):
        with pytest.raises(ValueError, match=r"SQLiteQuery 'SQLiteQuery': no `db` given"):
            SQLiteQuery(db=value, query="SELECT 1").run()

    def test_db_wrong_type(self):
        with pytest.raises(TypeError, match="`db` must be a file path, got int"):
            SQLiteQuery(db=3, query="SELECT 1").run()

    def test_db_directory_missing(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="the directory of `db` .* does not exist"):
            SQLiteQuery(db=tmp_path / "no" / "x.db", query="SELECT 1").run()

    @pytest.mark.parametrize("value", ["", "   ", None])
    def test_no_query(self, db, value):
        with pytest.raises(ValueError, match="no `query` given"):
            SQLiteQuery(db=db, query=value).run()

    def test_query_wrong_type(self, db):
        with pytest.raises(TypeError, match="`query` must be a string, got bytes"):
            SQLiteQuery(db=db, query=b"SELECT 1").run()

    def test_data_as_bare_string_is_rejected_with_hint(self, db):
        q = SQLiteQuery(db=db, query="SELECT * FROM users WHERE name = ?")
        with pytest.raises(TypeError, match=r"got str: 'ada' \(wrap a single value in a tuple"):
            q.run(data="ada")

    def test_data_wrong_type(self, db):
        with pytest.raises(TypeError, match="`data` must be a tuple or list .* or a dict"):
            SQLiteQuery(db=db, query="SELECT ?").run(data=5)

    def test_wrong_number_of_values(self, db):
        with pytest.raises(sqlite3.ProgrammingError, match="SQLiteQuery 'SQLiteQuery'.*bindings"):
            SQLiteQuery(db=db, query="SELECT ?, ?").run(data=(1,))


class TestSQLiteScript:
    def test_runs_every_statement(self, db):
        SQLiteScript(db=db).run(
            script="INSERT INTO users VALUES ('x', 1); DELETE FROM users WHERE name = 'ada';"
        )
        assert names(db) == ["alan", "x"]

    def test_returns_none(self, db):
        assert SQLiteScript(db=db, script="SELECT 1;").run() is None

    def test_error_names_task_and_db(self, db):
        with pytest.raises(
            sqlite3.OperationalError, match="SQLiteScript 'setup' on .*syntax error"
        ):
            SQLiteScript(db=db, script="CREATE TABL oops;", name="setup").run()

    def test_no_script(self, db):
        with pytest.raises(ValueError, match=r"SQLiteScript 'SQLiteScript': no `script` given"):
            SQLiteScript(db=db).run()

    def test_no_db(self):
        with pytest.raises(ValueError, match=r"SQLiteScript 'SQLiteScript': no `db` given"):
            SQLiteScript(script="SELECT 1;").run()

    def test_script_wrong_type(self, db):
        with pytest.raises(TypeError, match="`script` must be a string, got list"):
            SQLiteScript(db=db, script=["SELECT 1;"]).run()


class TestInFlow:
    def test_setup_then_parametrized_query(self, tmp_path):
        path = str(tmp_path / "flow.db")
        setup = SQLiteScript(db=path, script=SCHEMA)
        query = SQLiteQuery(db=path, query="SELECT name FROM users WHERE age > :min_age")
        with Flow("sqlite") as flow:
            min_age = Parameter("min_age", default=0)
            ready = setup()
            rows = query(data={"min_age": min_age}, upstream_tasks=[ready])
        state = flow.run(min_age=40, executor=LocalExecutor())
        assert state.is_successful()
        assert state.result[rows].result == [("alan",)]

    def test_injection_through_a_parameter_is_harmless(self, db):
        query = SQLiteQuery(db=db, query="SELECT age FROM users WHERE name = ?")
        with Flow("sqlite-injection") as flow:
            who = Parameter("who")
            rows = query(data=[who])
        state = flow.run(who="ada'; DROP TABLE users; --", executor=LocalExecutor())
        assert state.result[rows].result == []
        assert names(db) == ["ada", "alan"]

    def test_bad_sql_fails_the_task(self, db):
        with Flow("sqlite-bad") as flow:
            rows = SQLiteQuery(db=db, query="SELECT * FROM missing")()
        state = flow.run(executor=LocalExecutor())
        assert state.is_failed()
        assert "no such table: missing" in state.result[rows].message
