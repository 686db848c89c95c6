"""Rotary positional encoding (RoPE, Su et al. 2021) for token vectors, in NumPy.

The apt method encodes the order of a node's events by rotating each token vector by
an angle proportional to its position before averaging. Dimension pair ``(2i, 2i+1)``
is rotated by ``pos * theta_i`` with ``theta_i = base ** (-2i / d)``.

The property that makes it a *relative* encoding: rotations preserve length, and the
dot product of two encoded vectors depends on their positions only through the
difference, ``<R(q, m), R(k, n)> == <R(q, m + s), R(k, n + s)>`` for any shift ``s``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rope", "rope_angles"]


def rope_angles(positions: np.ndarray, dim: int, base: float = 10000.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` of the rotation angles, each of shape ``(len(positions), dim // 2)``."""
    if dim % 2:
        raise ValueError(f"RoPE needs an even vector size; got {dim}.")
    theta = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    ang = np.asarray(positions, dtype=np.float64)[:, None] * theta[None, :]
    return np.cos(ang), np.sin(ang)


def rope(vectors: np.ndarray, positions: np.ndarray, base: float = 10000.0) -> np.ndarray:
    """Rotate each row of ``vectors`` (N, d) by its position (N,); returns float32 (N, d).

    Shapes:
        vectors: (N, d), d even; positions: (N,); output: (N, d)

    Examples
    --------
    >>> import numpy as np
    >>> q, k = np.random.default_rng(0).normal(size=(2, 8))
    >>> a = rope(np.stack([q, k]), np.array([3, 7]))
    >>> b = rope(np.stack([q, k]), np.array([13, 17]))   # both shifted by 10
    >>> bool(np.isclose(a[0] @ a[1], b[0] @ b[1], atol=1e-5))
    True
    >>> bool(np.allclose(np.linalg.norm(a, axis=1), np.linalg.norm([q, k], axis=1), atol=1e-5))
    True
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    positions = np.asarray(positions, dtype=np.int64)
    # Positions are small integers: one table row per distinct position, then a complex
    # multiply per pair (x + iy) * e^{i angle} is the rotation, in one pass.
    uniq, inv = np.unique(positions, return_inverse=True)
    cos, sin = rope_angles(uniq, vectors.shape[1], base)
    turn = (cos + 1j * sin).astype(np.complex64)
    return (vectors.view(np.complex64) * turn[inv]).view(np.float32)
