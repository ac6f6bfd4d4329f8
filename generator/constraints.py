"""Adherence as part of `gymsmith generate`: the request's checkable constraints, checked on sampled levels.

Before writing levels the LLM lists what the request asks for as structured data over the family's own
vocabulary of measurable quantities (`Family.quantities`), each with the words of the request that state it:
``[{"words": "no doors", "quantity": "doors", "value": "0"}, ...]``. The constraints are LLM output like any
other: decoded under a grammar that only allows the family's quantities and comparisons, validated (a constraint
whose words are not in the request was not asked for, and is dropped with that reason), repaired once.

Then they act twice. They narrow the grammar the levels are written under (`Family.narrow`: ``doors = 0``
leaves no field that makes a door), and every accepted spec is built on a few seeds and measured
(`Family.measure`, on the generated level or world, never on spec fields). A spec that still misses a constraint
is repaired once with the violation named, or rejected with it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymsmith.envs.family import Family
from gymsmith.generator.llm import LLMClient
from gymsmith.schemas import Constraint, EnvSpec, LLMCall
from gymsmith.templates import render

TEMPLATE = "constraints.j2"
#: Seeds every accepted spec is measured on: a constraint must hold on each (a spec is a distribution).
CHECK_SEEDS = (0, 1, 2)
#: At most this many constraints per request: small models otherwise list every quantity they are shown.
MAX_CONSTRAINTS = 5
WORDS_LEN = 60


@dataclass
class Check:
    """One constraint measured on one spec's sampled levels."""

    constraint: Constraint
    measured: list[Any]

    @property
    def met(self) -> bool:
        return all(self.constraint.holds(m) for m in self.measured)

    def violation(self) -> str:
        """The violation in words the repair prompt and the user read."""
        bad = [m for m in self.measured if not self.constraint.holds(m)]
        seen = ", ".join(str(m) for m in dict.fromkeys(bad))
        return f"{self.constraint.quantity} is {seen} (asked {self.constraint.text().split(' ', 1)[1]})"

    def to_json(self) -> dict[str, Any]:
        return {**describe(self.constraint), "measured": self.measured, "met": self.met}


def describe(c: Constraint) -> dict[str, Any]:
    return {"quantity": c.quantity, "op": c.op, "value": c.value, "words": c.words, "text": c.text()}


def schema(family: Family) -> dict[str, Any]:
    """A list of constraints, one object shape per quantity so the grammar pairs each with its comparisons."""
    shapes = [
        {
            "type": "object",
            "properties": {"words": {"type": "string", "maxLength": WORDS_LEN}, "quantity": {"enum": [name]},
                           "value": {"enum": values}},
            "required": ["words", "quantity", "value"],
            "additionalProperties": False,
        }
        for name, values in family.quantities().items()
    ]
    items = {"type": "array", "items": {"anyOf": shapes}, "maxItems": MAX_CONSTRAINTS}
    return {"type": "object", "properties": {"constraints": items}, "required": ["constraints"],
            "additionalProperties": False}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _speaks_of(words: str, about: list[str]) -> bool:
    """Whether a quoted word is one of ``about`` (also as a plural, or a longer word starting with one of 4+
    letters: "keys", "unlocked")."""
    for w in _words(words):
        forms = {w, w[:-1] if w.endswith("s") else w, w[:-2] if w.endswith("es") else w}
        if forms & set(about) or any(len(a) >= 4 and w.startswith(a) for a in about):
            return True
    return False


def _off_topic(words: str, quantity: str, value: str, about: dict[str, Any]) -> str | None:
    """Why the quoted words do not speak of this constraint (``about`` in constraints.json.j2), else None: a
    quantity's words must be among them, and so must a value's words where values have their own ("move it"
    is no pickup)."""
    table = _lookup(about, quantity)
    if isinstance(table, list) and not _speaks_of(words, table):
        return f"do not speak of {quantity}; quote the words that do, or leave it out"
    if isinstance(table, dict) and value in table and not _speaks_of(words, table[value]):
        other = [v for v, said in table.items() if v != value and _speaks_of(words, said)]
        if other:
            return f"describe {quantity} {' or '.join(other)}, not {value}"
        return f"do not speak of {quantity} {value}; quote the words that do, or leave it out"
    return None


