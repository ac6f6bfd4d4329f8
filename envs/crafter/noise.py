"""OpenSimplex noise for whole arrays, bit-identical to the ``opensimplex`` package Crafter's worldgen uses.

Computing the noise fields for all cells at once is what makes a generated Crafter world about 20x faster to
reset than Crafter's own per-cell loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import opensimplex

# ------------------------------------------------------------------------------ vectorised OpenSimplex

_SQUISH3 = 1.0 / 3
_STRETCH3 = -1.0 / 6
_NORM3 = 103
_GRADIENTS3 = np.array(
    [-11, 4, 4, -4, 11, 4, -4, 4, 11, 11, 4, 4, 4, 11, 4, 4, 4, 11,
     -11, -4, 4, -4, -11, 4, -4, -4, 11, 11, -4, 4, 4, -11, 4, 4, -4, 11,
     -11, 4, -4, -4, 11, -4, -4, 4, -11, 11, 4, -4, 4, 11, -4, 4, 4, -11,
     -11, -4, -4, -4, -11, -4, -4, -4, -11, 11, -4, -4, 4, -11, -4, 4, -4, -11],
    dtype=np.int64,
)  # fmt: skip
# Lattice vertices each region of the honeycomb always visits, in the reference implementation's order.
_REGION_VERTICES = (
    ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)),
    ((1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)),
    ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1)),
)


def _has(c: np.ndarray, bit: int) -> np.ndarray:
    return (c & bit) != 0


def _first_axis(mask_x: np.ndarray, mask_y: np.ndarray) -> np.ndarray:
    return np.where(mask_x, 0, np.where(mask_y, 1, 2))


class VectorSimplex:
    """OpenSimplex 3D noise for whole arrays, bit-identical to ``opensimplex.OpenSimplex.noise3``.

    The reference evaluates one point per Python call (numba is optional and absent here), which made a
    64x64 Crafter reset cost over a second. This port keeps the reference's vertex choice and summation
    order per point, so thresholds flip on exactly the same cells as in Crafter.
    """

    #: Whether this port matches the installed opensimplex; checked once per process (see `_trusted`).
    _verified: bool | None = None

    def __init__(self, seed: int) -> None:
        reference = opensimplex.OpenSimplex(seed=seed)
        # opensimplex < 0.4 names the scalar function noise3d (crafter supports both).
        self._scalar = getattr(reference, "noise3", None) or reference.noise3d
        perm = getattr(reference, "_perm", None)
        grad_index = getattr(reference, "_perm_grad_index3", None)
        self._perm = self._grad_index = None
        if perm is not None and grad_index is not None:
            self._perm, self._grad_index = np.asarray(perm, np.int64), np.asarray(grad_index, np.int64)
            if not self._trusted():
                self._perm = self._grad_index = None

    def _trusted(self) -> bool:
        """Check against the scalar reference once, so a changed opensimplex costs speed, not correctness."""
        if VectorSimplex._verified is None:
            probe = np.random.default_rng(0).uniform(-20.0, 20.0, size=(3, 256))
            expected = [self._scalar(*point) for point in probe.T.tolist()]
            VectorSimplex._verified = bool(np.array_equal(self._noise(*probe), expected))
        return VectorSimplex._verified

    def __call__(self, x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
        if self._perm is None:  # unknown opensimplex internals: the exact, slow scalar reference
            return np.vectorize(self._scalar, otypes=[np.float64])(x, y, z)
        shape = np.broadcast_shapes(np.shape(x), np.shape(y))
        x = np.broadcast_to(np.asarray(x, np.float64), shape).ravel()
        y = np.broadcast_to(np.asarray(y, np.float64), shape).ravel()
        return self._noise(x, y, np.full(x.shape, float(z))).reshape(shape)

    def _noise(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        n = x.size
        stretch = (x + y + z) * _STRETCH3
        xs, ys, zs = x + stretch, y + stretch, z + stretch
        xsb, ysb, zsb = np.floor(xs), np.floor(ys), np.floor(zs)
        squish = (xsb + ysb + zsb) * _SQUISH3
        dx0, dy0, dz0 = x - (xsb + squish), y - (ysb + squish), z - (zsb + squish)
        xins, yins, zins = xs - xsb, ys - ysb, zs - zsb
        in_sum = xins + yins + zins
        region_a = in_sum <= 1
        region_b = in_sum >= 2
        region_c = ~region_a & ~region_b
        ext_a = self._extra_near_origin(xins, yins, zins, in_sum)
        ext_b = self._extra_near_far_corner(xins, yins, zins, in_sum)
        ext_c = self._extra_octahedron(xins, yins, zins, n)
        ext0 = np.where(region_a, ext_a[0], np.where(region_b, ext_b[0], ext_c[0]))
        ext1 = np.where(region_a, ext_a[1], np.where(region_b, ext_b[1], ext_c[1]))

        base = (xsb.astype(np.int64), ysb.astype(np.int64), zsb.astype(np.int64))
        deltas = (dx0, dy0, dz0)
        value = np.zeros(n)
        regions = (region_a, region_b, region_c)
        for slot in range(6):
            offset = np.zeros((3, n), np.int64)
            valid = np.zeros(n, bool)
            for region, vertices in zip(regions, _REGION_VERTICES, strict=True):
                if slot < len(vertices):
                    offset[:, region] = np.array(vertices[slot])[:, None]
                    valid |= region
            value = self._add(value, base, deltas, offset, valid)
        everywhere = np.ones(n, bool)
        value = self._add(value, base, deltas, ext0, everywhere)
        value = self._add(value, base, deltas, ext1, everywhere)
        return value / _NORM3

    def _add(
        self,
        value: np.ndarray,
        base: tuple[np.ndarray, np.ndarray, np.ndarray],
        deltas: tuple[np.ndarray, np.ndarray, np.ndarray],
        offset: np.ndarray,
        valid: np.ndarray,
    ) -> np.ndarray:
        i, j, k = offset
        shift = (i + j + k) * _SQUISH3
        dx, dy, dz = deltas[0] - i - shift, deltas[1] - j - shift, deltas[2] - k - shift
        attn = 2 - dx * dx - dy * dy - dz * dz
        attn2 = attn * attn
        perm = self._perm
        index = self._grad_index[
            (perm[(perm[(base[0] + i) & 0xFF] + base[1] + j) & 0xFF] + base[2] + k) & 0xFF
        ]
        grad = _GRADIENTS3[index] * dx + _GRADIENTS3[index + 1] * dy + _GRADIENTS3[index + 2] * dz
        return np.where(valid & (attn > 0), value + attn2 * attn2 * grad, value)

    @staticmethod
    def _extra_near_origin(
        xins: np.ndarray, yins: np.ndarray, zins: np.ndarray, in_sum: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two extra vertices inside the tetrahedron at (0,0,0)."""
        a_score, b_score = xins, yins
        swap_b = (a_score >= b_score) & (zins > b_score)
        swap_a = ~swap_b & (a_score < b_score) & (zins > a_score)
        b_score = np.where(swap_b, zins, b_score)
        b_point = np.where(swap_b, 4, 2)
        a_score = np.where(swap_a, zins, a_score)
        a_point = np.where(swap_a, 4, 1)
        wins = 1 - in_sum
        origin_close = (wins > a_score) | (wins > b_score)
        c = np.where(origin_close, np.where(b_score > a_score, b_point, a_point), a_point | b_point)
        cx, cy, cz = _has(c, 1), _has(c, 2), _has(c, 4)
        close0 = np.stack([np.where(cx, 1, -1), np.where(cy, 1, np.where(cx, -1, 0)), np.where(cz, 1, 0)])
        close1 = np.stack([np.where(cx, 1, 0), np.where(cy, 1, np.where(cx, 0, -1)), np.where(cz, 1, -1)])
        far0 = np.stack([cx, cy, cz]).astype(np.int64)
        far1 = 2 * far0 - 1
        return np.where(origin_close, close0, far0), np.where(origin_close, close1, far1)

    @staticmethod
    def _extra_near_far_corner(
        xins: np.ndarray, yins: np.ndarray, zins: np.ndarray, in_sum: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two extra vertices inside the tetrahedron at (1,1,1)."""
        a_score, b_score = xins, yins
        swap_b = (a_score <= b_score) & (zins < b_score)
        swap_a = ~swap_b & (a_score > b_score) & (zins < a_score)
        b_score = np.where(swap_b, zins, b_score)
        b_point = np.where(swap_b, 3, 5)
        a_score = np.where(swap_a, zins, a_score)
        a_point = np.where(swap_a, 3, 6)
        wins = 3 - in_sum
        corner_close = (wins < a_score) | (wins < b_score)
        c = np.where(corner_close, np.where(b_score < a_score, b_point, a_point), a_point & b_point)
        cx, cy, cz = _has(c, 1), _has(c, 2), _has(c, 4)
        close0 = np.stack([np.where(cx, 2, 0), np.where(cy, np.where(cx, 1, 2), 0), np.where(cz, 1, 0)])
        close1 = np.stack([np.where(cx, 1, 0), np.where(cy, np.where(cx, 2, 1), 0), np.where(cz, 2, 0)])
        far0 = np.stack([cx, cy, cz]).astype(np.int64)
        return np.where(corner_close, close0, far0), np.where(corner_close, close1, 2 * far0)

    @staticmethod
    def _extra_octahedron(
        xins: np.ndarray, yins: np.ndarray, zins: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two extra vertices inside the octahedron between the two tetrahedra."""
        p1, p2, p3 = xins + yins, xins + zins, yins + zins
        a_far, b_far, p3_far = p1 > 1, p2 > 1, p3 > 1
        a_score = np.where(a_far, p1 - 1, 1 - p1)
        a_point = np.where(a_far, 3, 4)
        b_score = np.where(b_far, p2 - 1, 1 - p2)
        b_point = np.where(b_far, 5, 2)
        score = np.where(p3_far, p3 - 1, 1 - p3)
        replace_a = (a_score <= b_score) & (a_score < score)
        replace_b = ~replace_a & (a_score > b_score) & (b_score < score)
        p3_point = np.where(p3_far, 6, 1)
        a_point = np.where(replace_a, p3_point, a_point)
        a_far = np.where(replace_a, p3_far, a_far)
        b_point = np.where(replace_b, p3_point, b_point)
        b_far = np.where(replace_b, p3_far, b_far)
        same_side = a_far == b_far
        # A doubled axis (0,0,2)-like vertex: the axis shared by both points, or the axis of the near one.
        two_src = np.where(same_side, a_point & b_point, np.where(a_far, b_point, a_point))
        doubled = np.zeros((3, n), np.int64)
        doubled[_first_axis(_has(two_src, 1), _has(two_src, 2)), np.arange(n)] = 2
        # A (1,1,-1)-like vertex: -1 on the axis missing from both points, or missing from the far one.
        neg_src = np.where(same_side, a_point | b_point, np.where(a_far, a_point, b_point))
        negated = np.ones((3, n), np.int64)
        negated[_first_axis(~_has(neg_src, 1), ~_has(neg_src, 2)), np.arange(n)] = -1
        both_far = same_side & a_far
        both_near = same_side & ~a_far
        ext0 = np.where(both_far, 1, np.where(both_near, 0, negated))
        ext1 = np.where(both_far, doubled, np.where(both_near, negated, doubled))
        return ext0, ext1


def fractal(
    noise: VectorSimplex, x: np.ndarray, y: np.ndarray, z: float, sizes: Any, normalize: bool = True
) -> np.ndarray:
    """Crafter's ``worldgen._simplex`` on arrays, with the same operation order (bit-identical results)."""
    if not isinstance(sizes, dict):
        sizes = {sizes: 1}
    value: Any = 0
    for size, weight in sizes.items():
        value = value + weight * noise(x / size, y / size, z)
    if normalize:
        value = value / sum(sizes.values())
    return value
