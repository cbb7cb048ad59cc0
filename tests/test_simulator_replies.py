"""The simulator's default replies read as plain sentences about the prompt: the prompt quoted, an opening
that fits the kind of question, whole sentences after it, the same words for the same prompt, and
reasoning exactly as many words long as the tokens it bills."""

from __future__ import annotations

import re

import pytest

from openrouter_mcp.simulator.replies import reasoning_text, reply_text


def reply(prompt: str, model: str = "openai/gpt-4o-mini") -> str:
    return reply_text(model, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}])


def sentences(prompt: str) -> list[str]:
    """The reply's sentences after the quoted prompt."""
    _, _, body = reply(prompt).partition("”: ")
    return re.findall(r"[^.?!]+[.?!]", body)


@pytest.mark.parametrize(
    ("prompt", "opening"),
    [
        ("Why route requests across several LLM providers?", r"^(The main reason|Put simply|Mostly because)"),
        ("How do I cache prompts?", r"^(Start|Take it|Begin)"),
        ("What is a ledger for?", r"^(In short|Put simply|The short version)"),
        ("Is Python fast enough for a web server?", r"^(Usually yes|It can|Often it does)"),
        ("Write a haiku about autumn.", r"^(Here is|Sure)"),
    ],
)
def test_a_reply_quotes_the_prompt_and_answers_its_kind_of_question_in_whole_sentences(prompt: str, opening: str) -> None:
    text = reply(prompt)
    assert text.startswith(f"Simulated reply from openai/gpt-4o-mini to “{prompt}”: ")
    said = sentences(prompt)
    assert re.match(opening, said[0].strip()), said[0]
    assert 2 <= len(said) <= 4 and all(s.strip()[0].isupper() for s in said)
    assert text.endswith((".", "?", "!"))
    assert len(set(said)) == len(said)  # no sentence twice


def test_the_same_prompt_gets_the_same_words_and_other_prompts_other_words() -> None:
    assert reply("What is a ledger for?") == reply("What is a ledger for?")
    assert len({" ".join(sentences(f"What is ledger number {i} for?")) for i in range(12)}) > 1


def test_a_greeting_gets_a_greeting_back_and_a_one_sentence_request_one_sentence() -> None:
    greeting = sentences("Hello!")
    assert re.match(r"^(Hello|Hi)", greeting[0].strip()) and len(greeting) <= 2  # the greeting, and no advice after it
    assert len(sentences("In one sentence: why route requests across several LLM providers?")) == 1


def test_a_long_prompt_is_quoted_in_part_and_says_so() -> None:
    prompt = "Summarize the following text in three bullet points, keeping the key numbers and every name."
    assert "to “Summarize the following text in three bullet points, keeping the key numbers…”: " in reply(prompt)


@pytest.mark.parametrize("words", [1, 8, 16, 32, 64, 96])
def test_reasoning_is_as_many_words_as_it_bills(words: int) -> None:
    text = reasoning_text("deepseek/deepseek-r1", [{"role": "user", "content": "Why is the sky blue?"}], words)
    assert len(text.split(" ")) == words and text.startswith("Let")
