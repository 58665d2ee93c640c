"""Experiments and runs: enough tracking to register a model from a training run."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from modelport.errors import Conflict, NotFound, UserError
from modelport.server.store.base import Base, Json, UTCDateTime, utcnow
from modelport.server.store.models import NAME_RULE, NAME_RULE_TEXT

RUNNING = "Running"
TERMINAL = ("Completed", "Failed", "Canceled")


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("uq_experiments_ws_name", "workspace_id", "name", unique=True),)


class Run(Base):
    __tablename__ = "runs"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(300), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    experiment_name: Mapped[str] = mapped_column(String(255))
    parent_run_id: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(255))
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_runs_ws_experiment", "workspace_id", "experiment_name", "seq"),
        Index("ix_runs_ws_parent", "workspace_id", "parent_run_id", "seq"),
    )


class RunMetric(Base):
    __tablename__ = "run_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_seq: Mapped[int] = mapped_column(ForeignKey("runs.seq", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[Any] = mapped_column(Json)

    __table_args__ = (Index("ix_run_metrics_run", "run_seq", "id"),)


class RunFile(Base):
    __tablename__ = "run_files"

    run_seq: Mapped[int] = mapped_column(
        ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def check_experiment_name(name: str) -> None:
    if not NAME_RULE.fullmatch(name):
        raise UserError(f"invalid experiment name {name!r}: {NAME_RULE_TEXT}")


def ensure_experiment(session: Session, workspace_id: int, name: str) -> Experiment:
    """The experiment ``name``, created on first use (safe against concurrent creators)."""
    check_experiment_name(name)
    stmt = _insert(session)(Experiment).values(
        workspace_id=workspace_id, name=name, created_time=utcnow()
    )
    session.execute(stmt.on_conflict_do_nothing())
    return session.scalars(
        select(Experiment).where(Experiment.workspace_id == workspace_id, Experiment.name == name)
    ).one()


def page_experiments(
    session: Session, workspace_id: int, after: str | None, limit: int
) -> list[Experiment]:
    query = select(Experiment).where(Experiment.workspace_id == workspace_id)
    if after is not None:
        query = query.where(Experiment.name > after)
    return list(session.scalars(query.order_by(Experiment.name).limit(limit)))


def new_run_id(experiment: str) -> str:
    return f"{experiment}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def create(
    session: Session,
    workspace_id: int,
    experiment_name: str,
    parent_run_id: str | None,
    display_name: str | None,
) -> Run:
    experiment = ensure_experiment(session, workspace_id, experiment_name)
    if parent_run_id is not None:
        get(session, workspace_id, parent_run_id)
    run = Run(
        run_id=new_run_id(experiment_name),
        workspace_id=workspace_id,
        experiment_id=experiment.id,
        experiment_name=experiment_name,
        parent_run_id=parent_run_id,
        status=RUNNING,
        display_name=display_name,
        created_time=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def get(session: Session, workspace_id: int, run_id: str) -> Run:
    run = session.scalar(select(Run).where(Run.workspace_id == workspace_id, Run.run_id == run_id))
    if run is None:
        raise NotFound(f"run {run_id!r} not found in this workspace")
    return run


def page(
    session: Session,
    workspace_id: int,
    *,
    experiment: str | None,
    parent_run_id: str | None,
    after: int | None,
    limit: int,
) -> list[Run]:
    query = select(Run).where(Run.workspace_id == workspace_id)
    if experiment is not None:
        query = query.where(Run.experiment_name == experiment)
    if parent_run_id is not None:
        query = query.where(Run.parent_run_id == parent_run_id)
    if after is not None:
        query = query.where(Run.seq > after)
    return list(session.scalars(query.order_by(Run.seq).limit(limit)))


def set_status(session: Session, run: Run, status: str, error: str | None) -> Run:
    if status not in TERMINAL:
        raise UserError(f"status must be one of {', '.join(TERMINAL)}")
    if run.status in TERMINAL and run.status != status:
        raise Conflict(f"run {run.run_id} is already {run.status}")
    if run.status != status:
        run.status = status
        run.end_time = utcnow()
        run.error = error
        session.flush()
    return run


def log_metric(session: Session, run: Run, name: str, value: Any) -> None:
    session.add(RunMetric(run_seq=run.seq, name=name, value=value))
    session.flush()


def metrics(session: Session, runs: Iterable[Run]) -> dict[str, dict[str, Any]]:
    """Metrics of each run as in ``Run.get_metrics()``: one value → scalar, several → list."""
    by_seq = {run.seq: run.run_id for run in runs}
    result: dict[str, dict[str, list[Any]]] = {run_id: {} for run_id in by_seq.values()}
    if by_seq:
        rows = session.execute(
            select(RunMetric.run_seq, RunMetric.name, RunMetric.value)
            .where(RunMetric.run_seq.in_(by_seq))
            .order_by(RunMetric.run_seq, RunMetric.id)
        )
        for seq, name, value in rows:
            result[by_seq[seq]].setdefault(name, []).append(value)
    return {
        run_id: {k: v[0] if len(v) == 1 else v for k, v in values.items()}
        for run_id, values in result.items()
    }


def add_files(session: Session, run: Run, files: list[dict[str, Any]]) -> None:
    """Record ``files`` (path, sha256, size); uploading a path again replaces it."""
    for entry in files:
        stmt = _insert(session)(RunFile).values(run_seq=run.seq, **entry)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["run_seq", "path"],
                set_={"sha256": stmt.excluded.sha256, "size": stmt.excluded.size},
            )
        )


def files(session: Session, run: Run) -> list[dict[str, Any]]:
    rows = session.execute(
        select(RunFile.path, RunFile.sha256, RunFile.size)
        .where(RunFile.run_seq == run.seq)
        .order_by(RunFile.path)
    )
    return [{"path": p, "sha256": s, "size": n} for p, s, n in rows]


def files_under(session: Session, run: Run, asset_path: str) -> list[dict[str, Any]]:
    """The run's file ``asset_path`` or the files of the folder ``asset_path``."""
    prefix = asset_path.rstrip("/")
    found = [
        f for f in files(session, run) if f["path"] == prefix or f["path"].startswith(prefix + "/")
    ]
    if not found:
        raise NotFound(f"run {run.run_id} has no file or folder {asset_path!r}")
    return found
