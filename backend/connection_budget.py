"""The Postgres connection budget: a process group's worst case, logged at start and checked against the server.

A process holds at most DB_POOL_SIZE + DB_MAX_OVERFLOW connections (the pool refuses more);
with DB_NULLPOOL=true it holds one per thread that talks to the database at once. Each
service's start (gunicorn's master, the Celery worker's main process) computes the worst
case of the processes it forks and logs it; where `max_connections` is readable it also
compares that with what the server has left, and warns loudly, with pool settings that
would fit, when the plan cannot fit. The check never stops a start: a full server is the
operator's call, and the pools still bound what each process takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from backend.db import make_command_engine
from backend.logging import get_logger
from backend.settings import Settings

logger = get_logger(__name__)

# With NullPool, the database users of one worker pool process at once: the job and its heartbeat thread.
WORKER_NULLPOOL_CONNECTIONS = 2


@dataclass(frozen=True)
class Budget:
    """The worst case of one group of processes (a web container's gunicorn workers, a worker's pool)."""

    role: str
    processes: int
    per_process: int

    @property
    def total(self) -> int:
        return self.processes * self.per_process


@dataclass(frozen=True)
class ServerRoom:
    """What the server allows and what other clients hold right now."""

    max_connections: int
    reserved: int
    in_use: int

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved - self.in_use


def pooled_connections(settings: Settings) -> int:
    """What one process's pool can hold at most."""
    return settings.db_pool_size + settings.db_max_overflow


def web_budget(settings: Settings, workers: int, threads: int) -> Budget:
    """gunicorn: `workers` processes; with NullPool each holds at most one connection per thread."""
    per_process = threads if settings.db_nullpool else pooled_connections(settings)
    return Budget("web", workers, per_process)


def worker_budget(settings: Settings, concurrency: int) -> Budget:
    """Celery: `concurrency` pool processes (the main process and beat hold none)."""
    per_process = WORKER_NULLPOOL_CONNECTIONS if settings.db_nullpool else pooled_connections(settings)
    return Budget("worker", concurrency, per_process)


def fitting_pool(available: int, processes: int) -> tuple[int, int] | None:
    """(DB_POOL_SIZE, DB_MAX_OVERFLOW) that let `processes` fit in `available`; None if one each does not."""
    per_process = available // processes if processes else 0
    if per_process < 1:
        return None
    pool_size = max(1, (per_process + 1) // 2)
    return pool_size, per_process - pool_size


def read_room(connection: Connection) -> ServerRoom:
    """max_connections, the slots reserved for superusers, and the connections of everyone else now."""
    connection.execute(text("SET LOCAL statement_timeout = 2000"))  # a start never waits long on this
    settings: dict[str, str] = dict(
        connection.execute(
            text(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
            )
        ).all()
    )
    in_use = connection.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    ).scalar_one()
    reserved = int(settings.get("superuser_reserved_connections", 0)) + int(
        settings.get("reserved_connections", 0)
    )
    return ServerRoom(int(settings["max_connections"]), reserved, int(in_use))


def judge(budget: Budget, room: ServerRoom) -> str | None:
    """The warning for a plan that cannot fit (None when it fits), naming settings that would."""
    if budget.total <= room.available:
        return None
    fit = fitting_pool(room.available, budget.processes)
    advice = (
        f"DB_POOL_SIZE={fit[0]} DB_MAX_OVERFLOW={fit[1]} would fit"
        if fit
        else f"not even one connection per process fits: fewer {budget.role} processes, or a pooler "
        "(PgBouncer) with DB_NULLPOOL=true"
    )
    return (
        f"db.budget.over role={budget.role} worst_case={budget.total} available={room.available} "
        f"(max_connections={room.max_connections} reserved={room.reserved} in_use_by_others={room.in_use}); "
        f"{advice}; with more services on this database, divide what is available between them"
    )


def announce(settings: Settings, budget: Budget) -> str | None:
    """Log the budget; check it against the server where it can be read; return the warning if any."""
    logger.info(
        "db.budget",
        role=budget.role,
        processes=budget.processes,
        per_process=budget.per_process,
        worst_case=budget.total,
        per_thread=settings.db_nullpool,
    )
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "postgresql" or budget.total == 0:
        return None
    engine = make_command_engine(url, settings.db_connect_timeout)
    try:
        with engine.connect() as connection:
            room = read_room(connection)
    except Exception as exc:  # a start must not fail on a check; the service's own waits say more
        logger.warning("db.budget.unchecked", role=budget.role, error=type(exc).__name__)
        return None
    finally:
        engine.dispose()
    warning = judge(budget, room)
    if warning:
        logger.error(
            "db.budget.over",
            role=budget.role,
            worst_case=budget.total,
            available=room.available,
            advice=warning,
        )
    else:
        logger.info("db.budget.fits", role=budget.role, worst_case=budget.total, available=room.available)
    return warning
