"""Text preprocessing for lexical features: normalisation, tokenisation (Chinese segmentation), stop words.

Language-model encoders read raw text; these helpers serve the lexical paths (matched words in
explanations, the hashing encoder). Chinese, Japanese and Korean runs are segmented with
``jieba`` (a maintained Chinese word segmenter); other scripts split on word characters.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_WORD = re.compile(r"\w+", re.UNICODE)

_ENGLISH_STOP_WORDS = (
    "a an and are as at be but by for from i i'm im in into is it its love like me movie movies my of on or "
    "our so some something that the their them then there these they this to very want was we were what "
    "when which who with would you your film films have has had been just really"
)
_CHINESE_STOP_WORDS = (
    "的 了 和 是 我 你 他 她 它 们 我们 你们 在 有 也 都 就 很 最近 喜欢 "
    "一个 一些 这 那 看 想 要 吗 呢 吧 啊 与 及 或 、 ， 。"
)

STOP_WORDS = frozenset(_ENGLISH_STOP_WORDS.split() + _CHINESE_STOP_WORDS.split())
"""Words that carry no topic (English and Chinese); kept small on purpose."""


OTHER_LANGUAGES = ("fr", "de", "es", "pt", "it", "nl", "ru", "pl", "tr", "ar", "ja", "ko", "zh", "th")
"""Languages (ISO 639-1) whose stop-word lists (stopwords-iso) :func:`has_content` also checks: those
the default multilingual encoder reads besides English."""


@lru_cache(maxsize=1)
def _other_stop_words() -> dict[str, frozenset[str]]:
    import stopwordsiso

    return {lang: frozenset(stopwordsiso.stopwords(lang)) for lang in OTHER_LANGUAGES}


def has_content(text: str) -> bool:
    """Whether ``text`` has a content word in some language.

    ``False`` when :func:`tokenize` finds no token (emoji, punctuation, English or Chinese stop
    words), or when every token of the text is a stop word of one of :data:`OTHER_LANGUAGES`
    (stopwords-iso lists: "de la et le des", "und der die das", "の に は を") and there are at least
    two. Each language is checked on its own, so "war films" (German "war" = was) keeps its meaning,
    and a one-word text ("War") is taken at its word.
    """
    if not tokenize(text):
        return False
    tokens = tokenize(text, drop_stop_words=False)
    return len(tokens) < 2 or not any(all(t in words for t in tokens) for words in _other_stop_words().values())


def normalise(text: str) -> str:
    """NFKC-normalise (full-width -> ASCII forms), lower-case, collapse whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def has_cjk(text: str) -> bool:
    """Whether ``text`` has a Chinese, Japanese or Korean run."""
    return _CJK.search(text) is not None


def segment(text: str) -> list[str]:
    """jieba's words of ``text``, unnormalised, so that ``"".join(segment(t)) == t``."""
    return list(_jieba().lcut(text))


def tokenize(text: str, drop_stop_words: bool = True) -> list[str]:
    """Word tokens of ``text``: CJK runs segmented by jieba, other scripts by word characters.

    Returns:
        Normalised tokens in order; stop words and 1-character Latin tokens removed when asked.
    """
    text = normalise(text)
    tokens: list[str] = []
    position = 0
    for match in _CJK.finditer(text):
        tokens += _WORD.findall(text[position : match.start()])
        tokens += [t for t in _jieba().lcut(match.group(0)) if t.strip()]
        position = match.end()
    tokens += _WORD.findall(text[position:])
    if drop_stop_words:
        tokens = [t for t in tokens if t not in STOP_WORDS and (len(t) > 1 or _CJK.match(t))]
    return tokens
