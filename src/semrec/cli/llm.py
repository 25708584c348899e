"""The ``--llm-*`` options of ``serve``, ``recommend`` and ``evaluate`` (the optional LLM stage, :mod:`semrec.llm`)."""

from __future__ import annotations

from typing import Annotated

import typer

from semrec.cli.common import user_options

LLMUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="Optional generative stage: an OpenAI-compatible endpoint (llama.cpp server, Ollama, vLLM), "
        "e.g. http://127.0.0.1:8080/v1. Off when absent."
    ),
]
LLMModelOpt = Annotated[str, typer.Option(help="Model name sent to the --llm-url endpoint.")]
LLMKeyOpt = Annotated[str | None, typer.Option(envvar="SEMREC_LLM_KEY", help="Key of the --llm-url endpoint.")]
LLMBudgetOpt = Annotated[float, typer.Option(help="Seconds the LLM stages may add to one request.")]


def llm_config(url: str | None, model: str = "local", key: str | None = None, budget: float = 1.5):
    """The :class:`~semrec.llm.LLMConfig` of the ``--llm-*`` options, or ``None`` without ``--llm-url``."""
    if not url:
        return None
    from semrec.llm import LLMConfig

    with user_options():
        return LLMConfig(url=url, model=model, key=key, budget_s=budget)
