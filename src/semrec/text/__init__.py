"""Text: item/user text templates, preprocessing, text encoders and the embedding cache.

* :mod:`semrec.text.template`: table row -> the text an encoder reads.
* :mod:`semrec.text.preprocess`: normalisation and tokenisation for lexical features.
* :mod:`semrec.text.encoders`: sentence encoders and the deterministic hashing test double.
* :mod:`semrec.text.cache`: the on-disk embedding cache keyed by encoder identity and text.
"""

from semrec.text.cache import EmbeddingCache, identity_key
from semrec.text.encoders import (
    EncoderConfig,
    HashingEncoder,
    SentenceTransformerEncoder,
    TextEncoder,
    UniversalSentenceEncoder,
    build_encoder,
)
from semrec.text.preprocess import normalise, tokenize
from semrec.text.template import TemplateError, TextTemplateConfig, render_text, render_texts

__all__ = [
    "EmbeddingCache",
    "EncoderConfig",
    "HashingEncoder",
    "SentenceTransformerEncoder",
    "TemplateError",
    "TextEncoder",
    "TextTemplateConfig",
    "UniversalSentenceEncoder",
    "build_encoder",
    "identity_key",
    "normalise",
    "render_text",
    "render_texts",
    "tokenize",
]
