"""Semantic side of EGL with the real bundled MiniLM: entity texts, cached embeddings and
free-text seed phrases matched to the right entities."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targetbot.egl.expansion import match_seeds
from targetbot.egl.semantic import embed_entities, entity_texts
from targetbot.egl.storage import Graph
from targetbot.core.config import Settings

pytestmark = pytest.mark.real_models

ENTITIES = pd.DataFrame({
    "entity": ["VoltRide", "HelloRide", "NBA", "Lakers", "PawPal Pet Store", "Brightpath Tutoring"],
    "type": ["mini_program", "mini_program", "sports_league", "sports_team", "merchant", "service"],
    "aliases": [["VoltRide e-bikes"], ["helloride"], ["National Basketball Association"], ["LA Lakers"], [], []],
    "description": ["VoltRide is a new electric bike sharing service.", "HelloRide is a mini-program for bike sharing.",
                    "NBA is a basketball league.", "Lakers is a basketball team in the NBA.",
                    "PawPal Pet Store is a merchant selling pet food and supplies.",
                    "Brightpath Tutoring offers online tutoring for school children."],
})


def test_real_encoder_matches_free_text_to_entities(tmp_path):
    from targetbot.towers.text_encoder import load_text_encoder

    settings = Settings()
    enc = load_text_encoder(settings)
    texts = entity_texts(ENTITIES)
    assert texts[1] == "HelloRide is a mini-program for bike sharing."  # description already starts with the name
    assert "Also called LA Lakers" in texts[3]
    sem = embed_entities(texts, tmp_path, lambda: enc, fingerprint=settings.text_encoder)
    assert sem.shape == (6, 384) and np.allclose(np.linalg.norm(sem, axis=1), 1, atol=1e-4)
    again = embed_entities(texts, tmp_path, lambda: pytest.fail("cache miss"), fingerprint=settings.text_encoder)
    np.testing.assert_array_equal(sem, again)

    g = Graph(root=Path("."), manifest={}, entities=ENTITIES, edges=pd.DataFrame(
        {"head_id": [], "tail_id": [], "score": [], "kept_head": [], "kept_tail": []}),
        embeddings=sem, thresholds=np.zeros(6, np.float32), semantic=sem)
    top = lambda phrase: g.names[match_seeds(g, [phrase], 0.3, encode=enc.encode)[0].entity]  # noqa: E731
    assert top("electric scooter and e-bike rental") in ("VoltRide", "HelloRide")
    assert top("basketball fans") in ("NBA", "Lakers")
    assert top("dog food") == "PawPal Pet Store"
    assert top("online tutors for my children") == "Brightpath Tutoring"
    # below the bar: a one-line error whose suggestions start with the semantically closest entity
    from targetbot.core.errors import TargetbotError

    with pytest.raises(TargetbotError, match=r"no entity matches 'homework help for kids'; did you mean: Brightpath Tutoring"):
        match_seeds(g, ["homework help for kids"], 0.6, encode=enc.encode)
