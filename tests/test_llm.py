"""The optional LLM stages (semrec.llm): parsing, grounding check, fallbacks, privacy at the boundary.

The fast tests script the endpoint's answers (httpx MockTransport speaking the OpenAI chat API);
``test_against_a_real_llama_cpp_server`` runs the real llama.cpp server with SmolLM2-135M.
"""

import json
import socket

import httpx
import numpy as np
import pytest

from semrec.config import RecommenderConfig
from semrec.llm import ChatClient, GenerativeStage, LLMConfig, attach, grounded
from semrec.pipeline import Recommender
from semrec.pipeline.handover import HandoverConfig
from semrec.text import EncoderConfig
from semrec.types import Query

PROFILE = "I'm Jo, mail jo.smith@example.org or call +44 20 7946 0958, I live at 12 Oak Lane. I love horror."


@pytest.fixture
def model(catalogue, hashing):
    config = RecommenderConfig(
        scorer="ease", encoder=EncoderConfig(model="hashing"), handover=HandoverConfig(enabled=False)
    )
    return Recommender.fit(catalogue, config, encoder=hashing)


class Scripted:
    """An OpenAI-compatible endpoint that answers each stage from a script and records every request."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers, self.requests = answers, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        prompt = body["messages"][-1]["content"]
        stage = "intent" if "include" in prompt else "rerank" if "Candidates" in prompt else "rephrase"
        assert body["response_format"]["type"] == "json_object" and "schema" in body["response_format"]
        content = self.answers[stage]
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]})


def scripted_stage(model, answers, **config) -> tuple[GenerativeStage, Scripted]:
    endpoint = Scripted(answers)
    llm = LLMConfig(url="http://llm.test/v1", **config)
    stage = GenerativeStage(model, llm, ChatClient(llm, transport=httpx.MockTransport(endpoint)))
    attach(model, llm, stage)
    return stage, endpoint


def test_grounding_check_keeps_rewordings_and_rejects_invented_facts():
    vocabulary = {"horror", "comedy", "alien", "scream", "titanic"}
    source = "Because you watched Alien and Scream, and it shares Horror with them."
    assert grounded("You watched Alien and Scream; this one is horror too.", source, vocabulary)
    assert not grounded("You watched Alien; this Oscar winner is horror too.", source, vocabulary)  # a name
    assert not grounded("You watched Alien and Scream; it won 3 awards.", source, vocabulary)  # number, claim
    assert not grounded("you watched alien, and this comedy is like it.", source, vocabulary)  # a value
    assert not grounded("a critically acclaimed pick after alien", source, vocabulary)  # claim word
    assert not grounded("", source, vocabulary)


def test_intent_applies_values_exclusions_and_mood_and_rephrasing_keeps_only_grounded_text(model):
    intent = 'Sure! {"include": ["Horror"], "exclude": ["Sci-Fi", "Western"], "mood": "scary"}'
    query = Query(text="something to watch tonight", k=3, explain=True)
    plain = model.recommend_many([query.model_copy(update={"k": 4})], generative=False)[0]
    stage, _ = scripted_stage(model, {"intent": intent}, stages=("intent",))
    read = model.recommend(query)
    ids = read.item_ids.tolist()
    assert "alien" in plain.item_ids.tolist() and "alien" not in ids and "terminator" not in ids  # Sci-Fi ruled out
    assert ids[:2] == ["scream", "shining"]  # the named value orders the list (Horror, not Sci-Fi)
    assert any("llm intent: include ['Horror'], exclude ['Sci-Fi']" in n for n in read.notes)
    assert stage.outcomes == {("intent", "ok"): 1}

    reasons = [e.reason for e in read.explanations]
    assert all(reasons)
    reworded = ["So: " + reasons[0], reasons[1] + " It won an Oscar.", *reasons[2:]]
    stage, _ = scripted_stage(
        model, {"intent": intent, "rephrase": json.dumps({"sentences": reworded})}, stages=("intent", "rephrase")
    )
    result = model.recommend(query)
    assert result.item_ids.tolist() == ids
    assert [e.reason for e in result.explanations] == ["So: " + reasons[0], *reasons[1:]]  # the Oscar was refused
    assert stage.outcomes[("rephrase", "rejected")] == 1
    assert any("reworded 2 of 3" in n for n in result.notes)

    # an exclusion that would leave fewer than 2k items is ignored: the list stays whole
    whole = model.recommend(query.model_copy(update={"k": 4}))
    assert len(whole.item_ids) == 4 and any("exclusion of ['Sci-Fi'] ignored" in n for n in whole.notes)


def test_rerank_follows_the_model_order(model):
    scripted_stage(model, {"rerank": '{"order": [3, 1]}'}, stages=("rerank",))
    plain = model.recommend_many([Query(user_id="bob", k=3)], generative=False)[0]
    top = model.recommend_many([Query(user_id="bob", k=10)], generative=False)[0]
    result = model.recommend(Query(user_id="bob", k=3))
    assert result.item_ids.tolist() == [top.item_ids[2], top.item_ids[0], top.item_ids[1]]
    assert result.item_ids.tolist() != plain.item_ids.tolist()


def test_no_user_id_or_personal_data_reaches_the_endpoint(model):
    stage, endpoint = scripted_stage(
        model, {"intent": "{}", "rerank": '{"order": [1]}', "rephrase": '{"sentences": []}'}
    )
    model.recommend(Query(user_id="jo-4711", text=PROFILE + " Ask jo-4711 anything.", k=3, explain=True))
    sent = json.dumps(endpoint.requests)
    for secret in ("jo.smith@example.org", "7946", "12 Oak Lane", "jo-4711"):
        assert secret not in sent, secret
    assert "[EMAIL]" in sent and "[PHONE]" in sent and "horror" in sent


def test_an_unreachable_endpoint_or_a_1_ms_budget_gives_the_answer_without_llm(model):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    query = Query(text="space monsters", k=4, explain=True)
    plain = model.recommend_many([query], generative=False)[0]
    for config in (
        LLMConfig(url=f"http://127.0.0.1:{port}/v1"),
        LLMConfig(url="http://10.255.255.1/v1", budget_s=0.001),
    ):
        stage = attach(model, config)
        result = model.recommend(query)
        assert result.item_ids.tolist() == plain.item_ids.tolist()
        assert [e.reason for e in result.explanations] == [e.reason for e in plain.explanations]
        fallbacks = sum(n for (_, outcome), n in stage.outcomes.items() if outcome in ("error", "timeout"))
        assert fallbacks == 3, stage.outcomes
    attach(model, None)
    assert model.generative is None


def test_unparsable_answers_fall_back_and_are_counted(model):
    stage, _ = scripted_stage(model, {"intent": "horror!!", "rerank": "the first one", "rephrase": "ok"})
    query = Query(text="space monsters", k=4, explain=True)
    plain = model.recommend_many([query], generative=False)[0]
    result = model.recommend(query)
    assert result.item_ids.tolist() == plain.item_ids.tolist()
    assert {o for (_, o) in stage.outcomes} == {"unparsable"} and sum(stage.outcomes.values()) == 3
    assert np.allclose(result.scores, plain.scores)


class Recording(httpx.HTTPTransport):
    """The real transport, keeping every request body the endpoint receives."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.read())
        return super().handle_request(request)


