"""Run configurations shared by the tests and the cassette recorder, so replayed calls match recorded ones."""

from __future__ import annotations

from pathlib import Path

from gymsmith.config import RunConfig

CASSETTES = Path(__file__).parent / "cassettes"
LOOP_CASSETTE = CASSETTES / "loop_qwen.json"
REPAIR_CASSETTE = CASSETTES / "repair_gemma.json"


def loop_config(runs_dir: str | Path, **overrides: object) -> RunConfig:
    """A tiny but real run: 2 cycles of 1024 steps on DoorKey-8x8 with 3 LLM-written levels per cycle."""
    base = dict(
        curriculum="llm",
        cycles=2,
        steps_per_cycle=1024,
        n_envs=4,
        eval_episodes=8,
        k_levels=3,
        seed=0,
        device="cpu",
        backend="replay",
        cassette=str(LOOP_CASSETTE),
        runs_dir=str(runs_dir),
        use_cache=False,
    )
    base.update(overrides)
    return RunConfig.model_validate(base)


#: EnvGen on Crafter, tiny: 2 cycles with LLM-written worlds, then 1 cycle on Crafter alone.
CRAFTER_LOOP_CASSETTE = CASSETTES / "crafter_loop_qwen.json"


def crafter_loop_config(runs_dir: str | Path, **overrides: object) -> RunConfig:
    """3 cycles of 256 steps on Crafter, 2 worlds per proposal, ``generated_cycles=2`` (the third cycle trains on
    Crafter alone and asks the LLM nothing); recorded and replayed with one torch thread so training, and with it
    the second prompt, is the same on every machine."""
    base: dict[str, object] = dict(
        task={"target_env": "crafter"}, cycles=3, steps_per_cycle=256, n_envs=2, eval_episodes=3, k_levels=2,
        vec="dummy", llm={"generated_cycles": 2}, cassette=str(CRAFTER_LOOP_CASSETTE),
    )
    base.update(overrides)
    return loop_config(runs_dir, **base)


def repair_proposer_kwargs() -> dict[str, object]:
    """Unconstrained decoding from the base Gemma model: its first answer is rarely valid JSON."""
    return {"k": 2, "temperature": 0.7, "max_tokens": 200, "seed": 3, "constrained": False}


#: `gymsmith generate` scenarios: (cassette, CLI arguments without --out/--backend/--cassette/--record).
#: tests/cassettes/record.py runs exactly these arguments against the local model, the tests replay them.
GENERATE_SCENARIOS: dict[str, tuple[Path, list[str]]] = {
    "generate_minigrid": (
        CASSETTES / "generate_minigrid_qwen.json",
        ["Small rooms where the agent must get past lava to reach the goal; some also have a locked door.",
         "--family", "minigrid", "-n", "3", "--goals", "2", "--seed", "1"],
    ),
    # The issue's own example: a request the old spec could not express (lava and no doors).
    "generate_lava": (
        CASSETTES / "generate_lava_qwen.json",
        ["a big room full of lava with a narrow safe path to the goal, no doors or keys", "--family", "minigrid",
         "-n", "3", "--goals", "0", "--seed", "1"],
    ),
    # A real answer the schema refuses (more lava strips than its 5x5 room fits, in both rounds): the nearest
    # valid level, a few knob steps away, is placed instead (`Family.nearest`).
    "generate_strips": (
        CASSETTES / "generate_strips_qwen.json",
        ["two rivers of lava to cross, each with one gap, then reach the goal", "--family", "minigrid", "-n", "2",
         "--goals", "0", "--seed", "0"],
    ),
    # An unseen request the model reads as two constraints no level holds together ("a room" as two rooms, and two
    # strips of lava): the stated one is kept, the other left out with the reason (`constraints.consistent`).
    "generate_contradiction": (
        CASSETTES / "generate_contradiction_qwen.json",
        ["grab the yellow key in a room crossed by two strips of lava", "--family", "minigrid", "-n", "2",
         "--goals", "0", "--seed", "0"],
    ),
    # Rendering worlds, without the constraint step (the lava scenario covers it): for this request the default
    # model's constraints asked for a starting iron pickaxe and so rejected every world it wrote.
    "generate_crafter": (
        CASSETTES / "generate_crafter_qwen.json",
        ["Worlds where a beginner can learn to make stone tools and find iron.", "--no-constraints",
         "--family", "crafter", "-n", "2", "--goals", "2", "--seed", "0"],
    ),
    "generate_gym": (
        CASSETTES / "generate_gym_qwen.json",
        ["Empty rooms of growing size.", "--family", "gym:MiniGrid-Empty-5x5-v0", "--param", "size=5..12",
         "-n", "3", "--goals", "1", "--seed", "0"],
    ),
    # The Gemma 270M base model without a grammar: answers prose, so the repair round runs and fails.
    "generate_repair": (
        CASSETTES / "generate_repair_gemma.json",
        ["Two small rooms with a locked door.", "--family", "minigrid", "-n", "2", "--goals", "0",
         "--model", "gemma3-270m", "--unconstrained", "--max-tokens", "200", "--seed", "3"],
    ),
}

#: `gymsmith reward` on DoorKey-5x5: 2 compose candidates x 2 iterations, tiny training, plus the sparse baseline.
REWARD_CASSETTE = CASSETTES / "reward_qwen.json"
REWARD_ARGS = [
    "pick up the key, open the door, reach the goal", "--env", "MiniGrid-DoorKey-5x5-v0", "-n", "2",
    "--iterations", "2", "--steps", "1024", "--eval-episodes", "4", "--n-envs", "2", "--seed", "0",
]
LLM_REWARD_CASSETTE = CASSETTES / "llm_reward_qwen.json"
#: `gymsmith reward` on Crafter: 2 compose candidates from the Crafter catalogue, one iteration, plus the baseline.
CRAFTER_REWARD_CASSETTE = CASSETTES / "crafter_reward_qwen.json"
CRAFTER_REWARD_ARGS = [
    "collect wood, place a table, make a wood pickaxe, then collect stone", "--env", "crafter", "-n", "2",
    "--iterations", "1", "--steps", "256", "--eval-episodes", "2", "--n-envs", "2", "--seed", "0",
]


def llm_reward_config(runs_dir: str | Path, **overrides: object) -> RunConfig:
    """The Eureka-style curriculum: 2 cycles, 2 reward candidates per cycle on DoorKey-5x5."""
    base: dict[str, object] = dict(
        task={"target_env": "MiniGrid-DoorKey-5x5-v0"}, curriculum="llm-reward", k_levels=2,
        cassette=str(LLM_REWARD_CASSETTE),
    )
    base.update(overrides)
    return loop_config(runs_dir, **base)
