"""Sentence embeddings in the story verdict: one more piece of evidence after every veto."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from bot.core.story import StoryFeatures, TextEmbedder, embedding_text, judge, story_features, story_sketch


def _pair_at(cosine: float) -> tuple[bytes, bytes]:
    a = np.zeros(384, np.float32)
    b = np.zeros(384, np.float32)
    a[0] = b[0] = 1.0
    b[0], b[1] = cosine, float(np.sqrt(1 - cosine * cosine))
    return a.astype(np.float16).tobytes(), b.astype(np.float16).tobytes()


def _with_embeddings(
    a: StoryFeatures, b: StoryFeatures, cosine: float, model: str = "m"
) -> tuple[StoryFeatures, StoryFeatures]:
    ea, eb = _pair_at(cosine)
    return replace(a, embedding=ea, embedding_model=model), replace(b, embedding=eb, embedding_model=model)


@pytest.mark.parametrize(
    ("first", "second", "veto"),
    [
        (
            "Bezos's Prometheus in talks to buy Kessler Robotics",
            "Bezos's Prometheus completes purchase of Kessler Robotics",
            "different stages",
        ),
        (
            "Bezos's Prometheus buys German robot maker Kessler for $4 billion",
            "Bezos's Prometheus buys German robot maker Kessler for $8 billion",
            "the amounts differ",
        ),
        (
            "Bezos's Prometheus sues German robot maker Kessler Robotics over patents",
            "Bezos's Prometheus buys German robot maker Kessler Robotics",
            "different actions",
        ),
        (
            "Bezos's Prometheus to buy German robot maker Kessler",
            "Bezos's Prometheus to buy German robot maker Brandt",
            "different names",
        ),
    ],
)
def test_every_veto_holds_however_alike_the_embeddings(first: str, second: str, veto: str) -> None:
    a, b = _with_embeddings(story_features(first), story_features(second), 0.95)
    verdict = judge(a, b)
    assert not verdict.same
    assert verdict.reason.startswith(veto)


def test_alike_embeddings_are_evidence_past_the_vetoes_and_unlike_ones_are_not() -> None:
    a = story_features(
        "Bezos AI Startup Plans Texas Factory to Test Machine-Designed Parts",
        "The plant will test parts designed by AI near Austin.",
    )
    b = story_features(
        "Bezos's Project Prometheus plans 'proving ground' factory near Austin",
        "A test site for AI-designed parts in Texas.",
    )
    assert not judge(a, b).same  # words alone: not enough
    near, far = _with_embeddings(a, b, 0.9), _with_embeddings(a, b, 0.5)
    assert judge(*near).same and judge(*near).reason.startswith("the texts mean the same")
    assert not judge(*far).same
    other_model = (near[0], replace(near[1], embedding_model="another"))
    assert not judge(*other_model).same  # embeddings of two models are never compared
    assert not judge(near[0], b).same  # one report without an embedding: words only


def test_features_keep_their_embedding_through_json_and_old_features_still_compare() -> None:
    embedder = TextEmbedder("m", lambda text: _pair_at(0.9)[0])
    features, keys = story_sketch("Bezos's Prometheus buys Kessler Robotics for $4 billion", "", "", embedder)
    assert keys and features.embedding and features.embedding_model == "m"
    assert StoryFeatures.from_json(features.to_json()) == features
    stored_v2 = json.loads(features.to_json())
    del stored_v2["e"], stored_v2["em"]
    stored_v2["v"] = 2
    old = StoryFeatures.from_json(json.dumps(stored_v2))
    assert not old.embedding
    assert judge(features, old).same  # the same report stored before embeddings: lexically alike


def test_the_embedded_text_leaves_out_the_story_boilerplate() -> None:
    text = embedding_text(
        "Bezos's Project Prometheus, co-led by Vik Bajaj, plans factory near Austin",
        "Jeff Bezos' startup will build it.",
    )
    assert text.startswith("plans factory near Austin. ")
    assert not {"Bezos", "Prometheus", "Bajaj", "co-led"} & set(text.replace("'", " ").split())
