"""The cycle driver: choose mixture → train → evaluate on the target → feedback → commit, C times.

The loop knows nothing about which curriculum it runs; it only talks to the `Strategy` interface, so the LLM
curriculum and the classic ones are compared under exactly the same training and evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gymsmith.agents.train import Trainer
from gymsmith.config import RunConfig
from gymsmith.curricula.base import CycleOutcome, Strategy, build_feedback
from gymsmith.curricula.store import CycleRecord, RunStore
from gymsmith.schemas import EnvMixture, EvalResult, Feedback


class LoopHooks(Protocol):
    """What a front end (the CLI's rich display, a notebook) may observe; all methods optional in spirit."""

    def attach(self, loop: CurriculumLoop) -> None: ...
    def cycle_started(self, cycle: int, total: int) -> None: ...
    def mixture_chosen(self, cycle: int, mixture: EnvMixture, strategy: Strategy) -> None: ...
    def train_progress(self, steps: int) -> None: ...
    def training_started(self, cycle: int, steps: int) -> None: ...
    def evaluation_started(self, cycle: int, episodes: int) -> None: ...
    def cycle_finished(self, cycle: int, outcome: CycleOutcome, record: CycleRecord) -> None: ...


class SilentHooks:
    def attach(self, loop: CurriculumLoop) -> None:
        pass

    def cycle_started(self, cycle: int, total: int) -> None:
        pass

    def mixture_chosen(self, cycle: int, mixture: EnvMixture, strategy: Strategy) -> None:
        pass

    def training_started(self, cycle: int, steps: int) -> None:
        pass

    def train_progress(self, steps: int) -> None:
        pass

    def evaluation_started(self, cycle: int, episodes: int) -> None:
        pass

    def cycle_finished(self, cycle: int, outcome: CycleOutcome, record: CycleRecord) -> None:
        pass


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
    store: RunStore
    run_id: str
    strategy: Strategy
    trainer: Trainer
    hooks: Any = field(default_factory=SilentHooks)
    history: list[Feedback] = field(default_factory=list)
    stop_requested: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.config.runs_dir) / self.run_id

    def resume_state(self) -> int:
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
        self.hooks.cycle_started(cycle, cfg.cycles)
        mixture = self.strategy.next_mixture(self.history)
        artifacts = self.strategy.artifacts
        if self.stop_requested:  # e.g. Ctrl-C during a long LLM call: don't start training
            raise StopRequested
        self.hooks.mixture_chosen(cycle, mixture, self.strategy)
        self.hooks.training_started(cycle, cfg.steps_per_cycle)

        def progress(n: int) -> None:
            self.hooks.train_progress(n)
            if self.stop_requested:
                raise StopRequested

        training, log = self.trainer.train(mixture, cfg.steps_per_cycle, on_step=progress)
        evaluation_started = getattr(self.hooks, "evaluation_started", None)
        if evaluation_started is not None:
            evaluation_started(cycle, cfg.eval_episodes)
        evaluation: EvalResult = self.trainer.evaluate(
            episodes=cfg.eval_episodes, seed=10_000, skills=cfg.task.skills
        )
        self.trainer.log_scalars(
            {"eval/target_success": evaluation.success_rate, "eval/cycle": cycle}
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
        self.hooks.cycle_finished(cycle, outcome, record)
        return record

    def run(self) -> RunSummary:
        start = time.perf_counter()
        self.hooks.attach(self)
        first = self.resume_state()
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
