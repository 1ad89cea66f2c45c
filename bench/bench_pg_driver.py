"""Which PostgreSQL driver for carebot: asyncpg or psycopg 3, measured on carebot's own work.

`python bench/bench_pg_driver.py [--dsn URL] [--units N] [--concurrency C]`

One "unit" is what one inbound SMS costs the database today: a transaction that records the
delivery once (INSERT ... ON CONFLICT DO NOTHING RETURNING), claims it (a conditional
UPDATE), reads the sender's conversation, writes it back and queues one reply in the outbox
(INSERT ... RETURNING), then a claim of due outbox rows with FOR UPDATE SKIP LOCKED, as
several workers will. Each driver runs the same statements on its own fresh schema, first
one unit at a time (latency: round trips dominate), then C units at once on a pool of C
connections (throughput). The floor is one `SELECT 1` round trip on the same connection, so
"round trips per unit" can be read off the latency.

Prints a Markdown table. Needs a PostgreSQL server (default: the one CI and the development
machines have on 127.0.0.1:5432) and the `bench` extra (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

SCHEMA = """
CREATE TABLE inbound (
  channel text NOT NULL, external_id text NOT NULL, address text NOT NULL,
  payload text, received_at timestamptz NOT NULL, processed_at timestamptz,
  PRIMARY KEY (channel, external_id));
CREATE TABLE conversations (person_id text PRIMARY KEY, state jsonb NOT NULL);
CREATE TABLE outbox (
  id bigserial PRIMARY KEY, person_id text NOT NULL, body text NOT NULL,
  state text NOT NULL DEFAULT 'queued', lease_owner text, lease_until timestamptz);
CREATE INDEX outbox_queued ON outbox (id) WHERE state = 'queued';
"""

ACCEPT = (
    "INSERT INTO inbound (channel, external_id, address, payload, received_at) "
    "VALUES ('sms', $1, $2, $3, now()) ON CONFLICT DO NOTHING RETURNING external_id"
)
CLAIM = (
    "UPDATE inbound SET processed_at = now() "
    "WHERE channel = 'sms' AND external_id = $1 AND processed_at IS NULL"
)
READ_STATE = "SELECT state FROM conversations WHERE person_id = $1"
WRITE_STATE = (
    "INSERT INTO conversations (person_id, state) VALUES ($1, $2::jsonb) "
    "ON CONFLICT (person_id) DO UPDATE SET state = excluded.state"
)
QUEUE = "INSERT INTO outbox (person_id, body) VALUES ($1, $2) RETURNING id"
LEASE = (
    "UPDATE outbox SET state = 'in_flight', lease_owner = $1, "
    "lease_until = now() + interval '30 seconds' WHERE id IN ("
    "SELECT id FROM outbox WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    ") RETURNING id"
)


def _psycopg(sql: str) -> str:
    """asyncpg's $1 placeholders as psycopg's %s (the statements use each once, in order)."""
    for n in range(9, 0, -1):
        sql = sql.replace(f"${n}", "%s")
    return sql


Unit = Callable[[Any, int], Awaitable[None]]


async def asyncpg_unit(conn: Any, n: int) -> None:
    """One inbound message's work through asyncpg (prepared statements are cached)."""
    sid, person = f"SM{uuid.uuid4().hex}", f"p{n % 500}"
    async with conn.transaction():
        if await conn.fetchval(ACCEPT, sid, "+33600000000", "late 15") is None:
            return
        await conn.execute(CLAIM, sid)
        await conn.fetchval(READ_STATE, person)
        await conn.execute(WRITE_STATE, person, '{"flow": null}')
        await conn.fetchval(QUEUE, person, "Noted: 15 minutes late.")
    async with conn.transaction():
        await conn.fetch(LEASE, "worker-1")