@pytest.mark.slow
def test_against_a_real_llama_cpp_server(model, caplog):
    """llama.cpp's OpenAI-compatible server with SmolLM2-135M: every stage gets a real answer (used,
    or refused by its check and counted), no personal data reaches it, and the lists stay whole."""
    import logging

    from semrec.testing.llm import LlamaServer, llama_server_available

    if not llama_server_available():
        pytest.skip("no llama.cpp server / SmolLM2 weights (run scripts/install-llm.sh; CI does)")
    server = LlamaServer()
    try:
        config = LLMConfig(url=server.url, budget_s=60.0)
        recording = Recording()
        stage = GenerativeStage(model, config, ChatClient(config, transport=recording))
        attach(model, config, stage)
        caplog.set_level(logging.DEBUG)
        queries = [
            Query(user_id="jo-4711", text=PROFILE, k=4, explain=True),
            Query(text="something funny for the kids", k=4, explain=True),
            Query(user_id="bob", k=4, explain=True),
        ]
        results = model.recommend_many(queries)
        assert [len(r.item_ids) for r in results] == [4, 4, 4]
        answered = sum(n for (_, outcome), n in stage.outcomes.items() if outcome in ("ok", "unparsable", "rejected"))
        assert answered >= 6, stage.outcomes  # 3 + 2 + 2 stage calls went to the model and came back
        assert stage.outcomes.get(("intent", "error"), 0) == 0 and stage.outcomes.get(("rerank", "timeout"), 0) == 0
        received = b"\n".join(recording.bodies).decode()
        assert len(recording.bodies) >= 6
        for secret in ("jo.smith@example.org", "7946 0958", "12 Oak Lane", "jo-4711"):
            assert secret not in received and secret not in caplog.text, secret
        assert sum(n for (name, _), n in stage.outcomes.items() if name == "rephrase") == 3
    finally:
        server.stop()
