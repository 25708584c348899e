"""Intent over the catalogue's own vocabulary, and several interests in one need.

A request text is split into its aspects ("laptops, tablets and phones" -> three; "我最近喜欢看恐怖片
和喜剧" -> two) at list separators and conjunctions of the languages semrec reads (Chinese words
are found with jieba, so a conjunction inside a word does not split it). Each aspect is encoded
with the catalogue's encoder and matched against the catalogue's attribute values (genres,
categories, brands ...: :func:`semrec.scorers.described.attribute_values`). A value is represented
by its name in the catalogue's words (``value_template``, e.g. ``"{value} movies"``) plus the
centroid of the embeddings of the items that carry it (both unit-normalised, summed), so a Chinese
or Japanese query meets an English catalogue through a multilingual encoder. An aspect matches its
most similar value when that cosine stands out from the other values' (``z >= min_z``, the
standard score over the values): a need-free text is about as close to every value.

The matched aspects then order the list (a filter with fallback, not a new score): for each
aspect, the items that carry its value, in the order of the request's pipeline scores (so
history, described users and popularity still decide within an aspect); an aspect that matched
no value (when another did) takes the request's own ranking; several aspects are interleaved
round robin, so each named interest gets its share of the top k; the items of no aspect follow in
score order. In a catalogue without attribute values, a need with several
aspects retrieves each aspect by its text cosine to the item texts and interleaves those.

References:
    H. Steck. Calibrated Recommendations. RecSys 2018 (lists that keep each interest's share).
    Y. Cen et al. Controllable Multi-Interest Framework for Recommendation. KDD 2020
    (one retrieval per interest, then aggregation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pydantic import Field, PositiveInt

from semrec.frozen import FrozenConfig
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.context import standardise
from semrec.text.preprocess import has_cjk, segment, tokenize

_SEPARATORS = re.compile(
    r"[,;/&+，、；｜|]"
    r"|(?<!\S)(?:and|or|plus|as well as|y|e|et|ou|und|oder|o|oppure|ed)(?!\S)",
    re.IGNORECASE,
)
"""List punctuation and Latin-script conjunctions (en, es, pt, fr, de, it)."""

_CJK_CONJUNCTIONS = frozenset("和 与 及 以及 或 或者 还有 跟 同 と や 및 와 과".split())
"""Conjunctions of Chinese, Japanese and Korean, matched as whole segmented words."""


class IntentConfig(FrozenConfig):
    """How a request text's aspects order the list (:mod:`semrec.pipeline.intent`)."""

    enabled: bool = True
    value_template: str = "{value}"
    """How a value is named for the encoder; ``semrec fit --dataset`` uses the data set's own
    (MovieLens: ``"{value} movies"``)."""
    min_z: float = Field(2.3, ge=0.0)
    """An aspect matches its most similar value when that cosine is at least this many standard
    deviations above the mean over the values (chosen on ``benchmarks/intent.py --dev``: 19 of 20
    development needs match their value there, 1 of 8 need-free texts matches one)."""
    max_values: PositiveInt = 1
    """At most this many values per aspect (each with ``z >= min_z``). The development queries do not
    tell 1 from 2 (no second value reaches ``min_z`` there), so the default is the simpler one."""
    max_aspects: PositiveInt = 4
    """At most this many aspects are read from one text (the first ones)."""
    remove_domain: bool = True
    """Remove the direction of the catalogue's domain word (``value_template`` without the value:
    "movies") from an aspect's embedding before matching, so "des films policiers" is read by
    "policiers", not by "films" (``benchmarks/intent.py --dev``: 25 of 25 needs match with it, 24
    without; need-free texts matched 2 of 8 either way). No effect for the template ``"{value}"``."""
    order: bool = True
    """Order the list by the matched aspects (``False``: values are read, for the text route, but
    the list keeps the pipeline's order)."""
    value_aliases: dict[str, tuple[str, ...]] = {}
    """Other names of a value (other languages, synonyms): an aspect's cosine to a value is the best
    over its prototype and these names' embeddings. ``semrec fit --dataset`` uses the data set's own
    (MovieLens: the genres' usual Chinese and Japanese names, :data:`semrec.data.movielens.GENRE_NAMES`).
    Names of values the catalogue does not have are ignored."""
    name_values: bool = True
    """An aspect that names values verbatim matches those values whatever the encoder places
    nearest: in other text, a value's own name as a whole word ("thriller flicks" -> Thriller, which
    the encoder alone reads below ``min_z``); in CJK text, one of its :attr:`value_words`
    ("我平时爱看剧情电影" contains 剧情, Drama, though 爱 pulls the embedding towards Romance).
    Every value named so is kept, in the order of the text; aspects that name none are matched
    by the encoder as before."""
    value_words: dict[str, tuple[str, ...]] = {}
    """Words that name a value verbatim, mainly for scripts written without spaces (Chinese,
    Japanese: matched as substrings; Latin-script ones as whole words). ``semrec fit --dataset``
    uses the data set's own (MovieLens: :data:`semrec.data.movielens.GENRE_WORDS`)."""