def _spoken(text: str, about: list[str]) -> list[str]:
    """The words of ``text`` that speak of ``about`` (as `_speaks_of` reads them), in order, each once."""
    return list(dict.fromkeys(w for w in _words(text) if _speaks_of(w, about)))


def from_words(family: Family, request: str, found: list[Constraint],
               prompts_dir: str | Path | None = None) -> list[Constraint]:
    """Constraints the request's own words decide where the model listed none: a count stated right before the
    words of one quantity ("cross three walls" is ``wall_strips >= 3``, see `_counted`), and for a quantity whose
    values have words of their own (MiniGrid's objective), the one value the request speaks of most. Small
    models leave the objective out of half the requests ("pick up the blue ball" came back with no objective and
    trained goal squares); a tie, or no such words, leaves the quantity free as before. Words another constraint
    quotes for its own quantity are its own ("open doors" listed as open_doors is not an objective to open a
    door)."""
    vocabulary = family.quantities()
    words_of = _constraint_words(prompts_dir)
    family_words, request_of = words_of.get(family.vocabulary, {}), words_of.get("request", {})
    about = family_words.get("about", {})
    object_of = family_words.get("object_of", {})
    numbers = request_of.get("numbers", {})
    request_words = _words(request)
    theirs = {w for c in found if isinstance(about.get(c.quantity), list) for w in _spoken(c.words, about[c.quantity])}
    request = " ".join(w for w in request_words if w not in theirs)
    said = family_words.get("about_request", {})
    negations = request_of.get("negations", [])
    bounds = {k: request_of.get(k, []) for k in ("at_most", "comparatives", "articles", "absence", "negations")}
    bounds["whole"] = family_words.get("whole", [])
    added = _counted(vocabulary, request_words, found, about, {**numbers, **dict.fromkeys(negations, 0)}, said,
                     bounds)
    for quantity, table in about.items():
        if (not isinstance(table, dict) or quantity not in vocabulary or any(c.quantity == quantity for c in found)
                or quantity in (object_of.get("object"), object_of.get("color"))):
            continue
        spoken = {value: _spoken(request, said) for value, said in table.items() if value in vocabulary[quantity]}
        ranked = sorted(spoken.items(), key=lambda kv: len(kv[1]), reverse=True)
        if ranked and ranked[0][1] and (len(ranked) == 1 or len(ranked[0][1]) > len(ranked[1][1])):
            value, words = ranked[0]
            added.append(Constraint.parse(quantity, value, " ".join(words)))
    if object_of:
        added += _object(request_words, [*found, *added], about, object_of, vocabulary)
    dimensions = family_words.get("dimensions", {})
    if dimensions.get("quantity") in vocabulary and all(c.quantity != dimensions["quantity"] for c in found):
        added += _dimensions(request_words, dimensions, vocabulary[dimensions["quantity"]])
    return added


def as_read(family: Family, request: str, found: list[Constraint],
            prompts_dir: str | Path | None = None) -> list[Constraint]:
    """``found`` with what its objective is about read from the request where the model read it otherwise: the
    object the objective's verb names (`_object`). The default model wrote "put the yellow ball next to the blue
    box" as a box to move; the thing put is the one after "put". A colour the model gave the object it misread
    goes with it unless its words name the object read."""
    words_of = _constraint_words(prompts_dir)
    family_words = words_of.get(family.vocabulary, {})
    object_of, about = family_words.get("object_of", {}), family_words.get("about", {})
    object_q, color_q = object_of.get("object"), object_of.get("color")
    mine = {c.quantity: c for c in found if c.quantity in (object_q, color_q)}
    if object_q not in mine:
        return found
    others = [c for c in found if c.quantity not in mine]
    read = {c.quantity: c for c in _object(_words(request), others, about, object_of, family.quantities())}
    if object_q not in read or read[object_q].value == mine[object_q].value:
        return found
    said = about.get(object_q, {}).get(read[object_q].value, [])
    if color_q in mine and color_q not in read and _speaks_of(mine[color_q].words, said):
        read[color_q] = mine[color_q]
    return [c for c in found if c.quantity not in mine] + [read[q] for q in (object_q, color_q) if q in read]


