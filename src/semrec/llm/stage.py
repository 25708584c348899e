"""The optional generative stage: an LLM behind an OpenAI-compatible endpoint takes part in
serving, always with a fallback to the answer semrec gives without it.

Three stages, each bounded by what is left of the request's budget (:attr:`LLMConfig.budget_s`):

* **intent** (before retrieval): the need is mapped to the catalogue's own attribute values
  (what it asks for, what it rules out) and a mood. Values named are appended to the text, so the
  grounded intent stage (:mod:`semrec.pipeline.intent`) orders the list by them; items carrying an
  excluded value are excluded (unless that would leave fewer than ``2 k`` items: the list stays
  whole); the mood becomes the request context ``mood``. Values not in the catalogue's vocabulary
  are dropped.
* **rerank**: the model orders the top ``rerank_top`` candidates (titles and values, the need or
  the titles of the last history items); the list follows that order, unlisted items after.
* **rephrase**: the grounded explanations are reworded; a rewording is kept only if it passes
  :func:`grounded`, which rejects any number, name, catalogue value or title, or claim word that the
  grounded explanation does not contain.

Privacy at the boundary: user text is scrubbed (:func:`semrec.text.pii.scrub`, with the user's
id masked too) before it is put in a prompt, the endpoint never receives the user id, and no
prompt or answer is logged. Every stage outcome (``ok``, ``timeout``, ``error``, ``unparsable``,
``rejected``, ``skipped``) is counted in :attr:`GenerativeStage.outcomes` (``/metrics``).

References:
    Y. Hou et al. Large Language Models are Zero-Shot Rankers for Recommender Systems. ECIR 2024
    (list-wise ranking prompts over numbered candidates).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence

import numpy as np

from semrec.data.tables import split_list
from semrec.llm.client import ChatClient, LLMConfig, LLMUnavailable
from semrec.scorers.described import VALUE_FIELDS, attribute_values
from semrec.text.pii import scrub
from semrec.types import Query, Recommendation

MAX_VALUES_SHOWN = 60
CLAIM_WORDS = frozenset(
    "award awards oscar oscars won wins winning acclaimed bestseller bestselling best-selling starring directed "
    "director critics critically masterpiece classic blockbuster famous popular top-rated record sequel "
    "prequel based true story".split()
)
"""Words that state a fact about an item; a rewording may use one only if the grounded text does."""
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _json(text: str, opener: str, closer: str):
    """The first JSON object/array in a model's answer (models wrap it in prose or code fences)."""
    start = text.find(opener)
    while start >= 0:
        depth = 0
        for end in range(start, len(text)):
            depth += {opener: 1, closer: -1}.get(text[end], 0)
            if depth == 0:
                try:
                    return json.loads(text[start : end + 1])
                except ValueError:
                    break
        start = text.find(opener, start + 1)
    return None


def grounded(candidate: str, source: str, vocabulary: set[str]) -> bool:
    """Whether a rewording ``candidate`` of the grounded explanation ``source`` adds no fact.

    Rejected when the candidate has a number, a capitalised word (a name, a title word) other than
    its first, a catalogue value or title word (``vocabulary``, casefolded), or a claim word
    (:data:`CLAIM_WORDS`) that ``source`` does not contain; or when it is empty or over 3x longer.
    """
    if not candidate.strip() or len(candidate) > 3 * len(source) + 40:
        return False
    known = source.casefold()
    if any(n not in source for n in _NUMBER.findall(candidate)):
        return False
    words = _WORD.findall(candidate)
    for n, word in enumerate(words):
        folded = word.casefold()
        if folded in known:
            continue
        if (n > 0 and word[0].isupper()) or folded in vocabulary or folded in CLAIM_WORDS:
            return False
    return True


