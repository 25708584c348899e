"""Optional generative LLM stages behind an OpenAI-compatible endpoint (:mod:`semrec.llm.stage`)."""

from semrec.llm.client import STAGES, ChatClient, LLMConfig, LLMUnavailable
from semrec.llm.stage import GenerativeStage, grounded


def attach(recommender, config: LLMConfig | None, stage: GenerativeStage | None = None) -> GenerativeStage | None:
    """Route ``recommender``'s answers through the LLM stages of ``config`` (``None``: detach).

    ``stage`` re-points an existing stage (and its counters) at ``recommender``, e.g. after a retrain.
    """
    if config is None:
        recommender.generative = None
        return None
    stage = stage or GenerativeStage(recommender, config)
    stage.recommender = recommender
    recommender.generative = stage
    return stage


__all__ = ["STAGES", "ChatClient", "GenerativeStage", "LLMConfig", "LLMUnavailable", "attach", "grounded"]