def _dimensions(tokens: list[str], dimensions: dict[str, Any], allowed: list[str]) -> list[Constraint]:
    """A square side the request states ("a tiny 5x5 room", "32 by 32 cells") as the family's size quantity,
    where the model listed none and the request states one side."""
    sides: dict[int, str] = {}
    for i, token in enumerate(tokens):
        square = re.fullmatch(r"(\d+)x(\d+)", token)
        if square and square[1] == square[2]:
            sides[int(square[1])] = token
        elif (token.isdigit() and i + 2 < len(tokens) and tokens[i + 1] in dimensions.get("joiners", ())
              and tokens[i + 2] == token):
            sides[int(token)] = " ".join(tokens[i: i + 3])
    if len(sides) != 1:
        return []
    [(side, words)] = sides.items()
    return [Constraint.parse(dimensions["quantity"], str(side), words)] if str(side) in allowed else []


#: How many words after an objective's verb `_object` reads for its object ("pick up the blue ball").
OBJECT_WINDOW = 5


def _object(tokens: list[str], known: list[Constraint], about: dict[str, Any], object_of: dict[str, Any],
            vocabulary: dict[str, list[str]]) -> list[Constraint]:
    """What the objective is about, and its colour, where the model listed neither: the first object word after
    each of the objective's verbs (``object_of`` in constraints.json.j2), with the colour word right before it.
    Every verb must name the same object ("take the key ... pick up the ball" names none), and the colour only
    counts when each names one and the same. The default model wrote "grab the yellow key" as levels where the
    agent picks up a blue ball."""
    objective = next((c.value for c in known if c.quantity == object_of["quantity"]), None)
    verbs = object_of.get("after", {}).get(objective) if isinstance(objective, str) else None
    object_q, color_q = object_of.get("object"), object_of.get("color")
    listed = {c.quantity for c in known}
    if not verbs or object_q not in vocabulary or object_q in listed:
        return []
    objects, colors = about.get(object_q, {}), about.get(color_q, {})
    named: list[tuple[str, str | None, str]] = []  # (object, colour or None, the words naming them)
    for i, token in enumerate(tokens):
        if not _speaks_of(token, verbs):
            continue
        for j in range(i + 1, min(len(tokens), i + 1 + OBJECT_WINDOW)):
            kinds = [o for o, said in objects.items() if o in vocabulary[object_q] and _speaks_of(tokens[j], said)]
            if kinds:
                hue = [c for c, said in colors.items() if _speaks_of(tokens[j - 1], said)]
                named.append((kinds[0], hue[0] if hue else None, " ".join(tokens[i: j + 1])))
                break
    if not named or len({o for o, _, _ in named}) != 1:
        return []
    out = [Constraint.parse(object_q, named[0][0], named[0][2])]
    hues = {c for _, c, _ in named}
    if color_q in vocabulary and color_q not in listed and len(hues) == 1 and None not in hues:
        out.append(Constraint.parse(color_q, named[0][1], named[0][2]))
    return out


#: How many words after a number `_counted` reads for what it counts ("two rivers of lava").
COUNTED_WINDOW = 3


