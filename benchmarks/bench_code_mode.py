"""Code-mode reward acceptance before/after the static layer accepted ``import math`` / ``from math import ...``.

Why: code models write ``import math`` out of habit even when told not to, and the static layer used to refuse
every import, so such a program never reached the sandbox. The static layer (gymsmith/sandbox/static.py) now
treats imports of math as no-ops. This measures what that changes on real answers of the default local model.

The model (disk cache off) writes code-mode reward programs through `RewardDesigner(mode="code")` for a few
targets and seeds; the rendered sources (and the raw answers) go to
``benchmarks/results/code_mode_programs.json``. Each source is then verified with the current verifier,
`verify_reward_program(program, reward_fixtures(family))` = **after**. **Before** is the same verdict, except that
a source whose syntax tree holds any ``ast.Import`` / ``ast.ImportFrom`` node counts as rejected by the static
layer, which is what the old static layer did with every import. (Both use today's `extract_body`, which moves a
whole-program answer's top-level imports into the body.)

    GYMSMITH_LLM_THREADS=1 GYMSMITH_TORCH_THREADS=1 .venv/bin/python benchmarks/bench_code_mode.py \
        [--targets MiniGrid-DoorKey-8x8-v0,MiniGrid-LavaCrossingS11N5-v0,crafter] [--n 4] [--seeds 1]
    .venv/bin/python benchmarks/bench_code_mode.py --reverify   # verify the saved programs again, no LLM
"""

from __future__ import annotations

import argparse
import ast
import json
import time
from collections import Counter
from pathlib import Path

from gymsmith.envs import family_for
from gymsmith.generator.llm import LLMClient, make_chat_model
from gymsmith.generator.reward_designer import RewardDesigner
from gymsmith.generator.verify_reward import reward_fixtures, verify_reward_program
from gymsmith.schemas import RewardProgram, Verdict

RESULTS = Path(__file__).parent / "results"
PROGRAMS = RESULTS / "code_mode_programs.json"
TARGETS = "MiniGrid-DoorKey-8x8-v0,MiniGrid-LavaCrossingS11N5-v0,crafter"


def has_import(source: str) -> bool:
    """What the old static layer refused: any import statement anywhere in the program."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False  # rejected either way, for its syntax
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(tree))


def generate(model: str, targets: list[str], n: int, seeds: int) -> list[dict]:
    client = LLMClient(make_chat_model("local", model=model), backend="local", use_cache=False)
    client.chat._load()
    out = []
    for target in targets:
        family = family_for(target)
        for seed in range(seeds):
            designer = RewardDesigner(client, family=family, mode="code", seed=seed * 100)
            # verification happens below, once every program is written
            placeholder = lambda p: Verdict(subject=f"reward:{p.name}", accepted=True)  # noqa: E731
            for cand in designer.propose(family.task(), n, verify=placeholder):
                out.append({"target": target, "seed": seed, "name": f"{target}-s{seed}-{cand.name}",
                            "source": cand.program.source if cand.program else None, "answer": cand.call.response,
                            "completion_tokens": cand.call.completion_tokens, "gen_s": round(cand.call.latency_s, 1)})
                print(f"  {out[-1]['name']}: {cand.call.completion_tokens} tokens in {cand.call.latency_s:.0f}s, "
                      f"imports={has_import(out[-1]['source'] or '')}", flush=True)
    return out


def verify(programs: list[dict]) -> None:
    fixtures = {}
    for p in programs:
        if p["target"] not in fixtures:
            fixtures[p["target"]] = reward_fixtures(family_for(p["target"]))
        if p["source"] is None:
            p.update(after=False, before=False, imports=False, layer="schema", reason="no program")
            continue
        verdict = verify_reward_program(RewardProgram(name=p["name"], mode="code", source=p["source"]),
                                        fixtures[p["target"]])
        p["imports"] = has_import(p["source"])
        p["after"] = verdict.accepted
        p["before"] = verdict.accepted and not p["imports"]
        p["layer"] = verdict.rejections[0].layer if verdict.rejections else ""
        p["reason"] = verdict.rejections[0].reason if verdict.rejections else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--targets", default=TARGETS)
    parser.add_argument("--n", type=int, default=4, help="programs per target and seed")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--reverify", action="store_true", help="verify the saved programs again, no LLM")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.reverify:
        programs = json.loads(PROGRAMS.read_text())["programs"]
    else:
        t0 = time.perf_counter()
        programs = generate(args.model, args.targets.split(","), args.n, args.seeds)
        print(f"generated {len(programs)} programs in {time.perf_counter() - t0:.0f}s", flush=True)
        PROGRAMS.write_text(json.dumps({"model": args.model, "programs": programs}, indent=1))  # before verifying
    verify(programs)
    PROGRAMS.write_text(json.dumps({"model": args.model, "programs": programs}, indent=1))
    total = len(programs)
    before, after = sum(p["before"] for p in programs), sum(p["after"] for p in programs)
    print(f"code-mode acceptance: before {before}/{total} ({before / total:.0%})  after {after}/{total} "
          f"({after / total:.0%})  programs with imports: {sum(p['imports'] for p in programs)}")
    for target in dict.fromkeys(p["target"] for p in programs):
        mine = [p for p in programs if p["target"] == target]
        print(f"  {target:32s} before {sum(p['before'] for p in mine)}/{len(mine)}  "
              f"after {sum(p['after'] for p in mine)}/{len(mine)}")
    reasons = Counter(f"[{p['layer']}] {p['reason'][:150]}" for p in programs if not p["after"])
    print("rejection reasons after:")
    for reason, count in reasons.most_common():
        print(f"  {count:3d}  {reason}")


if __name__ == "__main__":
    main()
