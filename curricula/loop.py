"""The cycle driver: decide → train → evaluate on the target → feedback → commit, C times.

The loop knows nothing about which curriculum or env family it runs; it only talks to the `Strategy` interface
and the `Trainer`, so every curriculum is compared under exactly the same training and evaluation. Front ends
observe it through `LoopCallback`s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gymsmith.agents.train import Trainer
from gymsmith.config import RunConfig
from gymsmith.curricula.base import CycleOutcome, Decision, Strategy, build_feedback
from gymsmith.curricula.store import CycleRecord, RunStore
from gymsmith.schemas import EvalResult, Feedback, TaskSpec


class LoopCallback:
    """What a front end (the CLI's display, a notebook, a logger) may observe, like SB3's callbacks.

    Every method is a no-op here; subclasses override what they need. Callbacks observe: they never change what
    the loop does, except by asking it to stop (``loop.stop_requested = True``).
    """

    def on_run_start(self, loop: CurriculumLoop) -> None:
        """Before the first cycle (also of a resumed run)."""

    def on_cycle_start(self, cycle: int, total: int) -> None:
        """A cycle begins; the strategy has not decided yet."""

    def on_decision(self, cycle: int, decision: Decision) -> None:
        """The strategy chose the mixture (with what it cost: LLM calls, verdicts, rejections)."""

    def on_training_start(self, cycle: int, steps: int) -> None:
        """Training on the decision's mixture begins."""

    def on_training_step(self, steps: int) -> None:
        """``steps`` more env steps were trained (one vectorised step)."""

    def on_evaluation_start(self, cycle: int, episodes: int) -> None:
        """Training is over; evaluation on the target begins."""

    def on_cycle_end(self, cycle: int, outcome: CycleOutcome, record: CycleRecord) -> None:
        """The cycle is committed to the store."""


class CallbackList(LoopCallback):
    """Several callbacks, called in order."""

    def __init__(self, callbacks: list[LoopCallback] | None = None) -> None:
        self.callbacks = list(callbacks or [])

    def on_run_start(self, loop: CurriculumLoop) -> None:
        for c in self.callbacks:
            c.on_run_start(loop)

    def on_cycle_start(self, cycle: int, total: int) -> None:
        for c in self.callbacks:
            c.on_cycle_start(cycle, total)

    def on_decision(self, cycle: int, decision: Decision) -> None:
        for c in self.callbacks:
            c.on_decision(cycle, decision)

    def on_training_start(self, cycle: int, steps: int) -> None:
        for c in self.callbacks:
            c.on_training_start(cycle, steps)

    def on_training_step(self, steps: int) -> None:
        for c in self.callbacks:
            c.on_training_step(steps)

    def on_evaluation_start(self, cycle: int, episodes: int) -> None:
        for c in self.callbacks:
            c.on_evaluation_start(cycle, episodes)

    def on_cycle_end(self, cycle: int, outcome: CycleOutcome, record: CycleRecord) -> None:
        for c in self.callbacks:
            c.on_cycle_end(cycle, outcome, record)


@dataclass
class RunSummary:
    run_id: str
    store_path: str
    run_dir: str
    cycles: list[dict[str, Any]] = field(default_factory=list)
    llm_totals: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0
    stopped_early: bool = False

    @property
    def final_success(self) -> float:
        return float(self.cycles[-1]["target_success"]) if self.cycles else 0.0


class StopRequested(Exception):
    """Raised between steps when the user asked the run to stop (first Ctrl-C).

    A stop during training drops the unfinished cycle (nothing of it was written; resume re-runs it); a stop
    requested during evaluation or saving takes effect once that cycle is committed.
    """


@dataclass
class CurriculumLoop:
    config: RunConfig
    #: The task with what the user left open derived from the target (`Family.task`).
    task: TaskSpec
    store: RunStore
    run_id: str
    strategy: Strategy
    trainer: Trainer
    callbacks: CallbackList = field(default_factory=CallbackList)
    history: list[Feedback] = field(default_factory=list)
    stop_requested: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.config.runs_dir) / self.run_id

    def restore(self) -> int:
        """Restore history, strategy state and policy from the last committed cycle; returns the next cycle."""
        cycles = self.store.cycles(self.run_id)
        if not cycles:
            return 0
        self.history = [Feedback.model_validate(c["feedback"]) for c in cycles]
        last = cycles[-1]
        self.strategy.load_state_dict(last["strategy_state"])
        if last["checkpoint"]:
            self.trainer.load(last["checkpoint"])
        self.trainer.total_steps = int(last["total_steps"] or 0)
        return int(last["cycle"]) + 1

    def run_cycle(self, cycle: int) -> CycleRecord:
        cfg = self.config
        record = CycleRecord(cycle=cycle)
        self.callbacks.on_cycle_start(cycle, cfg.cycles)
        decision = self.strategy.decide(self.history)
        mixture, artifacts = decision.mixture, decision.artifacts
        if self.stop_requested:  # e.g. Ctrl-C during a long LLM call: don't start training
            raise StopRequested
        self.callbacks.on_decision(cycle, decision)
        self.callbacks.on_training_start(cycle, cfg.steps_per_cycle)

        def progress(n: int) -> None:
            self.callbacks.on_training_step(n)
            if self.stop_requested:
                raise StopRequested

        training, log = self.trainer.train(mixture, cfg.steps_per_cycle, on_step=progress)
        self.callbacks.on_evaluation_start(cycle, cfg.eval_episodes)
        evaluation: EvalResult = self.trainer.evaluate(
            episodes=cfg.eval_episodes, seed=10_000, skills=self.task.skills, goals=artifacts.goals
        )
        self.trainer.log_scalars(
            {"eval/target_success": evaluation.success_rate, "eval/score": evaluation.score, "eval/cycle": cycle}
            | {f"eval/skill_{name}": stat.mean for name, stat in evaluation.skills.items()}
        )
        training = training.model_copy(update={"evaluation": evaluation})
        feedback = build_feedback(cycle, mixture, log, evaluation, training, artifacts.rejected)
        outcome = CycleOutcome(cycle, mixture, training, log, evaluation, feedback)
        self.strategy.update(outcome)
        checkpoint = self.trainer.save(self.run_dir / "checkpoints" / f"cycle_{cycle:03d}")
        training = training.model_copy(update={"checkpoint": checkpoint})
        record.mixture = mixture.model_dump(mode="json")
        record.llm_calls = artifacts.llm_calls
        record.proposals = artifacts.proposals
        record.verdicts = artifacts.verdicts
        record.training = training
        record.evaluation = evaluation
        record.feedback = feedback.model_dump(mode="json")
        record.strategy_state = self.strategy.state_dict()
        record.checkpoint = checkpoint
        record.total_steps = self.trainer.total_steps
        self.store.commit_cycle(self.run_id, record)
        self.history.append(feedback)
        self.callbacks.on_cycle_end(cycle, outcome, record)
        return record

    def run(self) -> RunSummary:
        start = time.perf_counter()
        first = self.restore()
        self.callbacks.on_run_start(self)
        stopped = False
        self.store.set_status(self.run_id, "running")
        try:
            for cycle in range(first, self.config.cycles):
                if self.stop_requested:
                    stopped = True
                    break
                self.run_cycle(cycle)
        except StopRequested:
            stopped = True
        finally:
            done = self.store.last_cycle(self.run_id) + 1 >= self.config.cycles
            self.store.set_status(self.run_id, "finished" if done else "stopped")
        return RunSummary(
            run_id=self.run_id,
            store_path=str(self.store.path),
            run_dir=str(self.run_dir),
            cycles=self.store.cycles(self.run_id),
            wall_time_s=time.perf_counter() - start,
            stopped_early=stopped,
        )
