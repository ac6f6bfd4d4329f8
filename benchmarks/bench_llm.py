"""Pick the embedded default model by measurement: valid, sensible and not copied proposals, and tokens/s.

Why: the proposer's quality with a small local model is what the LLM curriculum rests on, and small models tend
to echo the prompt's worked example. Each model answers the same fixed feedback situations, five on
MiniGrid-DoorKey-8x8-v0 (untrained, stuck at the key, at the door, at the goal, nearly done) and two on
MiniGrid-LavaCrossingS11N5-v0 (untrained, crossing some strips but never reaching the goal), with skills named as
the family measures them (``family.task().skills``). Per proposal (k=3 levels):

- *valid*: every level parses and passes `verify_env_config`, no rejections, no errors, exactly k levels;
- *sensible*: valid and at least one level meets the situation's stated rule over the level language's fields;
- *sensible_own*: the same rule over the levels that are not copies of the example's;
- *copied*: the rationale equals the worked example's rationale, or a level equals one of the example's levels
  (spec dumps without ``name``). The prompts showed that example (the easy end of the target's own ladder under
  a fixed rationale) until the copy-rate fix; they now describe the answer's shape in words, and an answer that
  still lands on the old example's levels or words counts as copied, so before and after are measured alike;
- *rationale repeated*: the same rationale as an earlier situation's answer (a template, not a reading of the
  results); *retrained*: a level equal to one the feedback says the agent already trained on.

Tokens/s and seconds per proposal count only generation (model load excluded; disk cache off).

    GYMSMITH_LLM_THREADS=1 GYMSMITH_TORCH_THREADS=1 .venv/bin/python benchmarks/bench_llm.py \
        [--models qwen2.5-coder-0.5b,qwen2.5-coder-1.5b,gemma3-270m] [--seeds 2]

Writes ``benchmarks/results/bench_llm-<model>.json`` and prints one summary line per model.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gymsmith.envs import family_for
from gymsmith.envs.minigrid.spec import MiniGridLevelSpec
from gymsmith.generator.llm import LLMClient, make_chat_model
from gymsmith.generator.proposer import Proposer
from gymsmith.generator.verifier import verify_env_config
from gymsmith.schemas import Feedback, Stat

RESULTS = Path(__file__).parent / "results"
DOORKEY, LAVA = "MiniGrid-DoorKey-8x8-v0", "MiniGrid-LavaCrossingS11N5-v0"
K = 3

Rule = Callable[[list[MiniGridLevelSpec], MiniGridLevelSpec], bool]  # (accepted levels, target) -> sensible


def _area(s: MiniGridLevelSpec) -> int:
    width, height = s.grid_shape()
    return width * height


def _trained(target: str, spec: dict[str, Any] | None, success: float) -> dict[str, Any]:
    """One `trained_on` entry as curricula/base.py build_feedback writes it (None: the target itself)."""
    brief = {"family": "target", "env_id": target} if spec is None else MiniGridLevelSpec(**spec).brief()
    return {**brief, "train_success": success, "episodes": 40}


def _fb(target: str, skills: dict[str, float], trained: list[tuple[dict[str, Any] | None, float]]) -> Feedback:
    names = family_for(target).task().skills or []
    assert set(skills) == set(names), f"{target}: situation skills {sorted(skills)} != family's {names}"
    goal = skills["reached_goal"]
    return Feedback(cycle=1, target_success=goal, score=goal, skills={k: Stat(mean=v, n=20) for k, v in skills.items()},
                    trained_on=[_trained(target, s, v) for s, v in trained])


SMALL_DK = {"name": "tiny-doorkey", "layout": "two_rooms", "size": 5, "locked_doors": 1, "door_color": "yellow"}
SMALL_LAVA = {"name": "two-strips", "layout": "room", "size": 7, "lava_strips": 2, "start": "corner"}


def _dk(key: float, door: float, goal: float, small: float | None, target: float) -> Feedback:
    trained = ([(SMALL_DK, small)] if small is not None else []) + [(None, target)]
    return _fb(DOORKEY, {"picked_up_key": key, "opened_door": door, "reached_goal": goal}, trained)


def _lava(crossed: list[float], goal: float) -> Feedback:
    skills = {f"crossed_{i + 1}": v for i, v in enumerate(crossed)} | {"reached_goal": goal}
    return _fb(LAVA, skills, [(SMALL_LAVA, 0.8), (None, goal)])


def _small(s: MiniGridLevelSpec, t: MiniGridLevelSpec) -> bool:
    return _area(s) < _area(t)


#: (target, label, feedback, rule, the rule in words)
SITUATIONS: list[tuple[str, str, Feedback | None, Rule, str]] = [
    (DOORKEY, "dk untrained", None, lambda ls, t: any(_small(s, t) for s in ls), "a level smaller than the target"),
    (DOORKEY, "dk stuck at key", _dk(0.1, 0.0, 0.0, None, 0.0),
     lambda ls, t: any(_small(s, t) and (s.locked_doors or s.objective == "pickup" and s.target == "key") for s in ls),
     "a level smaller than the target with a locked door (or a key to pick up)"),
    (DOORKEY, "dk stuck at door", _dk(0.95, 0.2, 0.05, None, 0.05),
     lambda ls, t: any(_small(s, t) and s.locked_doors >= 1 for s in ls),
     "a level smaller than the target with a locked door"),
    (DOORKEY, "dk stuck at goal", _dk(1.0, 0.9, 0.3, 0.95, 0.3),
     lambda ls, t: any(s.locked_doors >= 1 and _area(s) > 25 for s in ls),
     "a locked-door level bigger than the mastered 5x5"),
    (DOORKEY, "dk nearly done", _dk(1.0, 1.0, 0.85, 0.95, 0.85),
     lambda ls, t: any(s.locked_doors >= 1 and _area(s) >= _area(t) for s in ls),
     "a locked-door level at least as big as the target"),
    (LAVA, "lava untrained", None,
     lambda ls, t: any(_small(s, t) and s.lava_strips < t.lava_strips for s in ls),
     "a level smaller than the target with fewer lava strips"),
    (LAVA, "lava crossing", _lava([0.9, 0.6, 0.2, 0.05, 0.0], 0.0),
     lambda ls, t: any(s.layout == "room" and 2 <= s.lava_strips < t.lava_strips for s in ls),
     "a room with 2 to 4 lava strips (more than it crosses reliably, fewer than the target)"),
]


def _dump(spec: Any) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude={"name"})


#: the worked example's rationale (prompts/examples.json.j2) before the copy-rate fix
OLD_RATIONALE = "The agent has learned nothing yet, so start with small, easy versions of the target's levels."


def _old_example(family: Any) -> list[dict[str, Any]]:
    """The levels the old worked example showed: the easy end of the target's own ladder."""
    steps = family.ladder()
    return [_dump(steps[0]), _dump(steps[len(steps) // 2])] if steps else []


def _trained_levels(family: Any, feedback: Feedback | None) -> list[dict[str, Any]]:
    return [_dump(family.build({k: v for k, v in t.items() if k not in ("train_success", "episodes")}))
            for t in (feedback.trained_on if feedback else []) if t.get("family") != "target"]


def bench_model(name: str, seeds: int) -> dict[str, Any]:
    client = LLMClient(make_chat_model("local", model=name), backend="local", use_cache=False)
    t0 = time.perf_counter()
    client.chat._load()  # model load time is not generation speed
    load_s = time.perf_counter() - t0
    rows = []
    for seed in range(seeds):
        for target, label, feedback, rule, _words in SITUATIONS:
            family = family_for(target)
            task = family.task()
            target_spec = family.build(json.loads(family.describe_target().summary["spec"]))
            example_levels = _old_example(family)
            trained_levels = _trained_levels(family, feedback)
            seen_rationales = {r["rationale"].strip() for r in rows if r["seed"] == seed}
            n_calls = len(client.calls)
            proposal = Proposer(client, family=family, k=K, seed=100 + seed).propose(task, feedback)
            verdicts = [verify_env_config(s, family) for s in proposal.env_configs]
            accepted = [s for s, v in zip(proposal.env_configs, verdicts, strict=True) if v.accepted]
            valid = len(accepted) == K and not proposal.rejected and not proposal.errors
            sensible = valid and rule(accepted, target_spec)  # type: ignore[arg-type]
            copied_rationale = proposal.rationale.strip() == OLD_RATIONALE
            repeated = proposal.rationale.strip() in seen_rationales
            retrained = sum(_dump(s) in trained_levels for s in proposal.env_configs)
            copied_levels = sum(_dump(s) in example_levels for s in proposal.env_configs)
            copied = copied_rationale or copied_levels > 0
            own = [x for x in accepted if _dump(x) not in example_levels]  # sensible without the copied levels
            sensible_own = valid and rule(own, target_spec)  # type: ignore[arg-type]
            calls = client.calls[n_calls:]
            rows.append({
                "seed": seed, "situation": label, "target": target, "valid": valid, "sensible": sensible,
                "sensible_own": sensible_own, "copied": copied, "copied_rationale": copied_rationale,
                "copied_levels": copied_levels, "rationale_repeated": repeated, "retrained_levels": retrained,
                "target_levels": sum(_dump(s) == _dump(target_spec) for s in proposal.env_configs),
                "repaired": proposal.repaired, "rationale": proposal.rationale,
                "levels": [s.brief() for s in proposal.env_configs],
                "rejected": [r.reason for r in proposal.rejected], "errors": proposal.errors,
                "verifier": [r.reason for v in verdicts for r in v.rejections],
                "completion_tokens": sum(c.completion_tokens for c in calls),
                "gen_s": round(sum(c.latency_s for c in calls), 2),
            })
            r = rows[-1]
            shown = [(s.layout, s.size, s.locked_doors, s.lava_strips) for s in proposal.env_configs]
            print(f"  {name:20s} s{seed} {label:16s} valid={valid!s:5s} sensible={sensible!s:5s} "
                  f"copied={copied!s:5s}(rat={copied_rationale!s:5s} lv={copied_levels}) {r['gen_s']:6.1f}s "
                  f"(layout,size,locked,lava)={shown}", flush=True)
    n = len(rows)
    gen_s = sum(c.latency_s for c in client.calls)
    totals = client.totals()
    return {
        "model": name,
        "proposals": n,
        "valid_rate": sum(r["valid"] for r in rows) / n,
        "sensible_rate": sum(r["sensible"] for r in rows) / n,
        "sensible_own_rate": sum(r["sensible_own"] for r in rows) / n,
        "copy_rate": sum(r["copied"] for r in rows) / n,
        "copy_rationale_rate": sum(r["copied_rationale"] for r in rows) / n,
        "copy_level_rate": sum(r["copied_levels"] > 0 for r in rows) / n,
        "rationale_repeat_rate": sum(r["rationale_repeated"] for r in rows) / n,
        "retrain_rate": sum(r["retrained_levels"] > 0 for r in rows) / n,
        "tok_per_s": totals["completion_tokens"] / max(gen_s, 1e-9),
        "s_per_proposal": gen_s / n,
        "llm_calls": totals["calls"],
        "repaired": sum(r["repaired"] for r in rows),
        "load_s": round(load_s, 1),
        "rules": {label: words for _t, label, _f, _r, words in SITUATIONS},
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="qwen2.5-coder-0.5b")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    for name in args.models.split(","):
        res = bench_model(name, args.seeds)
        (RESULTS / f"bench_llm-{name}.json").write_text(json.dumps(res, indent=1))
        print(f"{name:20s} proposals={res['proposals']} valid={res['valid_rate']:.2f} "
              f"sensible={res['sensible_rate']:.2f} (own levels {res['sensible_own_rate']:.2f}) "
              f"copied={res['copy_rate']:.2f} "
              f"(rationale {res['copy_rationale_rate']:.2f}, level {res['copy_level_rate']:.2f}) "
              f"rationale-repeated={res['rationale_repeat_rate']:.2f} retrained={res['retrain_rate']:.2f} "
              f"tok/s={res['tok_per_s']:.1f} s/proposal={res['s_per_proposal']:.1f} calls={res['llm_calls']}",
              flush=True)


if __name__ == "__main__":
    main()
