"""The Crafter world spec: EnvGen's knobs (biome, resource rarities, creatures, starting inventory)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from gymsmith.schemas import EnvSpec, register_spec

CRAFTER_MATERIALS: tuple[str, ...] = ("sapling", "wood", "stone", "coal", "iron", "diamond")
CRAFTER_TOOLS: tuple[str, ...] = (
    "wood_pickaxe",
    "stone_pickaxe",
    "iron_pickaxe",
    "wood_sword",
    "stone_sword",
    "iron_sword",
)
Rarity = Literal["very_rare", "rare", "default", "common", "very_common"]


@register_spec
class CrafterWorldSpec(EnvSpec):
    """A Crafter world distribution in the spirit of EnvGen's modified Crafter; every field takes effect."""

    family: Literal["crafter"] = "crafter"
    name: str = Field(default="world", max_length=60)
    biome: Literal["natural", "grassland", "mountain", "beaches"] = "natural"
    coal: Rarity = "default"
    iron: Rarity = "default"
    diamond: Rarity = "default"
    tree: Rarity = "default"
    inventory: dict[str, int] = Field(default_factory=dict, description="starting items")
    peaceful: bool = False
    zombies: Rarity = "default"
    skeletons: Rarity = "default"
    cows: Rarity = "default"
    length: int = Field(default=10000, ge=100, le=10000)
    area: int = Field(default=64, ge=32, le=64)

    @field_validator("inventory")
    @classmethod
    def _inventory(cls, value: dict[str, int]) -> dict[str, int]:
        for item, count in value.items():
            if item in CRAFTER_MATERIALS:
                if not 0 <= count <= 9:
                    raise ValueError(f"inventory[{item!r}]={count}: materials take 0..9")
            elif item in CRAFTER_TOOLS:
                if not 0 <= count <= 1:
                    raise ValueError(f"inventory[{item!r}]={count}: tools take 0..1")
            else:
                allowed = ", ".join(CRAFTER_MATERIALS + CRAFTER_TOOLS)
                raise ValueError(f"inventory item {item!r} is unknown; allowed: {allowed}")
        return value