@dataclass(frozen=True)
class Aspect:
    """One interest named in a text: its words and the attribute values it matched (empty: none)."""

    text: str
    values: tuple[str, ...]
    """The best values (at most ``max_values``) whose cosine has ``z >= min_z``, best first; their
    items together make the aspect's share."""
    z: float
    """Standard score of the best value's cosine over all values (0 when there are fewer than 3)."""


def split_aspects(text: str, limit: int = 4) -> list[str]:
    """The parts of ``text`` that each name an interest (parts without content words are dropped).

    >>> split_aspects("laptops, tablets and phones")
    ['laptops', 'tablets', 'phones']
    """
    parts: list[str] = []
    for chunk in _SEPARATORS.split(text):
        if has_cjk(chunk):
            current: list[str] = []
            for word in segment(chunk):
                if word.strip() in _CJK_CONJUNCTIONS:
                    parts.append("".join(current))
                    current = []
                else:
                    current.append(word)
            parts.append("".join(current))
        else:
            parts.append(chunk)
    kept = [" ".join(p.split()) for p in parts if tokenize(p)]
    return kept[:limit]


class IntentStage:
    """Reads a request text's aspects and orders a score row by them.

    Args:
        catalogue: The served catalogue (values and centroids are derived once per catalogue
            version: :meth:`Catalogue.upsert` clears them).
        config: Its :class:`IntentConfig`.
    """

    def __init__(self, catalogue: Catalogue, config: IntentConfig) -> None:
        self.catalogue, self.config = catalogue, config
        self._aspects: dict[str, list[Aspect]] = {}  # recent texts (explanations re-order one text many times)

    def values(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Value names, ``(n_values, n_items) bool`` membership and ``(n_values, dim)`` unit prototypes."""
        cached = self.catalogue.derived("intent:values")
        if cached is None:
            from semrec.scorers.described import attribute_values

            per_item = attribute_values(self.catalogue.items) or []
            names = sorted({v for values in per_item for v in values})
            index = {name: j for j, name in enumerate(names)}
            member = np.zeros((len(names), len(self.catalogue)), dtype=bool)
            for item, values in enumerate(per_item):
                member[[index[v] for v in values], item] = True
            member[:, list(self.catalogue.removed)] = False
            prototypes = np.zeros((len(names), self.catalogue.embeddings.shape[1]), dtype=np.float32)
            if names:
                named = self.catalogue.embed([self.config.value_template.format(value=v) for v in names], "document")
                centroids = member.astype(np.float32) @ self.catalogue.embeddings
                prototypes = _unit(_unit(named) + _unit(centroids))
            cached = self.catalogue.derive("intent:values", (names, member, prototypes))
        return cached

    def aliases(self) -> tuple[np.ndarray, np.ndarray]:
        """``(n_aliases,) int64`` value index of each alias and their ``(n_aliases, dim)`` unit embeddings."""
        key = f"intent:aliases:{id(self)}"  # this stage's aliases (models may share a catalogue)
        cached = self.catalogue.derived(key)
        if cached is None:
            names = self.values()[0]
            pairs = [(j, alias) for j, name in enumerate(names) for alias in self.config.value_aliases.get(name, ())]
            vectors = np.zeros((0, self.catalogue.embeddings.shape[1]), dtype=np.float32)
            if pairs:
                vectors = _unit(self.catalogue.embed([alias for _, alias in pairs], "document"))
            cached = self.catalogue.derive(key, (np.array([j for j, _ in pairs], dtype=np.int64), vectors))
        return cached

    def standard_scores(self, vectors: np.ndarray) -> np.ndarray:
        """``(q, n_values) float32`` how far each value stands out for unit query vectors.

        The larger of two standard scores over the values: of the cosine to the values'
        prototypes, and of the cosine to their aliases (the best alias; a value without aliases
        counts its prototype there). Each scale is standardised on its own, so aliases do not
        compress the prototypes' scale.
        """
        _, _, prototypes = self.values()
        cosine = vectors @ prototypes.T
        z = _standard(cosine)
        owners, aliases = self.aliases()
        if len(owners):
            by_alias = vectors @ aliases.T  # (q, n_aliases)
            best = cosine.copy()
            for j in np.unique(owners):
                best[:, j] = by_alias[:, owners == j].max(axis=1)
            z = np.maximum(z, _standard(best))
        return z

    def domain(self) -> np.ndarray | None:
        """``(dim,)`` unit embedding of the domain word (``value_template`` without the value), or
        ``None`` when there is none or :attr:`IntentConfig.remove_domain` is off."""
        word = self.config.value_template.replace("{value}", "").strip()
        if not (word and self.config.remove_domain):
            return None
        key = f"intent:domain:{id(self)}"
        cached = self.catalogue.derived(key)
        if cached is None:
            cached = self.catalogue.derive(key, _unit(self.catalogue.embed([word], "document"))[0])
        return cached

    def aspects(self, text: str) -> list[Aspect]:
        """The aspects of ``text`` with the value each matched; one aspect when the text names one interest."""
        if self.catalogue.derived("intent:values") is None:
            self._aspects.clear()  # the catalogue changed
        if text not in self._aspects:
            if len(self._aspects) >= 256:
                self._aspects.clear()
            self._aspects[text] = self._read(text)
        return self._aspects[text]

    def _read(self, text: str) -> list[Aspect]:
        parts = split_aspects(text, self.config.max_aspects) or [text]
        names = self.values()[0]
        vectors = _unit(self.catalogue.query_vectors(parts))
        domain = self.domain()
        if domain is not None:
            vectors = _unit(vectors - (vectors @ domain)[:, None] * domain[None, :])
        if len(names) < 3:
            return [Aspect(part, (), 0.0) for part in parts]
        out: list[Aspect] = []
        for part, z in zip(parts, self.standard_scores(vectors)):
            order = np.argsort(-z, kind="stable")
            chosen = order[: self.config.max_values][z[order[: self.config.max_values]] >= self.config.min_z]
            named = self.named(part, names)
            if named:
                out.append(Aspect(part, named, max(float(z[order[0]]), self.config.min_z)))
            else:
                out.append(Aspect(part, tuple(names[j] for j in chosen), float(z[order[0]])))
        return out

    def named(self, part: str, names: list[str]) -> tuple[str, ...]:
        """The values named verbatim in ``part``, in text order (empty: none, or ``name_values`` off).

        In CJK text, a value is named when one of its :attr:`IntentConfig.value_words` occurs in
        ``part``; in other text, when its own name (or one of its value words) occurs as a whole
        word, case-folded, optionally plural ("thrillers", "comedies", "film noir").
        """
        if not self.config.name_values:
            return ()
        found: dict[str, int] = {}
        if has_cjk(part):
            for name in names:
                at = [part.find(w) for w in self.config.value_words.get(name, ()) if w and w in part]
                if at:
                    found[name] = min(at)
        else:
            for name in names:
                match = _name_pattern(name, self.config.value_words.get(name, ())).search(part)
                if match:
                    found[name] = match.start()
        return tuple(sorted(found, key=lambda name: found[name]))

    def order(self, text: str, scores: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, list[Aspect], str]:
        """Scores whose descending order is the aspect-ordered list.

        Args:
            text: The request text.
            scores: ``(n_items,) float32`` the request's pipeline scores.
            blocked: ``(n_items,) bool`` items the request may not receive.

        Returns:
            ``(scores, aspects, note)``: the input row itself when no aspect applies (``aspects``
            empty, ``note`` ``""``), else ``-position`` of each item in the interleaved list (items of
            no aspect after those of every aspect) and a note naming the aspects.
        """
        if not (self.config.enabled and self.config.order):
            return scores, [], ""
        aspects = self.aspects(text)
        names, member, _ = self.values()
        matched = [a for a in aspects if a.values]
        if matched:
            # an aspect that matched no value keeps a share ranked by the request's own scores
            seen: dict[tuple[str, ...], Aspect] = {}
            for aspect in aspects:
                seen.setdefault(aspect.values, aspect)  # aspects naming the same values (or none) count once
            used = list(seen.values())
            masks = [member[[names.index(v) for v in a.values]].any(axis=0) if a.values else None for a in used]
            keys = [scores if mask is None else np.where(mask, scores, np.nan) for mask in masks]
        elif len(aspects) >= 2 and not names:
            used = aspects  # no vocabulary: each aspect retrieves by its own text match
            vectors = self.catalogue.query_vectors([a.text for a in used])
            keys = list(self.catalogue.cosine(vectors))
        else:
            return scores, [], ""
        n, m = len(scores), len(used)
        position = np.full(n, np.inf)
        for a, key in enumerate(keys):
            key = np.where(blocked | ~np.isfinite(scores), np.nan, np.asarray(key, dtype=np.float64))
            ranked = np.flatnonzero(~np.isnan(key))
            ranked = ranked[np.argsort(-key[ranked], kind="stable")]
            position[ranked] = np.minimum(position[ranked], np.arange(len(ranked)) * m + a)
        rest = np.flatnonzero(np.isinf(position) & np.isfinite(scores))
        rest = rest[np.argsort(-scores[rest], kind="stable")]
        placed = position[np.isfinite(position)]
        start = placed.max() + 1.0 if len(placed) else 0.0
        position[rest] = start + np.arange(len(rest))
        ordered = np.where(np.isinf(position), -np.inf, -position).astype(np.float32)
        described = ", ".join("'" + ("' or '".join(a.values) if a.values else a.text) + "'" for a in used)
        return ordered, used, f"the list follows the interests read from the text: {described}"


@lru_cache(maxsize=4096)
def _name_pattern(name: str, words: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word, case-folded, optionally plural pattern of a value's name and its Latin-script words."""
    forms: list[str] = []
    for word in (name, *words):
        if not word.strip() or has_cjk(word):
            continue
        stem = re.escape(word.strip().lower()).replace(r"\-", r"[-\s]?").replace(r"\ ", r"[-\s]+")
        forms.append(stem + "(?:s|es)?")
        if word.lower().endswith("y"):
            forms.append(stem[:-1] + "ies")
    if not forms:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(r"(?<![\w'])(?:" + "|".join(forms) + r")(?![\w'])", re.IGNORECASE)


def _standard(x: np.ndarray) -> np.ndarray:
    """Row-wise :func:`~semrec.pipeline.context.standardise`."""
    return np.stack([standardise(row) for row in x]) if len(x) else x.astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)