def _counted(vocabulary: dict[str, list[str]], tokens: list[str], found: list[Constraint], about: dict[str, Any],
             numbers: dict[str, int], about_request: dict[str, Any], bounds: dict[str, list[str]]) -> list[Constraint]:
    """``quantity >= n`` for each count the request states (a number, then within `COUNTED_WINDOW` words the
    words of a quantity) where the model listed nothing for that quantity; a negation counts 0 ("no zombies or
    skeletons": no hostiles). The words must speak of one quantity more than of any other, or hold every word of
    the ones they name ("a single opening" speaks of strips and of open doors alike, and counts nothing), the
    request must state one count for it, and hold the words the quantity needs in a request (``about_request``:
    a starting item needs "start"); ``>=`` because a level holding more than the user counted still holds what
    they asked for, ``<=`` after the word of an upper bound ("at most"); a count after a comparative ("more than
    two") is left to the model. What a count counts ends where the next count (a number, a negation, an
    article) begins: "four rooms, a key" is no four keys, "a room without lava" no lava room. An article counts
    one where nothing else counts the quantity ("starts with a stone pickaxe"), and not after a negation
    ("without a door"), or before words of absence or of the level itself ("a calm world", "a big room")."""
    listed = {c.quantity for c in found}
    request = " ".join(tokens)
    counts: dict[str, dict[int, str]] = {}  # quantity -> count -> the words stating it
    weak: dict[str, dict[int, str]] = {}  # the same, stated by an article
    bounded: set[str] = set()  # quantities whose count is an upper bound

    def number(token: str) -> int | None:
        return numbers.get(token, int(token) if token.isdigit() else None)

    for i, token in enumerate(tokens):
        article = token in bounds["articles"]
        n = 1 if article else number(token)
        if n is None:
            continue
        before = tokens[i - 1] if i > 0 else ""
        if before in bounds["comparatives"] or (article and before in bounds["negations"]):
            continue
        below = before in bounds["at_most"] and not article
        after = tokens[i + 1: i + 1 + COUNTED_WINDOW]
        # what a count counts ends where the next count begins ("four rooms, a key": the key is not four)
        ends = [j for j, w in enumerate(after) if number(w) is not None
                or (w in bounds["articles"] and not (j == 0 and token in bounds["negations"]))]  # "without a door"
        after = after[: min(ends, default=len(after))]
        if article and any(w in bounds["absence"] or _speaks_of(w, bounds["whole"]) for w in after):
            continue  # "a calm world", "a big room": the level itself, not a count
        spoken = {q: sum(_speaks_of(w, said) for w in after) for q, said in about.items()
                  if isinstance(said, list) and q in vocabulary}
        most = max(spoken.values(), default=0)
        top = [q for q, k in spoken.items() if k == most]
        # several quantities spoken of alike: those whose every word is there are the ones named ("5 wood" is
        # wood, not a wood pickaxe; "no doors or keys" is doors and keys)
        whole = [q for q in top if all(any(_speaks_of(w, [a]) for w in after) for a in about[q])]
        for q in top if len(top) == 1 else whole:
            if most and q not in listed and _off_topic(request, q, "", about_request) is None:
                last = max(j for j, w in enumerate(after) if _speaks_of(w, about[q]))
                (weak if article else counts).setdefault(q, {})[n] = " ".join(tokens[i - below: i + 2 + last])
                if below:
                    bounded.add(q)
    out = []
    for quantity, stated in {**counts, **{q: n for q, n in weak.items() if q not in counts}}.items():
        if len(stated) != 1:
            continue  # "two keys or three keys": the request states no one count
        [(n, words)] = stated.items()
        forms = (f"<={n}",) if quantity in bounded else (f">={n}", str(n))
        value = next((v for v in forms if v in vocabulary[quantity] and v != ">=0"), None)
        if value is not None:
            out.append(Constraint.parse(quantity, value, words))
    return out


def _stated(words: str, about: list[str], numbers: dict[str, int]) -> int | None:
    """The one count the quoted words state for a quantity: a number (digits or a number word) right before a
    word of the quantity, as in "two rivers of lava" or "3 keys"; None when they state none or several."""
    tokens = _words(words)
    said = {numbers.get(t, int(t) if t.isdigit() else None) for i, t in enumerate(tokens)
            if any(_speaks_of(u, about) for u in tokens[i + 1: i + 3])}
    said.discard(None)
    return said.pop() if len(said) == 1 else None  # type: ignore[return-value]


def _as_stated(constraint: Constraint, allowed: list[str], about: Any, numbers: dict[str, int]) -> Constraint:
    """``constraint`` with the count its words state, when it names another one (the default model wrote "two
    rivers of lava" as ``lava_strips >= 1``): the user's number wins, with the model's comparison, where the
    vocabulary has that value."""
    if isinstance(constraint.value, str) or constraint.op == "<=" or not isinstance(about, list):
        return constraint
    stated = _stated(constraint.words, about, numbers)
    if stated is None or stated == constraint.value:
        return constraint
    value = f"{'>=' if constraint.op == '>=' else ''}{stated}"
    return Constraint.parse(constraint.quantity, value, constraint.words) if value in allowed else constraint


def _excludes_zero(constraint: Constraint) -> bool:
    return not isinstance(constraint.value, str) and not constraint.holds(0)


def _only_none(constraint: Constraint) -> bool:
    """Whether a constraint allows nothing but none: a count of 0 (or at most 0), or the category "none"."""
    if isinstance(constraint.value, str):
        return constraint.value == "none"
    return constraint.holds(0) and not constraint.holds(1)