async def psycopg_unit(conn: Any, n: int) -> None:
    """The same unit through psycopg 3 (server-side prepared after a few executions)."""
    sid, person = f"SM{uuid.uuid4().hex}", f"p{n % 500}"
    async with conn.transaction():
        cur = await conn.execute(_psycopg(ACCEPT), (sid, "+33600000000", "late 15"))
        if await cur.fetchone() is None:
            return
        await conn.execute(_psycopg(CLAIM), (sid,))
        await (await conn.execute(_psycopg(READ_STATE), (person,))).fetchone()
        await conn.execute(_psycopg(WRITE_STATE), (person, '{"flow": null}'))
        await (await conn.execute(_psycopg(QUEUE), (person, "Noted: 15 minutes late."))).fetchone()
    async with conn.transaction():
        await (await conn.execute(_psycopg(LEASE), ("worker-1",))).fetchall()


async def _asyncpg_connect(dsn: str, schema: str) -> Any:
    import asyncpg

    return await asyncpg.connect(dsn, server_settings={"search_path": schema})


async def _psycopg_connect(dsn: str, schema: str) -> Any:
    import psycopg

    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    await conn.execute(f"SET search_path TO {schema}")
    return conn


async def _select_one(conn: Any) -> None:
    if hasattr(conn, "fetchval"):
        await conn.fetchval("SELECT 1")
    else:
        await (await conn.execute("SELECT 1")).fetchone()


async def measure(
    name: str, connect: Callable[[str, str], Awaitable[Any]], unit: Unit, args: argparse.Namespace
) -> dict[str, float]:
    """Latency of one unit at a time, then throughput with `concurrency` connections."""
    import asyncpg  # schema set-up through one driver for both, so both see the same DDL

    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.dsn)
    await admin.execute(f"CREATE SCHEMA {schema}; SET search_path TO {schema}; {SCHEMA}")
    try:
        conn = await connect(args.dsn, schema)
        for n in range(200):  # warm-up: prepared statements, caches
            await unit(conn, n)
        floor: list[float] = []
        for _ in range(args.units):
            t0 = time.perf_counter()
            await _select_one(conn)
            floor.append(time.perf_counter() - t0)
        latencies: list[float] = []
        for n in range(args.units):
            t0 = time.perf_counter()
            await unit(conn, n)
            latencies.append(time.perf_counter() - t0)
        await conn.close()

        conns = [await connect(args.dsn, schema) for _ in range(args.concurrency)]
        per_conn = args.units // args.concurrency

        async def worker(c: Any, base: int) -> None:
            for n in range(per_conn):
                await unit(c, base + n)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c, i * per_conn) for i, c in enumerate(conns)))
        elapsed = time.perf_counter() - t0
        for c in conns:
            await c.close()
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    latencies.sort()
    floor.sort()
    return {
        "floor_p50": statistics.median(floor) * 1e3,
        "p50": statistics.median(latencies) * 1e3,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1e3,
        "throughput": per_conn * args.concurrency / elapsed,
    }


async def main() -> None:
    """Run both drivers one after the other and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--units", type=int, default=2000, help="units per phase")
    parser.add_argument("--concurrency", type=int, default=8, help="connections at once")
    args = parser.parse_args()
    results = {
        "asyncpg": await measure("asyncpg", _asyncpg_connect, asyncpg_unit, args),
        "psycopg": await measure("psycopg", _psycopg_connect, psycopg_unit, args),
    }
    print(
        f"| driver | SELECT 1 p50 (ms) | unit p50 (ms) | unit p99 (ms) | "
        f"units/s with {args.concurrency} connections |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(
            f"| {name} | {r['floor_p50']:.3f} | {r['p50']:.3f} | {r['p99']:.3f} | "
            f"{r['throughput']:.0f} |"
        )
    a, p = results["asyncpg"], results["psycopg"]
    print(
        f"\npsycopg / asyncpg: unit p50 x{p['p50'] / a['p50']:.2f}, "
        f"throughput x{p['throughput'] / a['throughput']:.2f}; unit p50 in SELECT-1 round "
        f"trips: asyncpg {a['p50'] / a['floor_p50']:.1f}, psycopg {p['p50'] / p['floor_p50']:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
