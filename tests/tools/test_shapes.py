"""The synthetic dataset shapes: what `make eval DATASET=` reads of them is the shape they promise."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from tools.__main__ import SHAPES as CLI_SHAPES
from tools.evaluate import load_interactions
from tools.shapes import SHAPES, write_shapes


def test_the_shapes_load_as_promised_and_are_the_same_every_time(tmp_path: Path) -> None:
    ml1m, lastfm = write_shapes(tmp_path / "first")
    listening = load_interactions(lastfm)
    per_user = Counter(rating.user for rating in listening.ratings)
    assert (len(per_user), set(per_user.values())) == (1892, {50})
    assert not listening.timestamps and all(rating.liked for rating in listening.ratings)
    assert 14_000 < len(listening.items) < 17_632
    rated = load_interactions(ml1m)
    per_user = Counter(rating.user for rating in rated.ratings)
    assert len(per_user) == 6040 and min(per_user.values()) >= 20 and max(per_user.values()) < 2400
    assert 990_000 < len(rated.ratings) < 1_010_000 and len(rated.items) == 3706 and rated.timestamps
    assert 0.5 < sum(rating.liked for rating in rated.ratings) / len(rated.ratings) < 0.65
    (again,) = write_shapes(tmp_path / "second", ("lastfm",))
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(lastfm.read_bytes()).digest()


def test_the_command_line_offers_every_shape() -> None:
    assert CLI_SHAPES == SHAPES