def parse(
    text: str, family: Family, request: str, prompts_dir: str | Path | None = None
) -> tuple[list[Constraint], list[str]]:
    """Constraints from an answer, each checked against the family's vocabulary and the request's words (a bad
    one is dropped with an error, the others kept; one constraint per quantity)."""
    try:
        data = json.loads(text[text.find("{"): text.rfind("}") + 1] if "{" in text else text)
    except json.JSONDecodeError as exc:
        return [], [f"the answer is not valid JSON ({exc.msg} at position {exc.pos})"]
    items = data.get("constraints") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return [], ['the answer must be a JSON object with a "constraints" list']
    vocabulary = family.quantities()
    said = set(_words(request))
    words_of = _constraint_words(prompts_dir)  # one render of the template per answer
    negations = set(words_of.get("request", {}).get("negations", ()))
    absence = negations | set(words_of.get("request", {}).get("absence", ()))
    numbers = words_of.get("request", {}).get("numbers", {})
    vocabulary_words = words_of.get(family.vocabulary, {})
    about = vocabulary_words.get("about", {})
    about_request = vocabulary_words.get("about_request", {})
    out: list[Constraint] = []
    errors: list[str] = []
    for i, item in enumerate(items[:MAX_CONSTRAINTS]):
        if not isinstance(item, dict):
            errors.append(f"constraints[{i}] is not an object")
            continue
        quantity, value, words = item.get("quantity"), str(item.get("value", "")), str(item.get("words", ""))
        allowed = vocabulary.get(quantity) if isinstance(quantity, str) else None
        if allowed is None:
            errors.append(f"constraints[{i}]: {quantity!r} is not a quantity ({', '.join(vocabulary)})")
        elif value not in allowed:
            errors.append(f"constraints[{i}]: {quantity} cannot be {value!r}; one of {', '.join(allowed)}")
        elif not _words(words) or not set(_words(words)) <= said:
            errors.append(f'constraints[{i}]: the words "{words}" are not in the request; quote the request')
        elif any(c.quantity == quantity for c in out):
            errors.append(f"constraints[{i}]: {quantity} is listed twice")
        elif negations & set(_words(words)) and _excludes_zero(Constraint.parse(quantity, value, words)):
            # small models drop the negation ("no keys" -> keys >= 1): the quoted words contradict the value
            errors.append(f'constraints[{i}]: the words "{words}" ask for none, but {quantity} {value} excludes 0; '
                          f'use "0"')
        elif _only_none(Constraint.parse(quantity, value, words)) and not absence & set(_words(words)):
            # and the other way round: "trees are very rare" came back as tree = none, which no world meets
            errors.append(f'constraints[{i}]: the words "{words}" do not ask for none, but {quantity} {value} allows '
                          f'only none; use the value they ask for')
        elif (off := _off_topic(words, quantity, value, about)) is not None:
            # small models attach a quantity the words never mention ("pick up the blue ball" -> keys_in_boxes)
            errors.append(f'constraints[{i}]: the words "{words}" {off}')
        elif _off_topic(request, quantity, value, about_request) is not None:
            errors.append(f"constraints[{i}]: the request never speaks of {quantity}; leave it out")
        else:
            out.append(_as_stated(Constraint.parse(quantity, value, words), allowed, about.get(quantity), numbers))
    return out, errors


def ask(
    client: LLMClient,
    family: Family,
    request: str,
    prompts_dir: str | Path | None = None,
    seed: int = 0,
    max_tokens: int = 256,
    constrained: bool = True,
) -> tuple[list[Constraint], list[LLMCall], list[str]]:
    """One call (plus one repair) listing the request's constraints; none when the family measures nothing."""
    if not family.quantities():
        return [], [], []
    system = render("system.j2", prompts_dir)
    words = _prompt_words(family, prompts_dir)
    quantities = [{"name": q, "description": _lookup(words["describe"], q), "allowed": values}
                  for q, values in family.quantities().items()]
    examples = [{"request": ex["request"], "answer": json.dumps({"constraints": ex["constraints"]})}
                for ex in words["examples"]]  # serialised here, unescaped: the model copies what it sees
    user = render(TEMPLATE, prompts_dir, request=request, noun=family.noun, quantities=quantities,
                  examples=examples)
    params = {"json_schema": schema(family) if constrained else None, "temperature": 0.0,
              "max_tokens": max_tokens, "seed": seed}
    text, call = client.complete(TEMPLATE, system, user, **params)
    calls = [call]
    found, errors = parse(text, family, request, prompts_dir)
    if errors:
        repair = render("repair.j2", prompts_dir, response=text, errors=errors, k=None)
        text2, call2 = client.complete("repair.j2", system, f"{user}\n\n{repair}", **params)
        calls.append(call2)
        found2, errors2 = parse(text2, family, request, prompts_dir)
        if len(found2) >= len(found):
            found, errors = found2, errors2
    found = as_read(family, request, found + from_words(family, request, found, prompts_dir), prompts_dir)
    kept, dropped = consistent(family, found, prompts_dir)
    return kept, calls, errors + dropped


