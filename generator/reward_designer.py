"""The reward designer: the LLM proposes reward programs (compose or code), the verifier judges them.

Eureka samples candidates and reflects on reward-component statistics; here every candidate additionally goes
through the layered verifier before any training, and the reason of each rejection is shown to the LLM in the
next iteration, next to the success and component statistics of the candidates that trained.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gymsmith.envs.family import Family
from gymsmith.envs.prompt_data import examples
from gymsmith.generator.llm import LLMClient
from gymsmith.generator.reward_catalogue import (
    catalogue_for_prompt,
    compose_choice_model,
    compose_json_schema,
    describe,
    render_compose,
)
from gymsmith.sandbox import SAFE_BUILTIN_NAMES
from gymsmith.schemas import LLMCall, RewardProgram, Stat, TaskSpec, Verdict
from gymsmith.templates import environment, render


def _compose_example(family: Family) -> dict[str, Any]:
    worked = examples()["reward_compose"]
    return worked.get(family.vocabulary, worked["common"])


@dataclass
class CandidateReport:
    """What the next iteration's prompt says about one earlier candidate."""

    name: str
    verdict: str
    terms: list[dict[str, Any]] = field(default_factory=list)
    success: float | None = None
    skills: dict[str, float] = field(default_factory=dict)
    components: dict[str, Stat] = field(default_factory=dict)


@dataclass
class Candidate:
    """One proposed program (None when the answer could not even be turned into a program) and its verdict."""

    name: str
    program: RewardProgram | None
    verdict: Verdict
    call: LLMCall


_IMPORT_LINE = re.compile(r"\s*(import|from)\s")


def extract_body(text: str) -> str:
    """Take the function body from a fenced block (or the bare answer) and indent it by 4 spaces.

    Code models often answer with a whole program despite the instructions: imports on top, then
    ``def reward(...)``. The def line goes, the imports move into the body, where the static layer accepts
    ``import math`` and refuses anything else with a reason the model can act on.
    """
    match = re.search(r"```(?:python)?\s*\n(.*?)```", text, re.S)
    code = match.group(1) if match else text
    lines = code.splitlines()
    head = 0
    while head < len(lines) and (not lines[head].strip() or _IMPORT_LINE.match(lines[head])):
        head += 1
    imports = [line.strip() for line in lines[:head] if line.strip()]
    if head < len(lines) and lines[head].lstrip().startswith("def reward"):
        body = textwrap.dedent("\n".join(lines[head + 1 :])).strip("\n")
        body = "\n".join([*imports, body])
    else:
        body = textwrap.dedent("\n".join(lines)).strip("\n")
    return textwrap.indent(body or "return 0.0, {}", "    ")


@dataclass
class RewardDesigner:
    client: LLMClient
    family: Family
    mode: str = "compose"
    temperature: float = 0.8
    #: None: per mode. A compose answer is a short JSON list of terms; a program needs room (at 400 tokens a third
    #: of the default model's code answers were cut off mid-line: benchmarks/bench_code_mode.py).
    max_tokens: int | None = None
    seed: int = 0
    prompts_dir: Path | str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("compose", "code"):
            raise ValueError(f"reward mode must be compose or code, not {self.mode!r}")
        if self.max_tokens is None:
            self.max_tokens = {"compose": 400, "code": 1000}[self.mode]

    def prompt(self, task: TaskSpec, reflection: list[CandidateReport], iteration: int) -> tuple[str, str]:
        system = render("system.j2", self.prompts_dir)
        user = render(
            "reward_request.j2",
            self.prompts_dir,
            task=task,
            mode=self.mode,
            catalogue=catalogue_for_prompt(self.family),
            sparse=describe(self.family, "sparse"),
            features=list(self.family.features),
            events=list(self.family.events),
            helpers=list(SAFE_BUILTIN_NAMES),
            reflection=reflection,
            iteration=iteration,
            example=_compose_example(self.family),
        )
        return system, user

    def _to_program(self, text: str, name: str) -> tuple[RewardProgram | None, str]:
        """Turn an answer into a program, or say why it cannot be one (that reason reaches the LLM)."""
        if self.mode == "code":
            body = extract_body(text)
            source = environment(self.prompts_dir).get_template("reward_code.py.j2").render(body=body, name=name)
            return RewardProgram(name=name, mode="code", source=source.rstrip() + "\n"), ""
        try:
            start, end = text.find("{"), text.rfind("}")
            data = json.loads(text[start : end + 1] if start >= 0 else text)
            choice = compose_choice_model(self.family).model_validate(data)
            terms = [t.model_dump() for t in choice.terms]  # type: ignore[attr-defined]
            return render_compose(terms, self.family, name=name), ""
        except json.JSONDecodeError as exc:
            return None, f"the answer is not valid JSON ({exc.msg})"
        except (ValidationError, ValueError) as exc:
            return None, str(exc).splitlines()[0][:300]

    def propose(
        self,
        task: TaskSpec,
        n: int,
        reflection: list[CandidateReport] | None = None,
        iteration: int = 0,
        verify: Any = None,
    ) -> list[Candidate]:
        """Sample ``n`` candidates (one call each, distinct seeds) and verify every program.

        ``verify`` maps a program to a `Verdict`; the default is the full layered reward verifier on the
        target's recorded transitions.
        """
        if verify is None:
            from gymsmith.generator.verify_reward import reward_fixtures, verify_reward_program

            fixtures = reward_fixtures(self.family)

            def verify(program: RewardProgram) -> Verdict:
                return verify_reward_program(program, fixtures)

        system, user = self.prompt(task, reflection or [], iteration)
        schema = compose_json_schema(self.family) if self.mode == "compose" else None
        out: list[Candidate] = []
        for i in range(n):
            name = f"it{iteration}-c{i}"
            params = {
                "json_schema": schema,
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "seed": self.seed + 1000 * iteration + i,
            }
            text, call = self.client.complete("reward_request.j2", system, user, **params)
            program, why = self._to_program(text, name)
            if program is None:
                verdict = Verdict(subject=f"reward:{name}", accepted=False,
                                  rejections=[{"layer": "schema", "reason": why}])  # type: ignore[list-item]
            else:
                program = program.model_copy(update={"provenance": {**program.provenance, "llm": call.model,
                                                                    "prompt_hash": call.prompt_hash}})
                verdict = verify(program)
            out.append(Candidate(name=name, program=program, verdict=verdict, call=call))
        return out
