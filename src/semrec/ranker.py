"""A learned ranking stage: LightGBM LambdaRank over candidates from several signals.

Candidates are the union of the main scorer's top ``candidates`` for the whole history and for
its last ``recent`` items. Each (user, candidate) pair gets features: main-scorer score on the
whole history, on the last 20 and last 5 items (recency: interests drift), their within-user
standardised values, the item-conditional score, the text-profile cosine, log popularity, the
history length, and (``time_features``) the item's hour and weekday lift at the request time and
the days since the user's last interaction. The ranker is trained on a validation slice carved
from the training data (each user's last 10%), with base models refitted on the rest, so no
evaluation data is ever seen.

References:
    C. Burges. From RankNet to LambdaRank to LambdaMART: An Overview. MSR-TR-2010-82.
    G. Ke et al. LightGBM: A Highly Efficient Gradient Boosting Decision Tree. NeurIPS 2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from semrec.context import TimeContextModel, standardise
from semrec.ranking import top_k
from semrec.scorers import MostPopularScorer, Scorer, histories_to_csr
from semrec.scorers.models import ConditionalScorer, content_profiles

BASE_FEATURES = ("main", "main_last20", "main_last5", "main_z", "main_last20_z", "conditional", "text_cosine",
                 "log_popularity", "history_length")  # fmt: skip
TIME_FEATURES = ("hour_lift", "weekday_lift", "days_since_last")


class RankerConfig(BaseModel):
    """The learned ranking stage (off by default: it roughly triples the cost of a request)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    candidates: int = Field(100, ge=10, le=2000)
    """Candidates from the main scorer on the whole history (half as many more from the last items)."""
    time_features: bool = True
    """Use hour/weekday lift and days since the last interaction as features."""
    n_estimators: int = Field(1000, ge=10)
    """Upper bound on trees; early stopping on held-out validation users picks the number."""
    learning_rate: float = Field(0.05, gt=0)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(200, ge=1)
    reg_lambda: float = Field(10.0, ge=0)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    early_stopping_share: float = Field(0.2, ge=0, lt=1)
    """Share of the validation users held out for early stopping (0: no early stopping)."""
    seed: int = 42


@dataclass
class RankerInputs:
    """The fitted signals features are computed from (all over the same catalogue)."""

    main: Scorer
    conditional: ConditionalScorer | None
    popularity: MostPopularScorer
    embeddings: np.ndarray
    time: TimeContextModel | None