def consistent(family: Family, found: list[Constraint], prompts_dir: str | Path | None = None
               ) -> tuple[list[Constraint], list[str]]:
    """The constraints that can hold together (`Family.conflict`), in their order, and why each other one was
    left out. Those whose words state their value ("two strips of lava" for ``lava_strips >= 2``) are kept
    first, then the rest in order; one that contradicts those kept is left out with the reason, since every
    level would otherwise be rejected. A constraint no level meets even alone is kept: that is the user's ask,
    and the measurement reports it."""
    words_of = _constraint_words(prompts_dir)
    about = words_of.get(family.vocabulary, {}).get("about", {})
    request_of = words_of.get("request", {})
    ranked = sorted(found, key=lambda c: not _states(c, about, request_of))
    kept: list[Constraint] = []
    errors: list[str] = []
    for c in ranked:
        if family.conflict([c]) is None and (why := family.conflict([*kept, c])) is not None:
            against = [k for k in kept if family.conflict([k, c]) is not None] or kept
            others = ", ".join(k.text() for k in against)
            errors.append(f'"{c.words}" read as {c.text()} contradicts {others} ({why}); left out')
        else:
            kept.append(c)
    return [c for c in found if c in kept], errors


def _states(c: Constraint, about: dict[str, Any], request_of: dict[str, Any]) -> bool:
    """Whether a constraint's quoted words state its value, not only its quantity: the count ("two strips"),
    a negation for none ("no doors"), or the value's own words ("pick up" for a pickup)."""
    table = _lookup(about, c.quantity)
    if isinstance(table, dict):
        return isinstance(c.value, str) and c.value in table and _speaks_of(c.words, table[c.value])
    if not isinstance(table, list) or isinstance(c.value, str):
        return False
    if c.value == 0 and c.op != ">=":
        return bool(set(_words(c.words)) & set(request_of.get("negations", ())))
    return _stated(c.words, table, request_of.get("numbers", {})) == c.value


def check(family: Family, spec: EnvSpec, constraints: list[Constraint],
          seeds: tuple[int, ...] = CHECK_SEEDS) -> list[Check]:
    """Each constraint measured on the levels ``spec`` generates at ``seeds``."""
    if not constraints:
        return []
    rows = [family.measure(spec, seed) for seed in seeds]
    return [Check(c, [row.get(c.quantity) for row in rows]) for c in constraints]


def _constraint_words(prompts_dir: str | Path | None = None) -> dict[str, Any]:
    """The constraint vocabulary in words (``constraints.json.j2``), from the user's --prompts when given."""
    return json.loads(render("constraints.json.j2", prompts_dir))


def _prompt_words(family: Family, prompts_dir: str | Path | None = None) -> dict[str, Any]:
    return _constraint_words(prompts_dir)[family.vocabulary]


def _lookup(table: dict[str, Any], quantity: str) -> Any:
    """A quantity's entry, or its group's (``start_wood`` -> ``start_items``); "" when neither has one."""
    return table.get(quantity) or table.get(quantity.split("_", 1)[0] + "_items", "")


def hints(family: Family, constraints: list[Constraint], prompts_dir: str | Path | None = None) -> list[dict]:
    """Each constraint with how the family's spec meets it (prompt text from ``constraints.json.j2``)."""
    table = _prompt_words(family, prompts_dir)["hints"]
    return [{"text": c.text(), "hint": _lookup(table, c.quantity)} for c in constraints]
