"""SQLite run store: every artefact of a run, one transaction per cycle, so a killed run resumes cleanly.

A cycle's rows (LLM calls, proposals, verdicts, training, evaluation, strategy state, checkpoint path) are
buffered in a `CycleRecord` and written together; a crash mid-cycle leaves no half-written cycle behind.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gymsmith.schemas import EvalResult, LLMCall, Proposal, TrainResult, Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, created REAL NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS cycles (
    run_id TEXT NOT NULL REFERENCES runs(id), cycle INTEGER NOT NULL, started REAL, finished REAL,
    target_success REAL, env_steps INTEGER, total_steps INTEGER, mixture TEXT, feedback TEXT,
    strategy_state TEXT, checkpoint TEXT, PRIMARY KEY (run_id, cycle)
);
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, cycle INTEGER NOT NULL, backend TEXT,
    model TEXT, template TEXT, prompt_hash TEXT, prompt_tokens INTEGER, completion_tokens INTEGER,
    latency_s REAL, cached INTEGER, response TEXT
);
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, cycle INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, cycle INTEGER NOT NULL, subject TEXT,
    accepted INTEGER, layer TEXT, reason TEXT, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trainings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, cycle INTEGER NOT NULL, steps INTEGER,
    wall_time_s REAL, steps_per_s REAL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, cycle INTEGER NOT NULL, env_id TEXT,
    success_rate REAL, body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS trainings_cycle ON trainings (run_id, cycle);
CREATE UNIQUE INDEX IF NOT EXISTS evaluations_cycle ON evaluations (run_id, cycle);
CREATE INDEX IF NOT EXISTS llm_calls_cycle ON llm_calls (run_id, cycle);
CREATE INDEX IF NOT EXISTS proposals_cycle ON proposals (run_id, cycle);
CREATE INDEX IF NOT EXISTS verdicts_cycle ON verdicts (run_id, cycle);
"""

#: Columns added after the first release; a store created before them gets them on open.
MIGRATIONS = (
    ("runs", "kind", "TEXT NOT NULL DEFAULT 'curriculum'"),
    ("cycles", "score", "REAL"),
    ("cycles", "metric", "TEXT"),
)
#: What a run is: a curriculum run (``gymsmith run``) or a reward search (``gymsmith reward``).
RUN_KINDS = ("curriculum", "reward-search")


@dataclass
class CycleRecord:
    """Everything one cycle produced; written atomically by `RunStore.commit_cycle`."""

    cycle: int
    started: float = field(default_factory=time.time)
    mixture: dict[str, Any] = field(default_factory=dict)
    llm_calls: list[LLMCall] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    training: TrainResult | None = None
    evaluation: EvalResult | None = None
    feedback: dict[str, Any] = field(default_factory=dict)
    strategy_state: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    total_steps: int = 0


class RunStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        for table, column, decl in MIGRATIONS:
            columns = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def close(self) -> None:
        self.db.close()

    # ---- runs

    def create_run(self, config: dict[str, Any], run_id: str | None = None, kind: str = "curriculum") -> str:
        if kind not in RUN_KINDS:
            raise ValueError(f"unknown run kind {kind!r}; one of {', '.join(RUN_KINDS)}")
        run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self.db.execute(
            "INSERT INTO runs (id, created, config, status, kind) VALUES (?, ?, ?, 'running', ?)",
            (run_id, time.time(), json.dumps(config), kind),
        )
        return run_id

    def run_config(self, run_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            known = [r[0] for r in self.db.execute("SELECT id FROM runs ORDER BY created DESC LIMIT 5")]
            raise KeyError(f"no run {run_id!r} in {self.path}; recent runs: {', '.join(known) or 'none'}")
        return json.loads(row[0])

    def set_status(self, run_id: str, status: str) -> None:
        finished = time.time() if status in ("finished", "failed") else None
        self.db.execute("UPDATE runs SET status = ?, finished = ? WHERE id = ?", (status, finished, run_id))

    def runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, created, status, kind FROM runs ORDER BY created").fetchall()
        return [{"id": r[0], "created": r[1], "status": r[2], "kind": r[3]} for r in rows]

    def run_info(self, run_id: str) -> dict[str, Any]:
        """The run row with its config parsed (raises KeyError naming recent runs when unknown)."""
        config = self.run_config(run_id)
        row = self.db.execute("SELECT created, status, finished, kind FROM runs WHERE id = ?", (run_id,)).fetchone()
        return {"id": run_id, "created": row[0], "status": row[1], "finished": row[2], "kind": row[3],
                "config": config}

    # ---- cycles

    def last_cycle(self, run_id: str) -> int:
        """Index of the last committed cycle, or -1."""
        row = self.db.execute("SELECT MAX(cycle) FROM cycles WHERE run_id = ?", (run_id,)).fetchone()
        return -1 if row[0] is None else int(row[0])

    def commit_cycle(self, run_id: str, rec: CycleRecord) -> None:
        """All rows of one cycle or none; cycles must be committed in order, each exactly once."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            expected = self.last_cycle(run_id) + 1
            if rec.cycle != expected:
                raise ValueError(f"run {run_id}: cycle {rec.cycle} committed out of order (next is {expected})")
            ev = rec.evaluation
            steps = rec.training.steps if rec.training else 0
            db.execute(
                "INSERT INTO cycles (run_id, cycle, started, finished, target_success, env_steps, total_steps,"
                " mixture, feedback, strategy_state, checkpoint, score, metric)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id, rec.cycle, rec.started, time.time(), ev.success_rate if ev else None, steps,
                    rec.total_steps, json.dumps(rec.mixture), json.dumps(rec.feedback),
                    json.dumps(rec.strategy_state), rec.checkpoint, ev.score if ev else None,
                    ev.metric if ev else None,
                ),
            )
            db.executemany(
                "INSERT INTO llm_calls (run_id, cycle, backend, model, template, prompt_hash, prompt_tokens,"
                " completion_tokens, latency_s, cached, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, rec.cycle, c.backend, c.model, c.template, c.prompt_hash, c.prompt_tokens,
                     c.completion_tokens, c.latency_s, int(c.cached), c.response)
                    for c in rec.llm_calls
                ],
            )
            db.executemany(
                "INSERT INTO proposals (run_id, cycle, body) VALUES (?, ?, ?)",
                [(run_id, rec.cycle, p.model_dump_json()) for p in rec.proposals],
            )
            db.executemany(
                "INSERT INTO verdicts (run_id, cycle, subject, accepted, layer, reason, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, rec.cycle, v.subject, int(v.accepted),
                     v.rejections[0].layer if v.rejections else None, v.reason() or None, v.model_dump_json())
                    for v in rec.verdicts
                ],
            )
            if rec.training is not None:
                t = rec.training
                db.execute(
                    "INSERT INTO trainings (run_id, cycle, steps, wall_time_s, steps_per_s, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, rec.cycle, t.steps, t.wall_time_s, t.steps_per_s, t.model_dump_json()),
                )
            if rec.evaluation is not None:
                e = rec.evaluation
                db.execute(
                    "INSERT INTO evaluations (run_id, cycle, env_id, success_rate, body) VALUES (?, ?, ?, ?, ?)",
                    (run_id, rec.cycle, e.env_id, e.success_rate, e.model_dump_json()),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def cycles(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT cycle, started, finished, target_success, env_steps, total_steps, mixture, feedback,"
            " strategy_state, checkpoint, score, metric FROM cycles WHERE run_id = ? ORDER BY cycle",
            (run_id,),
        ).fetchall()
        keys = ("cycle", "started", "finished", "target_success", "env_steps", "total_steps", "mixture",
                "feedback", "strategy_state", "checkpoint", "score", "metric")
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            if item["score"] is None:  # cycles stored before the metric existed: their metric was success
                item["score"], item["metric"] = item["target_success"], "success"
            for k in ("mixture", "feedback", "strategy_state"):
                item[k] = json.loads(item[k]) if item[k] else {}
            out.append(item)
        return out

    def table(self, name: str, run_id: str) -> list[dict[str, Any]]:
        """Rows of one artefact table for reports (name is checked against the schema, not interpolated blindly)."""
        if name not in ("llm_calls", "proposals", "verdicts", "trainings", "evaluations"):
            raise ValueError(f"unknown table {name!r}")
        cur = self.db.execute(f"SELECT * FROM {name} WHERE run_id = ? ORDER BY id", (run_id,))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def count(self, name: str, run_id: str) -> int:
        return len(self.table(name, run_id))
