"""A small ETL flow: read orders, convert each to a base currency, load them, report.

Run it with ``python examples/etl.py`` (optionally ``--base GBP``), or with the command line::

    headwater run examples/etl.py -p base_currency=GBP -p min_amount=50

(``headwater run`` writes the database to ``orders.db`` in the current directory unless
``-p db_path=...`` says where). It shows:

- parameters (``csv_path``, ``base_currency``, ``min_amount``),
- a mapped step (one ``convert`` child per order),
- a retry (the exchange-rate source fails on its first call and succeeds on the retry),
- a reduce (``summarize`` receives the list of all converted orders),
- loading into a real SQLite database file.
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

from headwater import Flow, Parameter, context, task, unmapped

HERE = Path(__file__).parent
RATES_TO_EUR = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}
_calls = {"rates": 0}


@task
def extract(csv_path: str) -> list[dict]:
    """Read the orders file into a list of dicts."""
    with open(csv_path, newline="") as f:
        return [
            {**row, "order_id": int(row["order_id"]), "amount": float(row["amount"])}
            for row in csv.DictReader(f)
        ]


@task(max_retries=2, retry_delay=timedelta(seconds=0.2))
def fetch_rates(base_currency: str) -> dict[str, float]:
    """Exchange rates into ``base_currency``; the source is flaky: each run's first try fails."""
    attempt = context.get("task_run_count", 1)  # 1, then 2 on the first retry
    _calls["rates"] = attempt
    if attempt == 1:
        raise ConnectionError("rate service unavailable (transient)")
    if base_currency not in RATES_TO_EUR:
        raise ValueError(f"unknown base currency {base_currency!r}")
    base = RATES_TO_EUR[base_currency]
    return {cur: eur / base for cur, eur in RATES_TO_EUR.items()}


@task
def convert(order: dict, rates: dict[str, float], base_currency: str) -> dict:
    """One order, with its amount in the base currency."""
    return {
        **order,
        "base_amount": round(order["amount"] * rates[order["currency"]], 2),
        "base": base_currency,
    }


@task
def load(orders: list[dict], db_path: str) -> int:
    """Write the converted orders into a SQLite table; returns the row count."""
    with sqlite3.connect(db_path) as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY, customer TEXT, "
            "base_amount REAL, base TEXT)"
        )
        con.executemany(
            "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
            [(o["order_id"], o["customer"], o["base_amount"], o["base"]) for o in orders],
        )
        return con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]


@task
def summarize(orders: list[dict], min_amount: float) -> dict:
    """Totals per customer of the orders worth at least ``min_amount``."""
    totals: dict[str, float] = {}
    for o in orders:
        if o["base_amount"] >= min_amount:
            totals[o["customer"]] = round(totals.get(o["customer"], 0.0) + o["base_amount"], 2)
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def build_flow() -> Flow:
    """The ETL flow; ``headwater run examples/etl.py`` finds it by its ``-> Flow`` annotation."""
    with Flow("orders-etl") as flow:
        csv_path = Parameter("csv_path", default=str(HERE / "data" / "orders.csv"))
        base = Parameter("base_currency", default="EUR")
        min_amount = Parameter("min_amount", default=10.0, type=float)
        db_path = Parameter("db_path", default="orders.db")
        orders = extract(csv_path)
        rates = fetch_rates(base)
        converted = convert.map(orders, rates=unmapped(rates), base_currency=unmapped(base))
        loaded = load(converted, db_path)
        report = summarize(converted, min_amount)
    flow.set_reference_tasks([loaded, report])
    return flow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="EUR", help="base currency (EUR, USD or GBP)")
    parser.add_argument("--min-amount", type=float, default=10.0)
    args = parser.parse_args()
    print(
        f"orders-etl: read examples/data/orders.csv, convert to {args.base}, load into SQLite, "
        "total per customer.\n"
        "The exchange-rate service fails on its first call: expect one WARNING, then a retry.",
        flush=True,  # before the run's log lines, which go to stderr
    )
    with tempfile.TemporaryDirectory() as tmp:
        flow = build_flow()
        state = flow.run(
            base_currency=args.base,
            min_amount=args.min_amount,
            db_path=str(Path(tmp) / "orders.db"),
        )
        loaded = flow.get_tasks(name="load")[0]
        report = flow.get_tasks(name="summarize")[0]
        rates = flow.get_tasks(name="fetch_rates")[0]
        print(
            f"Result: {type(state).__name__} ({state.message}); rates fetched after "
            f"{_calls['rates']} attempts; rows loaded: {state.result[loaded].result}"
        )
        print(f"Totals per customer in {args.base} (orders of at least {args.min_amount}):")
        for customer, total in state.result[report].result.items():
            print(f"  {customer:10s} {total:10.2f}")
        assert state.result[rates].is_successful()
        return 0 if state.is_successful() else 1


if __name__ == "__main__":
    raise SystemExit(main())