def candidate_features(inputs: RankerInputs, config: RankerConfig, histories: Sequence[np.ndarray],
                       last_times: Sequence[float | None], request_times: Sequence[float | None],
                       n_items: int) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
    """Candidates and their feature rows for a batch of non-empty histories.

    Returns:
        ``(candidates, features)``: per history, ``(m,) int64`` item positions and ``(m, n_features)
        float32`` features (NaN where a time is unknown).
    """
    histories = [np.asarray(h, dtype=np.int64) for h in histories]
    n_scored = inputs.main.n_items
    scored = [h[h < n_scored] for h in histories]
    full = inputs.main.score(scored)
    last20 = inputs.main.score([h[-20:] for h in scored])
    last5 = inputs.main.score([h[-5:] for h in scored])
    conditional = inputs.conditional.score(scored) if inputs.conditional is not None else np.zeros_like(full)
    text = content_profiles(inputs.embeddings[:n_scored], scored, 3.0) @ inputs.embeddings[:n_scored].T
    log_pop = np.log1p(inputs.popularity.counts[:n_scored])
    exclude = histories_to_csr(scored, n_scored)
    top, _ = top_k(full, config.candidates, exclude)
    top_recent, _ = top_k(last20, max(config.candidates // 2, 1), exclude)
    out_candidates, out_features = [], []
    for row, history in enumerate(scored):
        cands = np.unique(np.concatenate([top[row], top_recent[row]]))
        cands = cands[cands >= 0]
        columns = [full[row, cands], last20[row, cands], last5[row, cands], standardise(full[row])[cands],
                   standardise(last20[row])[cands], conditional[row, cands], text[row, cands], log_pop[cands],
                   np.full(len(cands), float(len(history)))]  # fmt: skip
        if config.time_features:
            t, last = request_times[row], last_times[row]
            hour = weekday = None
            if t is not None:
                hour, weekday = int(t // 3600 % 24), int((t // 86400 + 3) % 7)
            nan = np.full(len(cands), np.nan, dtype=np.float32)
            hour_lift = inputs.time.lift(hour, None, n_scored) if inputs.time is not None and hour is not None else None
            day_lift = inputs.time.lift(None, weekday, n_scored) if inputs.time is not None and weekday is not None else None
            columns += [nan if hour_lift is None else hour_lift[cands], nan if day_lift is None else day_lift[cands],
                        np.full(len(cands), np.nan if t is None or last is None else (t - last) / 86400.0)]  # fmt: skip
        out_candidates.append(cands)
        out_features.append(np.stack(columns, axis=1).astype(np.float32))
    return out_candidates, out_features


class LearnedRanker:
    """A fitted LightGBM LambdaRank model over :func:`candidate_features`.

    Args:
        config: The stage's configuration.
        model_text: The booster in LightGBM's native text format (stored as ``ranker.txt``).
    """

    def __init__(self, config: RankerConfig, model_text: str) -> None:
        import lightgbm

        self.config = config
        self.model_text = model_text
        self.booster = lightgbm.Booster(model_str=model_text)

    @classmethod
    def fit(cls, config: RankerConfig, inputs: RankerInputs, histories: Sequence[np.ndarray],
            last_times: Sequence[float | None], request_times: Sequence[float | None],
            relevant: Sequence[np.ndarray], n_items: int) -> LearnedRanker:  # fmt: skip
        """Train on histories whose next interactions (``relevant``) are known (a validation slice).

        Raises:
            ValueError: No candidate of any history is relevant (nothing to learn).
        """
        import lightgbm

        candidates, features = candidate_features(inputs, config, histories, last_times, request_times, n_items)
        labels = [np.isin(c, r).astype(np.int32) for c, r in zip(candidates, relevant)]
        if not any(label.any() for label in labels):
            raise ValueError("no relevant item among the ranker's candidates: too little data to train it")
        model = lightgbm.LGBMRanker(objective="lambdarank", n_estimators=config.n_estimators,
                                    learning_rate=config.learning_rate, num_leaves=config.num_leaves,
                                    min_child_samples=config.min_child_samples, reg_lambda=config.reg_lambda,
                                    subsample=config.subsample, subsample_freq=1,
                                    colsample_bytree=config.colsample_bytree, random_state=config.seed,
                                    n_jobs=1, verbose=-1)  # fmt: skip
        order = np.random.default_rng(config.seed).permutation(len(candidates))
        n_stop = int(config.early_stopping_share * len(candidates))
        held, fit_on = order[:n_stop], order[n_stop:]

        def stack(rows):
            return (np.concatenate([features[i] for i in rows]), np.concatenate([labels[i] for i in rows]),
                    [len(candidates[i]) for i in rows])  # fmt: skip

        x, y, groups = stack(fit_on)
        if n_stop and any(labels[i].any() for i in held):
            hx, hy, hgroups = stack(held)
            model.fit(x, y, group=groups, eval_X=(hx,), eval_y=(hy,), eval_group=[hgroups], eval_at=[10],
                      callbacks=[lightgbm.early_stopping(50, verbose=False)])  # fmt: skip
        else:
            model.fit(x, y, group=groups)
        return cls(config, model.booster_.model_to_string(num_iteration=model.best_iteration_ or None))

    def rank(self, inputs: RankerInputs, history: np.ndarray, last_time: float | None, request_time: float | None,
             n_items: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """``(candidates, scores)`` for one non-empty history; higher is better.

        Raises:
            ValueError: ``inputs.conditional`` is missing (the ranker was trained with it).
        """
        if inputs.conditional is None:
            raise ValueError("the ranker needs the item-conditional model it was trained with")
        candidates, features = candidate_features(inputs, self.config, [history], [last_time], [request_time], n_items)
        return candidates[0], self.booster.predict(features[0]).astype(np.float32)