class GenerativeStage:
    """Answers queries through ``recommender`` with the LLM stages of ``config`` (see the module).

    Thread-safe; :meth:`recommend_many` has the signature of
    :meth:`semrec.pipeline.Recommender.recommend_many`, so the pipeline delegates to it when attached.
    """

    def __init__(self, recommender, config: LLMConfig, client: ChatClient | None = None) -> None:
        self.recommender, self.config = recommender, config
        self.client = client or ChatClient(config)
        self.outcomes: Counter = Counter()
        """``(stage, outcome) -> count``."""
        self.added_s: deque[float] = deque(maxlen=10_000)
        """Seconds the stages added to each recent request."""
        self._lock = threading.Lock()

    # -------------------------------------------------------------- vocabulary of the catalogue
    def _values(self) -> tuple[str | None, list[str]]:
        catalogue = self.recommender.catalogue

        def build():
            values = attribute_values(catalogue.items)
            if values is None:
                return None, []
            field = next(f for f in VALUE_FIELDS if f in catalogue.items.columns and catalogue.items[f].notna().any())
            counts = Counter(v for cell in values for v in cell)
            return field, [v for v, _ in counts.most_common(MAX_VALUES_SHOWN)]

        cached = catalogue.derived("llm:values")
        return cached if cached is not None else catalogue.derive("llm:values", build())

    def _vocabulary(self) -> set[str]:
        catalogue = self.recommender.catalogue
        cached = catalogue.derived("llm:vocabulary")
        if cached is None:
            words = {w.casefold() for v in self._values()[1] for w in _WORD.findall(v)}
            titles = catalogue.items["title"] if "title" in catalogue.items else []
            words |= {w.casefold() for t in titles for w in _WORD.findall(str(t)) if len(w) > 3}
            cached = catalogue.derive("llm:vocabulary", words)
        return cached

    def _describe(self, item_ids: Sequence[str]) -> list[str]:
        catalogue = self.recommender.catalogue
        field = self._values()[0]
        rows = catalogue.items.iloc[catalogue.vocab.index(list(item_ids))]
        titles = catalogue.titles(list(item_ids))
        if field is None:
            return titles
        return [f"{t} ({', '.join(split_list(v))})" if split_list(v) else t for t, v in zip(titles, rows[field])]

    # -------------------------------------------------------------- one call, counted
    def _ask(self, stage: str, prompt: str, left: float, notes: list[str], max_tokens=None, schema=None) -> dict | None:
        """The model's JSON object for ``prompt`` (following ``schema``), or ``None`` (the fallback, counted)."""
        system = "You help a recommender system. Answer with one JSON object, no prose."
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        try:
            parsed = _json(self.client.complete(messages, left, max_tokens, schema), "{", "}")
        except LLMUnavailable as exc:
            self._count(stage, exc.reason)
            notes.append(f"llm {stage} fell back ({exc.reason}): semrec's own answer")
            return None
        if not isinstance(parsed, dict):
            self._count(stage, "unparsable")
            notes.append(f"llm {stage} fell back (unparsable answer): semrec's own answer")
            return None
        return parsed

    def _count(self, stage: str, outcome: str) -> None:
        with self._lock:
            self.outcomes[(stage, outcome)] += 1

    # -------------------------------------------------------------- the stages
    def _intent(self, query: Query, text: str, left: float, notes: list[str]) -> Query:
        field, values = self._values()
        if field is None:
            self._count("intent", "skipped")
            return query
        prompt = (
            f"Catalogue {field}: {', '.join(values)}.\nNeed: {text}\n"
            'Reply as {"include": [...], "exclude": [...], "mood": "..."}: include = the catalogue '
            f"{field} the need asks for, exclude = those it rules out, mood = one or two words or empty."
        )
        listed = {"type": "array", "items": {"type": "string", "enum": values}, "maxItems": 3}
        schema = {
            "type": "object",
            "properties": {"include": listed, "exclude": listed, "mood": {"type": "string", "maxLength": 24}},
            "required": ["include", "exclude", "mood"],
        }
        parsed = self._ask("intent", prompt, left, notes, max_tokens=48, schema=schema)
        if parsed is None:
            return query
        by_name = {v.casefold(): v for v in values}

        def pick(key: str) -> list[str]:
            raw = parsed.get(key) or []
            raw = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
            return list(dict.fromkeys(by_name[str(v).casefold()] for v in raw if str(v).casefold() in by_name))

        include, exclude = pick("include"), pick("exclude")
        exclude = [v for v in exclude if v not in include]
        said = parsed.get("mood")
        mood = scrub(said[:60]).text.strip() if isinstance(said, str) else ""
        mood = mood if any(ch.isalpha() for ch in mood) and "[" not in mood else ""  # "###", placeholders: no mood
        update: dict = {}
        if include:
            update["text"] = f"{query.text}, {', '.join(include)}"
        if exclude:
            catalogue = self.recommender.catalogue
            ruled_out = catalogue.vocab.ids[catalogue.filter_mask({field: exclude})].tolist()
            if len(catalogue) - len(catalogue.removed) - len(ruled_out) - len(query.exclude) < 2 * query.k:
                notes.append(f"llm exclusion of {exclude} ignored: it would leave too few items for k={query.k}")
                exclude = []
            else:
                update["exclude"] = [*query.exclude, *ruled_out]
        if mood:
            update["context"] = {**query.context, "mood": mood}
        self._count("intent", "ok")
        if update:
            notes.append(f"llm intent: include {include or '-'}, exclude {exclude or '-'}, mood {mood or '-'}")
        return query.model_copy(update=update)

    def _rerank(self, result: Recommendation, k: int, need: str, left: float, notes: list[str]) -> Recommendation:
        n = len(result.item_ids)
        lines = "\n".join(f"{i + 1}. {d}" for i, d in enumerate(self._describe(result.item_ids.tolist())))
        prompt = f'{need}\nCandidates:\n{lines}\nReply as {{"order": [...]}}: the candidate numbers, best first.'
        numbers = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": n}, "maxItems": n}
        schema = {"type": "object", "properties": {"order": numbers}, "required": ["order"]}
        answer = self._ask("rerank", prompt, left, notes, max_tokens=40, schema=schema)
        if answer is None:
            return result
        parsed = answer.get("order")
        order = (
            [int(x) - 1 for x in parsed if isinstance(x, int | float) and 1 <= int(x) <= n]
            if isinstance(parsed, list)
            else []
        )
        order = list(dict.fromkeys(order))
        if not order:
            self._count("rerank", "unparsable")
            return result
        self._count("rerank", "ok")
        order += [i for i in range(n) if i not in set(order)]
        notes.append(f"llm re-ranked the top {n}")
        return _take(result, np.asarray(order[:k]))

    def _rephrase(self, result: Recommendation, masked: list[str], left: float, notes: list[str]) -> None:
        explanations = result.explanations or []
        reasons = [e.reason for e in explanations]
        if not any(reasons):
            self._count("rephrase", "skipped")
            return
        # a reason may quote the query's words: what leaves is scrubbed, and a reason that held
        # personal data keeps its grounded wording (a rewording would carry placeholders)
        sent = [scrub(r, masked).text for r in reasons]
        listed = "\n".join(f"{i + 1}. {r}" for i, r in enumerate(sent))
        prompt = (
            "Reword each numbered sentence in friendlier words. Add no fact, name or number.\n"
            f'{listed}\nReply as {{"sentences": [...]}}: one string per sentence, in order.'
        )
        sentences = {"type": "array", "items": {"type": "string"}, "minItems": len(sent), "maxItems": len(sent)}
        schema = {"type": "object", "properties": {"sentences": sentences}, "required": ["sentences"]}
        answer = self._ask("rephrase", prompt, left, notes, schema=schema)
        if answer is None:
            return
        parsed = answer.get("sentences")
        if not isinstance(parsed, list) or len(parsed) != len(reasons):
            self._count("rephrase", "unparsable")
            return
        vocabulary, kept = self._vocabulary(), 0
        for explanation, candidate in zip(explanations, parsed):
            if (
                explanation.reason
                and isinstance(candidate, str)
                and grounded(candidate, explanation.reason, vocabulary)
            ):
                explanation.reason, kept = candidate.strip(), kept + 1
        self._count("rephrase", "ok" if kept == len(reasons) else "rejected")
        notes.append(f"llm reworded {kept} of {len(reasons)} explanations (the others failed the grounding check)")

    # -------------------------------------------------------------- serving
    def recommend_many(self, queries: Sequence[Query], users=None, batch: int = 256) -> list[Recommendation]:
        """Answer each query with the stages (one request at a time: the LLM is the bottleneck)."""
        return [self.recommend(q, users) for q in queries]

    def recommend(self, query: Query, users=None) -> Recommendation:
        spent, notes = 0.0, list[str]()
        stages = self.config.stages
        masked = [query.user_id] if query.user_id else []
        text = scrub(query.text, masked).text if query.text else None

        def left() -> float:
            return self.config.budget_s - spent

        served = query
        if "intent" in stages and text:
            started = time.perf_counter()
            served = self._intent(query, text, left(), notes)
            spent += time.perf_counter() - started
        top = max(query.k, self.config.rerank_top) if "rerank" in stages else query.k
        result = self.recommender.recommend_many([served.model_copy(update={"k": top})], users, generative=False)[0]
        if "rerank" in stages and len(result.item_ids) > 1:
            need = f"Need: {text}" if text else self._history_need(query, users)
            started = time.perf_counter()
            if need is None:
                self._count("rerank", "skipped")
            else:
                result = self._rerank(result, query.k, need, left(), notes)
            spent += time.perf_counter() - started
        result = _take(result, np.arange(min(query.k, len(result.item_ids))))
        if "rephrase" in stages and result.explanations:
            started = time.perf_counter()
            self._rephrase(result, masked, left(), notes)
            spent += time.perf_counter() - started
        if spent >= self.config.budget_s:
            notes.append(f"llm budget of {self.config.budget_s:g} s spent: the rest is semrec's own answer")
        self.added_s.append(spent)
        result.notes += notes
        return result

    def _history_need(self, query: Query, users) -> str | None:
        """``"The user recently liked: ..."`` from the last 5 history items (titles only), or ``None``."""
        items = list(query.history)
        if query.user_id is not None:
            record = (users or self.recommender.users).lookup(query.user_id, self.recommender.catalogue.vocab)
            if record is not None:
                items = [*self.recommender.catalogue.vocab.ids[np.asarray(record.history)].tolist(), *items]
        if not items:
            return None
        return "The user recently liked: " + "; ".join(self._describe(items[-5:]))


def _take(result: Recommendation, order: np.ndarray) -> Recommendation:
    """``result`` restricted to the rows ``order`` (in that order)."""
    explanations = [result.explanations[i] for i in order] if result.explanations else result.explanations
    sources = result.item_sources[order] if result.item_sources is not None else None
    return Recommendation(
        result.item_ids[order], result.scores[order], result.source, list(result.notes), explanations, sources
    )
