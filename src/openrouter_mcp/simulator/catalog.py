"""The offline simulator's model catalog: ~300 models in the exact wire shapes of OpenRouter's
`GET /api/v1/models` and `GET /api/v1/models/{author}/{slug}/endpoints`, the retired ids with
their successors, and each model's simulated speed.

Pure data and pure functions, built on first use and cached. Every dict handed out is shared
with the cache, so callers must treat it as read-only.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

# `typing` alone costs ~6 ms to import; annotations here are never evaluated (PEP 563), so only
# type checkers need it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from decimal import Decimal
    from typing import Any

RETIRED: dict[str, str] = {
    "openai/gpt-4-32k": "openai/gpt-4o",
    "openai/gpt-4-vision-preview": "openai/gpt-4o",
    "openai/gpt-3.5-turbo-0301": "openai/gpt-4o-mini",
    "anthropic/claude-2": "anthropic/claude-sonnet-4.5",
    "anthropic/claude-instant-1": "anthropic/claude-haiku-4.5",
    "anthropic/claude-3-opus": "anthropic/claude-opus-4.5",
    "anthropic/claude-3.5-sonnet": "anthropic/claude-sonnet-4.5",
    "google/gemini-pro": "google/gemini-2.5-pro",
    "google/gemini-pro-vision": "google/gemini-2.5-flash",
    "google/palm-2-chat-bison": "google/gemini-2.5-flash",
    "meta-llama/llama-2-70b-chat": "meta-llama/llama-3.3-70b-instruct",
    "mistralai/mistral-medium": "mistralai/mistral-medium-3.1",
    "cohere/command": "cohere/command-a",
    "deepseek/deepseek-coder": "deepseek/deepseek-v3.2",
}


def _table() -> str:
    """One model per line: id | name | released | context | max output | $/M prompt | $/M completion
    | inputs>outputs | traits | what the model is (optional, completes "<name> is <maker>'s ...").

    Modality letters: t text, i image, f file, a audio, v video, e embeddings, s speech,
    x transcription. Traits: open (open weights, served by hosting providers), 3p (open but not
    served by its author), free (also listed as an `:free` variant), router, tools, json, reason,
    search, cache, notemp (no sampling parameters), strengths (code math multi long agent creative
    rp rag chat fast safety), and key=value: exp (expiration date), io ($/M image output),
    rq ($ per request), tok (tokenizer), it (instruct type, "null" for none).
    """
    return """
openai/gpt-5.2-pro | GPT-5.2 Pro | 2025-12-10 | 400000 | 128000 | 21 | 168 | tif>t | tools json reason search notemp code math agent long | most capable model, for hard problems that reward extra compute
openai/gpt-5.2 | GPT-5.2 | 2025-12-10 | 400000 | 128000 | 1.75 | 14 | tif>t | tools json reason search cache notemp code math agent long multi | flagship model for coding and long-running agentic work
openai/gpt-5.1 | GPT-5.1 | 2025-11-13 | 400000 | 128000 | 1.25 | 10 | tif>t | tools json reason search cache notemp code agent multi |
openai/gpt-5.1-codex | GPT-5.1-Codex | 2025-11-13 | 400000 | 128000 | 1.25 | 10 | ti>t | tools json reason cache notemp code agent | version of GPT-5.1 tuned for agentic software engineering
openai/gpt-5.1-codex-mini | GPT-5.1-Codex-Mini | 2025-11-13 | 400000 | 100000 | 0.25 | 2 | ti>t | tools json reason cache notemp code fast |
openai/gpt-5 | GPT-5 | 2025-08-07 | 400000 | 128000 | 1.25 | 10 | tif>t | tools json reason search cache notemp code math agent long multi | flagship reasoning model with strong coding, writing and agentic abilities
openai/gpt-5-mini | GPT-5 Mini | 2025-08-07 | 400000 | 128000 | 0.25 | 2 | tif>t | tools json reason search cache notemp code fast |
openai/gpt-5-nano | GPT-5 Nano | 2025-08-07 | 400000 | 128000 | 0.05 | 0.4 | tif>t | tools json reason cache notemp fast |
openai/gpt-5-codex | GPT-5-Codex | 2025-09-23 | 400000 | 128000 | 1.25 | 10 | ti>t | tools json reason cache notemp code agent |
openai/gpt-5-pro | GPT-5 Pro | 2025-10-06 | 400000 | 128000 | 15 | 120 | tif>t | tools json reason notemp math code |
openai/gpt-5-image | GPT-5 Image | 2025-10-14 | 400000 | 128000 | 10 | 10 | tif>it | json reason notemp io=40 | GPT-5 with native image generation and editing
openai/gpt-5-image-mini | GPT-5 Image Mini | 2025-10-16 | 400000 | 128000 | 2.5 | 2 | tif>it | json reason notemp io=8 |
openai/gpt-4.1 | GPT-4.1 | 2025-04-14 | 1047576 | 32768 | 2 | 8 | tif>t | tools json search cache code long | non-reasoning model with a one-million-token context and precise instruction following
openai/gpt-4.1-mini | GPT-4.1 Mini | 2025-04-14 | 1047576 | 32768 | 0.4 | 1.6 | tif>t | tools json search cache code long fast |
openai/gpt-4.1-nano | GPT-4.1 Nano | 2025-04-14 | 1047576 | 32768 | 0.1 | 0.4 | tif>t | tools json cache fast |
openai/gpt-4o | GPT-4o | 2024-05-13 | 128000 | 16384 | 2.5 | 10 | tif>t | tools json search cache multi chat | omni model with strong multilingual and vision performance
openai/gpt-4o-2024-11-20 | GPT-4o (2024-11-20) | 2024-11-20 | 128000 | 16384 | 2.5 | 10 | tif>t | tools json search cache creative multi |
openai/gpt-4o-2024-05-13 | GPT-4o (2024-05-13) | 2024-05-13 | 128000 | 4096 | 5 | 15 | tif>t | tools json multi exp=2026-05-29 |
openai/gpt-4o-mini | GPT-4o-mini | 2024-07-18 | 128000 | 16384 | 0.15 | 0.6 | tif>t | tools json search cache fast multi | small, affordable omni model for fast everyday tasks
openai/chatgpt-4o-latest | ChatGPT-4o | 2024-08-14 | 128000 | 16384 | 5 | 15 | ti>t | json chat creative exp=2026-07-15 |
openai/gpt-4o-search-preview | GPT-4o Search Preview | 2025-03-12 | 128000 | 16384 | 2.5 | 10 | t>t | json search rag |
openai/gpt-4o-mini-search-preview | GPT-4o-mini Search Preview | 2025-03-12 | 128000 | 16384 | 0.15 | 0.6 | t>t | json search rag fast |
openai/gpt-4o-audio-preview | GPT-4o Audio | 2025-08-15 | 128000 | 16384 | 2.5 | 10 | ta>ta | tools json chat | speech-in, speech-out variant of GPT-4o for voice agents
openai/gpt-audio | GPT Audio | 2025-08-28 | 128000 | 16384 | 2.5 | 10 | ta>ta | tools json chat |
openai/gpt-4o-mini-tts | GPT-4o mini TTS | 2025-03-20 | 2000 | - | 0.6 | 0 | t>s | multi | steerable text-to-speech model whose tone can be set with instructions
openai/tts-1 | TTS-1 | 2023-11-06 | 4096 | - | 15 | 0 | t>s | fast |
openai/gpt-4o-transcribe | GPT-4o Transcribe | 2025-03-20 | 16000 | 2000 | 2.5 | 10 | a>x | multi |
openai/gpt-4-turbo | GPT-4 Turbo | 2024-04-09 | 128000 | 4096 | 10 | 30 | ti>t | tools json |
openai/gpt-4 | GPT-4 | 2023-05-28 | 8191 | 4096 | 30 | 60 | t>t | tools json |
openai/gpt-3.5-turbo | GPT-3.5 Turbo | 2023-05-28 | 16385 | 4096 | 0.5 | 1.5 | t>t | tools json fast |
openai/gpt-3.5-turbo-instruct | GPT-3.5 Turbo Instruct | 2023-09-28 | 4095 | 4095 | 1.5 | 2 | t>t | fast |
openai/o1 | o1 | 2024-12-17 | 200000 | 100000 | 15 | 60 | tif>t | tools json reason notemp math code |
openai/o1-pro | o1-pro | 2025-03-19 | 200000 | 100000 | 150 | 600 | tif>t | json reason notemp math |
openai/o3 | o3 | 2025-04-16 | 200000 | 100000 | 2 | 8 | tif>t | tools json reason search cache notemp math code |
openai/o3-pro | o3 Pro | 2025-06-10 | 200000 | 100000 | 20 | 80 | tif>t | tools json reason search notemp math |
openai/o3-mini | o3 Mini | 2025-01-31 | 200000 | 100000 | 1.1 | 4.4 | tf>t | tools json reason cache notemp math code |
openai/o4-mini | o4 Mini | 2025-04-16 | 200000 | 100000 | 1.1 | 4.4 | tif>t | tools json reason search cache notemp math code fast |
openai/o3-deep-research | o3 Deep Research | 2025-10-10 | 200000 | 100000 | 10 | 40 | tif>t | tools reason search notemp rag long |
openai/gpt-oss-120b | gpt-oss-120b | 2025-08-05 | 131072 | 131072 | 0.05 | 0.25 | t>t | open free tools json reason code agent | open-weight mixture-of-experts reasoning model that fits on a single 80GB GPU
openai/gpt-oss-20b | gpt-oss-20b | 2025-08-05 | 131072 | 131072 | 0.03 | 0.14 | t>t | open free tools json reason fast |
openai/gpt-oss-safeguard-20b | gpt-oss-safeguard-20b | 2025-10-29 | 131072 | 65536 | 0.075 | 0.3 | t>t | open json reason safety |
openai/text-embedding-3-large | Text Embedding 3 Large | 2024-01-25 | 8192 | - | 0.13 | 0 | t>e | multi |
openai/text-embedding-3-small | Text Embedding 3 Small | 2024-01-25 | 8192 | - | 0.02 | 0 | t>e | multi fast |
openai/text-embedding-ada-002 | Text Embedding Ada 002 | 2023-05-28 | 8192 | - | 0.1 | 0 | t>e | |
openai/sora-2 | Sora 2 | 2025-10-06 | 4096 | - | 0 | 0 | ti>v | rq=0.8 | video generation model with synchronized dialogue and sound effects
openai/sora-2-pro | Sora 2 Pro | 2025-10-06 | 4096 | - | 0 | 0 | ti>v | rq=2.4 |
anthropic/claude-opus-4.6 | Claude Opus 4.6 | 2026-02-05 | 1000000 | 128000 | 5 | 25 | tif>t | tools reason search cache code agent long | most intelligent model, built for long-horizon agents and complex coding
anthropic/claude-opus-4.5 | Claude Opus 4.5 | 2025-11-24 | 200000 | 64000 | 5 | 25 | tif>t | tools reason search cache code agent |
anthropic/claude-haiku-4.5 | Claude Haiku 4.5 | 2025-10-15 | 200000 | 64000 | 1 | 5 | tif>t | tools reason search cache code fast | fastest model, with near-frontier coding at a fraction of the cost
anthropic/claude-sonnet-4.5 | Claude Sonnet 4.5 | 2025-09-29 | 1000000 | 64000 | 3 | 15 | tif>t | tools reason search cache code agent long multi | frontier model for real-world agents, coding and computer use
anthropic/claude-opus-4.1 | Claude Opus 4.1 | 2025-08-05 | 200000 | 32000 | 15 | 75 | tif>t | tools reason search cache code agent |
anthropic/claude-opus-4 | Claude Opus 4 | 2025-05-22 | 200000 | 32000 | 15 | 75 | tif>t | tools reason cache code agent |
anthropic/claude-sonnet-4 | Claude Sonnet 4 | 2025-05-22 | 1000000 | 64000 | 3 | 15 | tif>t | tools reason search cache code agent long |
anthropic/claude-3.7-sonnet | Claude 3.7 Sonnet | 2025-02-24 | 200000 | 64000 | 3 | 15 | tif>t | tools reason cache code exp=2026-05-19 |
anthropic/claude-3.7-sonnet:thinking | Claude 3.7 Sonnet (thinking) | 2025-02-24 | 200000 | 64000 | 3 | 15 | tif>t | tools reason cache code math exp=2026-05-19 |
anthropic/claude-3.5-haiku | Claude 3.5 Haiku | 2024-11-04 | 200000 | 8192 | 0.8 | 4 | ti>t | tools cache code fast |
anthropic/claude-3-haiku | Claude 3 Haiku | 2024-03-13 | 200000 | 4096 | 0.25 | 1.25 | ti>t | tools cache fast |
google/gemini-3-pro-preview | Gemini 3 Pro Preview | 2025-11-18 | 1048576 | 65536 | 2 | 12 | tifav>t | tools json reason search cache code math multi long agent | most capable multimodal reasoning model, leading on coding and agentic benchmarks
google/gemini-3-flash-preview | Gemini 3 Flash Preview | 2025-12-17 | 1048576 | 65536 | 0.5 | 3 | tifav>t | tools json reason search cache code multi fast |
google/gemini-3-pro-image-preview | Nano Banana Pro (Gemini 3 Pro Image Preview) | 2025-11-20 | 65536 | 32768 | 2 | 12 | ti>it | json reason multi io=120 | image generation and editing model with accurate text rendering
google/gemini-2.5-pro | Gemini 2.5 Pro | 2025-06-17 | 1048576 | 65536 | 1.25 | 10 | tifav>t | tools json reason search cache code math multi long | state-of-the-art thinking model for complex coding, math and science
google/gemini-2.5-pro-preview-05-06 | Gemini 2.5 Pro Preview 05-06 | 2025-05-06 | 1048576 | 65535 | 1.25 | 10 | tifav>t | tools json reason cache code math exp=2026-04-30 |
google/gemini-2.5-flash | Gemini 2.5 Flash | 2025-06-17 | 1048576 | 65535 | 0.3 | 2.5 | tifav>t | tools json reason search cache code multi fast long | workhorse thinking model balancing price, speed and quality
google/gemini-2.5-flash-lite | Gemini 2.5 Flash Lite | 2025-07-22 | 1048576 | 65535 | 0.1 | 0.4 | tifav>t | tools json reason cache fast multi |
google/gemini-2.5-flash-image | Gemini 2.5 Flash Image (Nano Banana) | 2025-10-07 | 32768 | 32768 | 0.3 | 2.5 | ti>it | json io=30 | image generation and conversational image editing model
google/gemini-2.5-flash-image-preview | Gemini 2.5 Flash Image Preview | 2025-08-26 | 32768 | 32768 | 0.3 | 2.5 | ti>it | json io=30 exp=2026-04-15 |
google/gemini-2.0-flash-001 | Gemini 2.0 Flash | 2025-02-05 | 1048576 | 8192 | 0.1 | 0.4 | tifav>t | tools json cache fast multi exp=2026-06-01 |
google/gemini-2.0-flash-lite-001 | Gemini 2.0 Flash Lite | 2025-02-25 | 1048576 | 8192 | 0.075 | 0.3 | tifav>t | tools json fast exp=2026-06-01 |
google/gemma-3-27b-it | Gemma 3 27B | 2025-03-12 | 131072 | 16384 | 0.09 | 0.16 | ti>t | open free json multi it=gemma | open multimodal model that supports over 140 languages
google/gemma-3-12b-it | Gemma 3 12B | 2025-03-13 | 131072 | 16384 | 0.04 | 0.13 | ti>t | open free json multi it=gemma |
google/gemma-3-4b-it | Gemma 3 4B | 2025-03-13 | 131072 | 16384 | 0.017 | 0.068 | ti>t | open free multi fast it=gemma |
google/gemma-3n-e4b-it | Gemma 3n 4B | 2025-05-20 | 32768 | - | 0.02 | 0.04 | t>t | open fast it=gemma |
google/gemma-2-9b-it | Gemma 2 9B | 2024-06-28 | 8192 | - | 0.03 | 0.09 | t>t | open fast it=gemma |
google/gemini-embedding-001 | Gemini Embedding 001 | 2025-07-14 | 2048 | - | 0.15 | 0 | t>e | multi code |
google/gemini-2.5-flash-preview-tts | Gemini 2.5 Flash TTS | 2025-09-24 | 8192 | - | 0.5 | 0 | t>s | multi |
google/veo-3.1 | Veo 3.1 | 2025-10-15 | 1024 | - | 0 | 0 | ti>v | rq=3.2 | video generation model that turns prompts and reference images into 1080p clips with native audio
google/veo-3.1-fast | Veo 3.1 Fast | 2025-10-15 | 1024 | - | 0 | 0 | ti>v | fast rq=1.2 |
google/veo-3 | Veo 3 | 2025-07-17 | 1024 | - | 0 | 0 | t>v | rq=3.2 exp=2026-06-30 |
meta-llama/llama-4-maverick | Llama 4 Maverick | 2025-04-05 | 1048576 | 16384 | 0.15 | 0.6 | ti>t | open tools json multi long tok=Llama4 it=null | mixture-of-experts multimodal model with 128 experts and 17B active parameters
meta-llama/llama-4-scout | Llama 4 Scout | 2025-04-05 | 327680 | 16384 | 0.08 | 0.3 | ti>t | open tools json multi long tok=Llama4 it=null |
meta-llama/llama-3.3-70b-instruct | Llama 3.3 70B Instruct | 2024-12-06 | 131072 | 16384 | 0.13 | 0.4 | t>t | open free tools json multi code | multilingual instruction-tuned model that matches Llama 3.1 405B on many tasks
meta-llama/llama-3.3-8b-instruct | Llama 3.3 8B Instruct | 2025-05-14 | 128000 | 4028 | 0.02 | 0.05 | t>t | open tools json fast |
meta-llama/llama-3.2-90b-vision-instruct | Llama 3.2 90B Vision Instruct | 2024-09-25 | 131072 | 2048 | 0.35 | 0.4 | ti>t | open json |
meta-llama/llama-3.2-11b-vision-instruct | Llama 3.2 11B Vision Instruct | 2024-09-25 | 131072 | 16384 | 0.049 | 0.049 | ti>t | open json fast |
meta-llama/llama-3.2-3b-instruct | Llama 3.2 3B Instruct | 2024-09-25 | 131072 | 16384 | 0.02 | 0.02 | t>t | open free multi fast |
meta-llama/llama-3.1-405b-instruct | Llama 3.1 405B Instruct | 2024-07-23 | 131072 | 16384 | 0.8 | 0.8 | t>t | open tools json multi long |
meta-llama/llama-3.1-405b | Llama 3.1 405B (base) | 2024-08-02 | 32768 | 32768 | 4 | 4 | t>t | open creative it=null |
meta-llama/llama-3.1-70b-instruct | Llama 3.1 70B Instruct | 2024-07-23 | 131072 | 16384 | 0.1 | 0.28 | t>t | open tools json multi |
meta-llama/llama-3.1-8b-instruct | Llama 3.1 8B Instruct | 2024-07-23 | 131072 | 16384 | 0.02 | 0.03 | t>t | open tools json fast |
meta-llama/llama-3-70b-instruct | Llama 3 70B Instruct | 2024-04-18 | 8192 | 8192 | 0.3 | 0.4 | t>t | open json |
meta-llama/llama-guard-4-12b | Llama Guard 4 12B | 2025-04-30 | 163840 | - | 0.18 | 0.18 | ti>t | open safety tok=Llama4 it=null |
meta-llama/llama-guard-3-8b | Llama Guard 3 8B | 2025-02-12 | 131072 | - | 0.02 | 0.06 | t>t | open safety |
mistralai/mistral-large-2512 | Mistral Large 3 2512 | 2025-12-01 | 262144 | - | 0.5 | 1.5 | ti>t | open tools json multi code long agent | open-weight mixture-of-experts flagship with 41B active parameters
mistralai/mistral-large-2411 | Mistral Large 2411 | 2024-11-18 | 131072 | - | 2 | 6 | t>t | tools json multi code |
mistralai/mistral-medium-3.1 | Mistral Medium 3.1 | 2025-08-13 | 131072 | - | 0.4 | 2 | ti>t | tools json multi code | frontier-class multimodal model at a medium price
mistralai/mistral-small-3.2-24b-instruct | Mistral Small 3.2 24B | 2025-06-20 | 131072 | 131072 | 0.06 | 0.18 | ti>t | open tools json multi fast | compact open-weight model with reliable instruction following and function calling
mistralai/mistral-small-3.1-24b-instruct | Mistral Small 3.1 24B | 2025-03-17 | 131072 | 131072 | 0.05 | 0.1 | ti>t | open free tools json multi |
mistralai/mistral-small-24b-instruct-2501 | Mistral Small 3 | 2025-01-30 | 32768 | - | 0.05 | 0.08 | t>t | open tools json fast |
mistralai/mistral-nemo | Mistral Nemo | 2024-07-19 | 131072 | 16384 | 0.02 | 0.04 | t>t | open free tools json multi |
mistralai/mistral-7b-instruct | Mistral 7B Instruct | 2024-05-27 | 32768 | 16384 | 0.028 | 0.054 | t>t | open fast |
mistralai/mixtral-8x7b-instruct | Mixtral 8x7B Instruct | 2023-12-10 | 32768 | 16384 | 0.54 | 0.54 | t>t | open tools json multi |
mistralai/mixtral-8x22b-instruct | Mixtral 8x22B Instruct | 2024-04-17 | 65536 | - | 2 | 6 | t>t | open tools json multi math code |
mistralai/codestral-2508 | Codestral 2508 | 2025-08-01 | 256000 | - | 0.3 | 0.9 | t>t | tools json code fast | low-latency coding model specialised in fill-in-the-middle and code correction
mistralai/devstral-2512 | Devstral 2 2512 | 2025-12-09 | 262144 | 65536 | 0.05 | 0.22 | t>t | open free tools json code agent | agentic coding model that explores codebases and edits many files at once
mistralai/devstral-medium | Devstral Medium | 2025-07-10 | 131072 | - | 0.4 | 2 | t>t | tools json code agent |
mistralai/devstral-small | Devstral Small 1.1 | 2025-07-10 | 128000 | - | 0.07 | 0.28 | t>t | open tools json code agent |
mistralai/magistral-medium-2506 | Magistral Medium 2506 | 2025-06-07 | 40960 | 40000 | 2 | 5 | t>t | tools json reason multi math |
mistralai/magistral-small-2506 | Magistral Small 2506 | 2025-06-10 | 40000 | 40000 | 0.5 | 1.5 | t>t | open tools json reason multi math |
mistralai/pixtral-large-2411 | Pixtral Large 2411 | 2024-11-19 | 131072 | - | 2 | 6 | ti>t | tools json |
mistralai/pixtral-12b | Pixtral 12B | 2024-09-10 | 32768 | - | 0.1 | 0.1 | ti>t | open tools json |
mistralai/ministral-14b-2512 | Ministral 3 14B 2512 | 2025-12-02 | 262144 | - | 0.2 | 0.2 | ti>t | open tools json multi |
mistralai/ministral-8b | Ministral 8B | 2024-10-17 | 128000 | - | 0.1 | 0.1 | t>t | tools json fast |
mistralai/voxtral-small-24b-2507 | Voxtral Small 24B 2507 | 2025-07-15 | 32000 | - | 0.1 | 0.3 | ta>t | open tools json multi | speech-understanding model for transcription, translation and audio Q&A
mistralai/mistral-saba | Saba | 2025-02-17 | 32768 | - | 0.2 | 0.6 | t>t | tools json multi | model trained for Middle Eastern and South Asian languages
mistralai/mistral-embed-2312 | Mistral Embed 2312 | 2023-12-11 | 8192 | - | 0.1 | 0 | t>e | multi |
mistralai/codestral-embed-2505 | Codestral Embed 2505 | 2025-05-28 | 8192 | - | 0.15 | 0 | t>e | code |
deepseek/deepseek-v3.2 | DeepSeek V3.2 | 2025-12-01 | 163840 | 65536 | 0.28 | 0.42 | t>t | open tools json reason cache code agent math it=deepseek-v3.1 | model whose sparse attention makes long-context inference cheap while keeping strong agentic tool use
deepseek/deepseek-v3.2-speciale | DeepSeek V3.2 Speciale | 2025-12-01 | 163840 | 65536 | 0.28 | 0.42 | t>t | open json reason math code it=deepseek-v3.1 |
deepseek/deepseek-v3.2-exp | DeepSeek V3.2 Exp | 2025-09-29 | 163840 | 65536 | 0.27 | 0.41 | t>t | open tools json reason cache it=deepseek-v3.1 |
deepseek/deepseek-v3.1-terminus | DeepSeek V3.1 Terminus | 2025-09-22 | 163840 | 65536 | 0.23 | 0.9 | t>t | open tools json reason code agent multi it=deepseek-v3.1 |
deepseek/deepseek-chat-v3.1 | DeepSeek V3.1 | 2025-08-21 | 163840 | 65536 | 0.2 | 0.8 | t>t | open free tools json reason cache code it=deepseek-v3.1 | hybrid model that switches between thinking and non-thinking modes
deepseek/deepseek-chat-v3-0324 | DeepSeek V3 0324 | 2025-03-24 | 163840 | 65536 | 0.24 | 0.84 | t>t | open tools json cache code math |
deepseek/deepseek-chat | DeepSeek V3 | 2024-12-26 | 163840 | 163840 | 0.3 | 0.85 | t>t | open tools json code |
deepseek/deepseek-r1 | R1 | 2025-01-20 | 163840 | 163840 | 0.7 | 2.4 | t>t | open json reason math code it=deepseek-r1 | open reasoning model trained with large-scale reinforcement learning, on par with o1 on math and code
deepseek/deepseek-r1-0528 | R1 0528 | 2025-05-28 | 163840 | 163840 | 0.5 | 2.15 | t>t | open free tools json reason math code it=deepseek-r1 |
deepseek/deepseek-r1-distill-llama-70b | R1 Distill Llama 70B | 2025-01-23 | 131072 | 131072 | 0.03 | 0.13 | t>t | open 3p json reason math tok=Llama3 it=deepseek-r1 |
deepseek/deepseek-r1-distill-qwen-32b | R1 Distill Qwen 32B | 2025-01-29 | 131072 | 16384 | 0.27 | 0.27 | t>t | open 3p json reason math tok=Qwen it=deepseek-r1 |
deepseek/deepseek-prover-v2 | DeepSeek Prover V2 | 2025-04-30 | 163840 | - | 0.5 | 2.18 | t>t | open 3p math |
qwen/qwen3-max | Qwen3 Max | 2025-09-23 | 256000 | 32768 | 1.2 | 6 | t>t | tools json cache multi code agent | flagship model with strong reasoning, coding and multilingual ability
qwen/qwen3-235b-a22b | Qwen3 235B A22B | 2025-04-28 | 131072 | 8192 | 0.18 | 0.54 | t>t | open free tools json reason multi math code | mixture-of-experts model that switches between thinking and fast-response modes
qwen/qwen3-235b-a22b-2507 | Qwen3 235B A22B Instruct 2507 | 2025-07-21 | 262144 | 262144 | 0.08 | 0.55 | t>t | open tools json multi long |
qwen/qwen3-235b-a22b-thinking-2507 | Qwen3 235B A22B Thinking 2507 | 2025-07-25 | 262144 | 262144 | 0.11 | 0.6 | t>t | open tools json reason math code |
qwen/qwen3-32b | Qwen3 32B | 2025-04-28 | 40960 | 40960 | 0.08 | 0.24 | t>t | open tools json reason multi |
qwen/qwen3-30b-a3b | Qwen3 30B A3B | 2025-04-28 | 40960 | 40960 | 0.06 | 0.22 | t>t | open tools json reason fast |
qwen/qwen3-30b-a3b-instruct-2507 | Qwen3 30B A3B Instruct 2507 | 2025-07-29 | 262144 | 262144 | 0.08 | 0.33 | t>t | open tools json multi fast |
qwen/qwen3-14b | Qwen3 14B | 2025-04-28 | 40960 | 40960 | 0.05 | 0.22 | t>t | open tools json reason |
qwen/qwen3-8b | Qwen3 8B | 2025-04-28 | 128000 | 20000 | 0.035 | 0.138 | t>t | open tools json reason fast |
qwen/qwen3-4b | Qwen3 4B | 2025-04-30 | 40960 | - | 0.02 | 0.06 | t>t | open free json reason fast |
qwen/qwen3-coder | Qwen3 Coder 480B A35B | 2025-07-22 | 262144 | 262144 | 0.22 | 0.95 | t>t | open free tools json code agent long | agentic coding model for repository-scale tasks and tool use
qwen/qwen3-coder-30b-a3b-instruct | Qwen3 Coder 30B A3B Instruct | 2025-07-31 | 262144 | 262144 | 0.06 | 0.25 | t>t | open tools json code fast |
qwen/qwen3-coder-plus | Qwen3 Coder Plus | 2025-09-23 | 1000000 | 65536 | 1 | 5 | t>t | tools json cache code agent long |
qwen/qwen3-next-80b-a3b-instruct | Qwen3 Next 80B A3B Instruct | 2025-09-11 | 262144 | 262144 | 0.1 | 0.8 | t>t | open tools json long fast |
qwen/qwen3-next-80b-a3b-thinking | Qwen3 Next 80B A3B Thinking | 2025-09-11 | 262144 | 262144 | 0.15 | 1.2 | t>t | open tools json reason math |
qwen/qwen3-vl-235b-a22b-instruct | Qwen3 VL 235B A22B Instruct | 2025-09-23 | 262144 | - | 0.2 | 1.2 | ti>t | open tools json multi agent | vision-language model for documents, charts, GUIs and video frames
qwen/qwen3-vl-235b-a22b-thinking | Qwen3 VL 235B A22B Thinking | 2025-09-23 | 262144 | - | 0.3 | 1.2 | ti>t | open tools json reason math |
qwen/qwen3-vl-8b-instruct | Qwen3 VL 8B Instruct | 2025-10-14 | 131072 | 32768 | 0.08 | 0.5 | ti>t | open tools json fast |
qwen/qwen3-omni-30b-a3b-instruct | Qwen3 Omni 30B A3B Instruct | 2025-09-22 | 65536 | 16384 | 0.1 | 0.4 | tiav>t | open tools json multi | natively omni-modal model that understands text, images, audio and video
qwen/qwq-32b | QwQ 32B | 2025-03-05 | 131072 | - | 0.15 | 0.4 | t>t | open json reason math tok=Qwen it=qwq |
qwen/qwen-2.5-72b-instruct | Qwen2.5 72B Instruct | 2024-09-19 | 32768 | 16384 | 0.07 | 0.26 | t>t | open tools json multi math tok=Qwen it=chatml |
qwen/qwen-2.5-coder-32b-instruct | Qwen2.5 Coder 32B Instruct | 2024-11-11 | 32768 | - | 0.04 | 0.16 | t>t | open free json code tok=Qwen it=chatml |
qwen/qwen2.5-vl-72b-instruct | Qwen2.5 VL 72B Instruct | 2025-02-01 | 32768 | 32768 | 0.08 | 0.33 | ti>t | open json multi tok=Qwen it=null |
qwen/qwen2.5-vl-32b-instruct | Qwen2.5 VL 32B Instruct | 2025-03-24 | 16384 | 16384 | 0.05 | 0.22 | ti>t | open json math tok=Qwen it=null |
qwen/qwen-plus | Qwen Plus | 2025-02-01 | 131072 | 8192 | 0.4 | 1.2 | t>t | tools json cache multi tok=Qwen it=null |
qwen/qwen-turbo | Qwen Turbo | 2025-02-01 | 1000000 | 8192 | 0.05 | 0.2 | t>t | tools json cache fast long tok=Qwen it=null |
qwen/qwen-max | Qwen Max | 2025-02-01 | 32768 | 8192 | 1.6 | 6.4 | t>t | tools json cache multi tok=Qwen it=null |
qwen/qwen3-embedding-8b | Qwen3 Embedding 8B | 2025-06-05 | 32768 | - | 0.01 | 0 | t>e | open 3p multi code |
x-ai/grok-4 | Grok 4 | 2025-07-09 | 256000 | - | 3 | 15 | tif>t | tools json reason search cache notemp math code | reasoning model with native tool use and real-time search
x-ai/grok-4-fast | Grok 4 Fast | 2025-09-19 | 2000000 | 30000 | 0.2 | 0.5 | ti>t | tools json reason search cache long fast |
x-ai/grok-4.1-fast | Grok 4.1 Fast | 2025-11-19 | 2000000 | 30000 | 0.2 | 0.5 | ti>t | tools json reason search cache agent long fast | tool-calling model built for agentic workloads with a 2M-token context
x-ai/grok-code-fast-1 | Grok Code Fast 1 | 2025-08-26 | 256000 | 10000 | 0.2 | 1.5 | t>t | tools json reason cache code agent fast |
x-ai/grok-3 | Grok 3 | 2025-06-10 | 131072 | - | 3 | 15 | t>t | tools json search cache code rag |
x-ai/grok-3-mini | Grok 3 Mini | 2025-06-10 | 131072 | - | 0.3 | 0.5 | t>t | tools json reason search cache math fast |
x-ai/grok-3-beta | Grok 3 Beta | 2025-04-09 | 131072 | - | 3 | 15 | t>t | tools json cache exp=2026-04-30 |
x-ai/grok-2-vision-1212 | Grok 2 Vision 1212 | 2024-12-14 | 32768 | - | 2 | 10 | ti>t | json exp=2026-04-30 |
cohere/command-a | Command A | 2025-03-13 | 256000 | 8192 | 2.5 | 10 | t>t | tools json multi rag agent | enterprise model for agentic tasks and retrieval-augmented generation across 23 languages
cohere/command-a-reasoning | Command A Reasoning | 2025-08-21 | 256000 | 32000 | 2.5 | 10 | t>t | tools json reason multi rag |
cohere/command-a-vision | Command A Vision | 2025-07-31 | 128000 | 8192 | 2.5 | 10 | ti>t | json multi |
cohere/command-r-plus-08-2024 | Command R+ (08-2024) | 2024-08-30 | 128000 | 4000 | 2.5 | 10 | t>t | tools json multi rag |
cohere/command-r-08-2024 | Command R (08-2024) | 2024-08-30 | 128000 | 4000 | 0.15 | 0.6 | t>t | tools json multi rag |
cohere/embed-v4.0 | Embed v4.0 | 2025-04-15 | 128000 | - | 0.12 | 0 | ti>e | multi rag |
cohere/embed-multilingual-v3.0 | Embed Multilingual v3.0 | 2023-11-02 | 512 | - | 0.1 | 0 | t>e | multi |
microsoft/phi-4 | Phi 4 | 2025-01-10 | 16384 | 16384 | 0.06 | 0.14 | t>t | open json math | small model with strong reasoning on math and logic
microsoft/phi-4-reasoning-plus | Phi 4 Reasoning Plus | 2025-05-01 | 32768 | - | 0.07 | 0.35 | t>t | open reason math code |
microsoft/phi-4-multimodal-instruct | Phi 4 Multimodal Instruct | 2025-03-08 | 131072 | - | 0.05 | 0.1 | tia>t | open multi |
microsoft/phi-3.5-mini-128k-instruct | Phi-3.5 Mini 128K Instruct | 2024-08-21 | 128000 | - | 0.1 | 0.1 | t>t | open tools it=phi3 |
microsoft/mai-ds-r1 | MAI DS R1 | 2025-04-21 | 163840 | 163840 | 0.3 | 1.2 | t>t | open reason math code tok=DeepSeek it=deepseek-r1 |
microsoft/wizardlm-2-8x22b | WizardLM-2 8x22B | 2024-04-16 | 65536 | 16384 | 0.48 | 0.48 | t>t | open creative rp tok=Mistral it=vicuna |
nvidia/llama-3.1-nemotron-70b-instruct | Llama 3.1 Nemotron 70B Instruct | 2024-10-15 | 131072 | 16384 | 1.2 | 1.2 | t>t | open tools json chat it=llama3 |
nvidia/llama-3.3-nemotron-super-49b-v1.5 | Llama 3.3 Nemotron Super 49B V1.5 | 2025-10-10 | 131072 | - | 0.1 | 0.4 | t>t | open tools json reason math code agent |
nvidia/llama-3.1-nemotron-ultra-253b-v1 | Llama 3.1 Nemotron Ultra 253B v1 | 2025-04-08 | 131072 | - | 0.6 | 1.8 | t>t | open json reason math code |
nvidia/nemotron-nano-9b-v2 | Nemotron Nano 9B V2 | 2025-09-05 | 131072 | - | 0.04 | 0.16 | t>t | open free tools json reason fast tok=Other it=null |
nvidia/nemotron-nano-12b-v2-vl | Nemotron Nano 12B 2 VL | 2025-10-28 | 131072 | - | 0.2 | 0.6 | tiv>t | open free json reason tok=Other it=null | multimodal model for document intelligence and video understanding
nvidia/nemotron-3-nano-30b-a3b | Nemotron 3 Nano 30B A3B | 2025-12-15 | 262144 | 262144 | 0.06 | 0.24 | t>t | open free tools json reason agent tok=Other it=null |
amazon/nova-premier-v1 | Nova Premier 1.0 | 2025-10-31 | 1000000 | 32000 | 2.5 | 12.5 | tiv>t | tools cache long | most capable multimodal model, also used as a teacher for distillation
amazon/nova-2-lite-v1 | Nova 2 Lite | 2025-12-02 | 1000000 | 65535 | 0.3 | 2.5 | tiv>t | tools json reason long fast |
amazon/nova-pro-v1 | Nova Pro 1.0 | 2024-12-05 | 300000 | 5120 | 0.8 | 3.2 | tiv>t | tools multi |
amazon/nova-lite-v1 | Nova Lite 1.0 | 2024-12-05 | 300000 | 5120 | 0.06 | 0.24 | tiv>t | tools fast |
amazon/nova-micro-v1 | Nova Micro 1.0 | 2024-12-05 | 128000 | 5120 | 0.035 | 0.14 | t>t | tools fast |
perplexity/sonar | Sonar | 2025-01-27 | 127072 | - | 1 | 1 | ti>t | search rag fast rq=0.005 | lightweight search model that answers with citations from the live web
perplexity/sonar-pro | Sonar Pro | 2025-03-07 | 200000 | 8000 | 3 | 15 | ti>t | search rag rq=0.005 |
perplexity/sonar-pro-search | Sonar Pro Search | 2025-10-30 | 200000 | 8000 | 3 | 15 | ti>t | tools search rag agent rq=0.018 |
perplexity/sonar-reasoning-pro | Sonar Reasoning Pro | 2025-03-07 | 128000 | - | 2 | 8 | ti>t | reason search rag rq=0.005 |
perplexity/sonar-deep-research | Sonar Deep Research | 2025-03-07 | 128000 | - | 2 | 8 | t>t | reason search rag long rq=0.005 |
nousresearch/hermes-4-405b | Hermes 4 405B | 2025-08-26 | 131072 | - | 1 | 3 | t>t | open tools json reason creative rp math | hybrid reasoning model built on Llama 3.1 405B, known for creative writing and steerability
nousresearch/hermes-4-70b | Hermes 4 70B | 2025-08-26 | 131072 | - | 0.11 | 0.38 | t>t | open tools json reason creative |
nousresearch/hermes-3-llama-3.1-405b | Hermes 3 405B Instruct | 2024-08-16 | 131072 | 16384 | 1 | 1 | t>t | open free tools json creative rp agent |
nousresearch/hermes-3-llama-3.1-70b | Hermes 3 70B Instruct | 2024-08-18 | 131072 | - | 0.3 | 0.3 | t>t | open tools json creative rp |
nousresearch/deephermes-3-mistral-24b-preview | DeepHermes 3 Mistral 24B Preview | 2025-05-08 | 32768 | 32768 | 0.15 | 0.59 | t>t | open tools json reason tok=Mistral |
moonshotai/kimi-k2.5 | Kimi K2.5 | 2026-01-27 | 262144 | 262144 | 0.6 | 3 | ti>t | open tools json reason cache code agent multi | natively multimodal agentic model with strong visual coding
moonshotai/kimi-k2-thinking | Kimi K2 Thinking | 2025-11-06 | 262144 | 262144 | 0.6 | 2.5 | t>t | open tools json reason cache agent math code | thinking agent that can chain hundreds of tool calls
moonshotai/kimi-k2-0905 | Kimi K2 0905 | 2025-09-04 | 262144 | 262144 | 0.39 | 1.9 | t>t | open tools json cache code agent |
moonshotai/kimi-k2 | Kimi K2 0711 | 2025-07-11 | 131072 | 131072 | 0.5 | 2.4 | t>t | open free tools json code agent | trillion-parameter mixture-of-experts model optimised for agentic coding and tool use
moonshotai/kimi-dev-72b | Kimi Dev 72B | 2025-06-16 | 131072 | 131072 | 0.29 | 1.15 | t>t | open 3p reason code tok=Qwen |
moonshotai/kimi-vl-a3b-thinking | Kimi VL A3B Thinking | 2025-04-10 | 131072 | - | 0.02 | 0.1 | ti>t | open 3p reason math |
z-ai/glm-4.7 | GLM 4.7 | 2025-12-22 | 202752 | 65535 | 0.4 | 1.5 | t>t | open tools json reason cache code agent | flagship model with stronger agentic coding and steadier multi-step reasoning
z-ai/glm-4.6 | GLM 4.6 | 2025-09-30 | 202752 | 202752 | 0.4 | 1.75 | t>t | open tools json reason cache code agent |
z-ai/glm-4.6v | GLM 4.6V | 2025-12-08 | 131072 | 24000 | 0.3 | 0.9 | tiv>t | open tools json reason |
z-ai/glm-4.5 | GLM 4.5 | 2025-07-25 | 131072 | 98304 | 0.35 | 1.55 | t>t | open tools json reason cache code agent |
z-ai/glm-4.5-air | GLM 4.5 Air | 2025-07-25 | 131072 | 98304 | 0.13 | 0.85 | t>t | open free tools json reason fast |
z-ai/glm-4.5v | GLM 4.5V | 2025-08-11 | 65536 | 16384 | 0.6 | 1.8 | ti>t | open tools json reason |
z-ai/glm-4-32b | GLM 4 32B | 2025-07-24 | 128000 | - | 0.1 | 0.1 | t>t | tools json fast |
minimax/minimax-m2.1 | MiniMax M2.1 | 2025-12-23 | 196608 | 65536 | 0.3 | 1.2 | t>t | open tools json reason cache code agent multi | lightweight mixture-of-experts model tuned for multilingual coding and agent workflows
minimax/minimax-m2 | MiniMax M2 | 2025-10-23 | 196608 | 65536 | 0.26 | 1.02 | t>t | open tools json reason code agent |
minimax/minimax-m1 | MiniMax M1 | 2025-06-17 | 1000000 | 40000 | 0.4 | 2.2 | t>t | open tools reason long math |
minimax/minimax-01 | MiniMax-01 | 2025-01-15 | 1000192 | 1000192 | 0.2 | 1.1 | ti>t | open long |
minimax/speech-2.6-hd | Speech 2.6 HD | 2025-10-29 | 10000 | - | 100 | 0 | t>s | multi |
minimax/hailuo-02 | Hailuo 02 | 2025-06-18 | 2000 | - | 0 | 0 | ti>v | rq=0.49 |
ai21/jamba-large-1.7 | Jamba Large 1.7 | 2025-08-09 | 256000 | 4096 | 2 | 8 | t>t | tools json long rag | hybrid SSM-Transformer model for grounded answers over very long documents
ai21/jamba-mini-1.7 | Jamba Mini 1.7 | 2025-08-09 | 256000 | 4096 | 0.2 | 0.4 | t>t | tools json long fast |
inception/mercury | Mercury | 2025-06-26 | 128000 | 16384 | 0.25 | 1 | t>t | tools json fast | diffusion language model that writes several times faster than autoregressive models
inception/mercury-coder | Mercury Coder | 2025-04-30 | 128000 | 16384 | 0.25 | 1 | t>t | tools json code fast |
liquid/lfm-2.2-6b | LFM2-2.6B | 2025-10-20 | 32768 | - | 0.05 | 0.1 | t>t | open multi fast |
baidu/ernie-4.5-300b-a47b | ERNIE 4.5 300B A47B | 2025-06-30 | 123000 | 12000 | 0.28 | 1.1 | t>t | open multi |
baidu/ernie-4.5-vl-424b-a47b | ERNIE 4.5 VL 424B A47B | 2025-06-30 | 123000 | 16000 | 0.42 | 1.25 | ti>t | open reason |
tencent/hunyuan-a13b-instruct | Hunyuan A13B Instruct | 2025-07-08 | 32768 | - | 0.14 | 0.57 | t>t | open json reason math |
bytedance-seed/seed-1.6 | Seed 1.6 | 2025-12-18 | 262144 | 32768 | 0.25 | 2 | tiv>t | tools json reason |
bytedance-seed/seed-1.6-flash | Seed 1.6 Flash | 2025-12-18 | 262144 | 16384 | 0.075 | 0.3 | tiv>t | tools json reason fast |
bytedance/ui-tars-1.5-7b | UI-TARS 7B | 2025-07-22 | 128000 | 2048 | 0.1 | 0.2 | ti>t | open agent | GUI agent model that operates apps from screenshots
bytedance/seedance-1-pro | Seedance 1.0 Pro | 2025-06-11 | 2000 | - | 0 | 0 | ti>v | rq=1.2 |
stepfun-ai/step3 | Step3 | 2025-08-28 | 65536 | 65536 | 0.57 | 1.42 | ti>t | open tools json reason |
xiaomi/mimo-v2-flash | MiMo-V2-Flash | 2025-12-14 | 262144 | 65536 | 0.1 | 0.3 | t>t | open free tools json reason code agent fast |
arcee-ai/trinity-mini | Trinity Mini | 2025-12-01 | 131072 | 131072 | 0.045 | 0.15 | t>t | open free tools json reason fast |
arcee-ai/virtuoso-large | Virtuoso Large | 2025-05-05 | 131072 | 64000 | 0.75 | 1.2 | t>t | tools json creative long |
arcee-ai/maestro-reasoning | Maestro Reasoning | 2025-05-05 | 131072 | 32000 | 0.9 | 3.3 | t>t | reason math |
inflection/inflection-3-pi | Inflection 3 Pi | 2024-10-11 | 8000 | 1024 | 2.5 | 10 | t>t | chat creative |
upstage/solar-pro-3 | Solar Pro 3 | 2026-01-27 | 128000 | - | 0.15 | 0.6 | t>t | tools json reason multi |
thedrummer/cydonia-24b-v4.1 | Cydonia 24B V4.1 | 2025-09-27 | 131072 | 131072 | 0.3 | 0.5 | t>t | open creative rp tok=Mistral it=mistral |
thedrummer/rocinante-12b | Rocinante 12B | 2024-09-30 | 32768 | - | 0.17 | 0.43 | t>t | open tools creative rp tok=Qwen it=chatml |
thedrummer/unslopnemo-12b | UnslopNemo 12B | 2024-11-08 | 32768 | - | 0.4 | 0.4 | t>t | open creative rp tok=Mistral it=mistral |
thedrummer/skyfall-36b-v2 | Skyfall 36B V2 | 2025-03-10 | 32768 | 32768 | 0.55 | 0.8 | t>t | open creative rp tok=Mistral it=mistral |
gryphe/mythomax-l2-13b | MythoMax 13B | 2023-07-02 | 4096 | 4096 | 0.06 | 0.06 | t>t | open creative rp tok=Llama2 it=alpaca |
sao10k/l3.3-euryale-70b | Llama 3.3 Euryale 70B | 2024-12-18 | 131072 | 16384 | 0.65 | 0.75 | t>t | open creative rp |
sao10k/l3.1-euryale-70b | Llama 3.1 Euryale 70B v2.2 | 2024-08-28 | 32768 | - | 0.65 | 0.75 | t>t | open tools creative rp |
anthracite-org/magnum-v4-72b | Magnum v4 72B | 2024-10-22 | 16384 | 2048 | 2.5 | 3 | t>t | open creative rp tok=Qwen it=chatml |
mancer/weaver | Weaver (alpha) | 2023-08-02 | 8000 | 2000 | 1.125 | 1.125 | t>t | creative rp tok=Llama2 it=alpaca |
neversleep/llama-3.1-lumimaid-8b | Lumimaid v0.2 8B | 2024-07-29 | 32768 | - | 0.09 | 0.6 | t>t | open creative rp |
alpindale/goliath-120b | Goliath 120B | 2023-11-10 | 6144 | 512 | 4 | 5.5 | t>t | open creative rp tok=Llama2 it=airoboros |
cognitivecomputations/dolphin-mistral-24b-venice-edition | Dolphin Mistral 24B Venice Edition | 2025-07-09 | 32768 | - | 0.1 | 0.3 | t>t | open free creative tok=Mistral it=chatml |
allenai/olmo-3-32b-think | Olmo 3 32B Think | 2025-11-20 | 65536 | 65536 | 0.15 | 0.5 | t>t | open reason math code | fully open reasoning model whose data, code and checkpoints are all public
allenai/olmo-3-7b-instruct | Olmo 3 7B Instruct | 2025-11-20 | 65536 | 65536 | 0.1 | 0.2 | t>t | open tools fast |
ibm-granite/granite-4.0-h-micro | Granite 4.0 Micro | 2025-10-20 | 131000 | - | 0.017 | 0.11 | t>t | open tools json rag fast |
prime-intellect/intellect-3 | INTELLECT-3 | 2025-11-26 | 131072 | 131072 | 0.2 | 1.1 | t>t | open tools json reason math code |
openrouter/auto | Auto Router | 2023-11-08 | 2000000 | - | -1 | -1 | tifav>ti | router | router that sends each prompt to the model best suited to it, billed at that model's rates
openrouter/free | Free Models Router | 2026-01-30 | 200000 | - | -1 | -1 | tiv>t | router | router that picks among the currently free models, so requests cost nothing
switchpoint/router | Switchpoint Router | 2025-07-11 | 131072 | - | 0.85 | 3.4 | t>t | reason |
morph/morph-v3-fast | Morph V3 Fast | 2025-07-07 | 81920 | 38000 | 0.8 | 1.2 | t>t | code fast | fast apply model that merges suggested code edits into files
relace/relace-apply-3 | Relace Apply 3 | 2025-09-26 | 256000 | 128000 | 0.85 | 1.25 | t>t | code fast |
deepcogito/cogito-v2.1-671b | Cogito v2.1 671B | 2025-11-19 | 128000 | - | 1.25 | 1.25 | t>t | open tools json reason multi code |
meituan/longcat-flash-chat | LongCat Flash Chat | 2025-09-09 | 131072 | 131072 | 0.15 | 0.75 | t>t | open tools json agent fast |
kwaipilot/kat-coder-pro | KAT-Coder-Pro V1 | 2025-11-10 | 256000 | 128000 | 0.207 | 0.828 | t>t | free tools json code agent |
tngtech/deepseek-r1t2-chimera | DeepSeek R1T2 Chimera | 2025-07-08 | 163840 | 163840 | 0.3 | 1.2 | t>t | open free json reason code tok=DeepSeek it=deepseek-r1 |
tngtech/tng-r1t-chimera | TNG R1T Chimera | 2025-11-26 | 163840 | 65536 | 0.3 | 1.2 | t>t | open tools json reason creative tok=DeepSeek |
alibaba/tongyi-deepresearch-30b-a3b | Tongyi DeepResearch 30B A3B | 2025-09-18 | 131072 | 131072 | 0.09 | 0.4 | t>t | open tools json reason rag agent tok=Qwen3 it=qwen3 |
nex-agi/deepseek-v3.1-nex-n1 | DeepSeek V3.1 Nex N1 | 2025-12-08 | 131072 | 131072 | 0.27 | 1 | t>t | tools json agent code tok=DeepSeek |
black-forest-labs/flux.2-pro | FLUX.2 [pro] | 2025-11-25 | 46864 | - | 0 | 0 | ti>i | rq=0.03 | image generation and editing model with photorealistic detail and multi-reference control
black-forest-labs/flux.2-flex | FLUX.2 [flex] | 2025-11-25 | 67344 | - | 0 | 0 | ti>i | rq=0.06 |
elevenlabs/eleven-multilingual-v2 | Eleven Multilingual v2 | 2023-08-22 | 10000 | - | 150 | 0 | t>s | multi |
elevenlabs/eleven-flash-v2.5 | Eleven Flash v2.5 | 2024-11-20 | 40000 | - | 75 | 0 | t>s | multi fast |
hexgrad/kokoro-82m | Kokoro 82M | 2025-01-10 | 4096 | - | 0.62 | 0 | t>s | open fast |
baai/bge-m3 | BGE M3 | 2024-01-30 | 8192 | - | 0.01 | 0 | t>e | open multi rag |
baai/bge-large-en-v1.5 | BGE Large EN v1.5 | 2023-09-12 | 512 | - | 0.01 | 0 | t>e | open rag |
intfloat/multilingual-e5-large | Multilingual E5 Large | 2024-02-08 | 512 | - | 0.01 | 0 | t>e | open multi |
sentence-transformers/all-minilm-l6-v2 | all-MiniLM-L6-v2 | 2023-06-01 | 512 | - | 0.005 | 0 | t>e | open fast |
thenlper/gte-large | GTE Large | 2023-08-01 | 512 | - | 0.01 | 0 | t>e | open |
voyageai/voyage-3.5 | Voyage 3.5 | 2025-05-20 | 32000 | - | 0.06 | 0 | t>e | multi code rag |
"""


_OPEN_HOSTS = (
    "DeepInfra",
    "Together",
    "Fireworks",
    "Novita",
    "Parasail",
    "Nebius",
    "Groq",
    "SiliconFlow",
    "AtlasCloud",
    "BaseTen",
    "Chutes",
    "GMICloud",
    "Cerebras",
    "SambaNova",
    "Crusoe",
    "Friendli",
)
_ROLEPLAY_HOSTS = ("Featherless", "Infermatic", "NextBit", "Mancer 2", "Parasail")
_FREE_HOSTS = ("Chutes", "OpenInference", "ModelRun", "Venice")
_HOST_QUANTS = ("fp8", "fp8", "bf16", "bf16", "fp16", "int8", "int4", "fp4")
_OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)

# Fields every author shares unless its profile says otherwise; see _authors().
_AUTHOR_DEFAULTS: dict[str, Any] = {
    "first": (),  # the author's own providers, best first
    "serves_open": False,  # whether the author also serves its open-weight models itself
    "hosts": _OPEN_HOSTS,
    "free_hosts": _FREE_HOSTS,
    "style": "oss",
    "tok": "Other",
    "it": None,
    "moderated": False,
    "cache_read": "0.1",  # cached-input price as a share of the prompt price
    "cache_write": None,
    "image_tokens": 0,  # tokens one input image is billed as; 0 when images are not billed apart
    "audio_ratio": None,  # audio-input price as a multiple of the prompt price
    "defaults": None,
    "voices": (),
    "search_tool": None,  # the provider's own web search tool, when it has one
}

_STYLES: dict[str, tuple[str, ...]] = {
    "oai": ("max_tokens", "temperature", "top_p", "stop", "frequency_penalty", "presence_penalty", "seed", "logit_bias", "logprobs"),
    "ant": ("max_tokens", "temperature", "top_p", "top_k", "stop"),
    "goo": ("max_tokens", "temperature", "top_p", "stop", "seed", "frequency_penalty", "presence_penalty"),
    "oss": (
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "min_p",
        "seed",
        "logit_bias",
        "logprobs",
    ),
    "min": ("max_tokens", "temperature", "top_p", "stop"),
}
_SAMPLING = frozenset(
    ("temperature", "top_p", "top_k", "min_p", "stop", "frequency_penalty", "presence_penalty", "repetition_penalty", "logit_bias", "logprobs")
)
_TRAIT_PARAMS = {
    "tools": ("tools", "tool_choice"),
    "json": ("response_format", "structured_outputs"),
    "reason": ("reasoning", "include_reasoning"),
    "search": ("web_search_options",),
}
_MODALITIES = {
    "t": "text",
    "i": "image",
    "f": "file",
    "a": "audio",
    "v": "video",
    "e": "embeddings",
    "s": "speech",
    "x": "transcription",
}
_STRENGTHS = {
    "code": "coding",
    "math": "math",
    "reason": "multi-step reasoning",
    "agent": "agentic tool use",
    "multi": "multilingual tasks",
    "long": "long-document analysis",
    "rag": "retrieval-augmented generation",
    "creative": "creative writing",
    "rp": "roleplay",
    "chat": "natural conversation",
    "fast": "low-latency responses",
    "safety": "content safety classification",
}
_INPUT_STRENGTHS = {
    "i": "vision (image understanding)",
    "f": "PDF and file inputs",
    "a": "audio understanding",
    "v": "video understanding",
}
_CAPABILITIES = {
    "tools": "tool calling",
    "json": "structured outputs",
    "search": "built-in web search",
    "cache": "prompt caching",
}
# Which per-workload performance bucket a model's traffic falls into, by its kind.
_WORKLOADS = {
    "embeddings": "embeddings",
    "speech": "tts",
    "transcription": "stt",
    "video": "video_generation",
    "image": "image_generation",
    "text": "text_generation",
}
# Median time-to-first-result in ms (low, spread) for each kind, as real providers report it.
_LATENCY_MS = {
    "embeddings": (40, 300),
    "speech": (150, 500),
    "transcription": (300, 1200),
    "video": (40000, 120000),
    "image": (3000, 12000),
    "text": (180, 1400),
}


@lru_cache(maxsize=1)
def _authors() -> dict[str, dict[str, Any]]:
    """Per-author facts: display name, providers, tokenizer and pricing conventions."""
    google_voices = ("Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede")
    profiles: dict[str, dict[str, Any]] = {
        "openai": {
            "display": "OpenAI",
            "first": ("OpenAI", "Azure"),
            "style": "oai",
            "tok": "GPT",
            "moderated": True,
            "image_tokens": 1445,
            "audio_ratio": "16",
            "voices": _OPENAI_VOICES,
            "search_tool": "web_search",
        },
        "anthropic": {
            "display": "Anthropic",
            "first": ("Anthropic", "Amazon Bedrock", "Google"),
            "style": "ant",
            "tok": "Claude",
            "moderated": True,
            "cache_write": "1.25",
            "image_tokens": 1600,
            "search_tool": "web_search_20250305",
        },
        "google": {
            "display": "Google",
            "first": ("Google AI Studio", "Google"),
            "style": "goo",
            "tok": "Gemini",
            "image_tokens": 1290,
            "audio_ratio": "3",
            "free_hosts": ("Google AI Studio", "Chutes"),
            "voices": google_voices,
            "search_tool": "google_search",
        },
        "meta-llama": {"display": "Meta", "tok": "Llama3", "it": "llama3"},
        "mistralai": {"display": "Mistral", "first": ("Mistral",), "serves_open": True, "tok": "Mistral", "it": "mistral"},
        "deepseek": {"display": "DeepSeek", "first": ("DeepSeek",), "serves_open": True, "tok": "DeepSeek", "defaults": {"temperature": 0.6, "top_p": 0.95}},
        "qwen": {
            "display": "Qwen",
            "first": ("Alibaba",),
            "serves_open": True,
            "tok": "Qwen3",
            "it": "qwen3",
            "cache_read": "0.2",
            "defaults": {"temperature": 0.7, "top_p": 0.8, "top_k": 20},
        },
        "x-ai": {"display": "xAI", "first": ("xAI",), "style": "oai", "tok": "Grok", "cache_read": "0.25", "search_tool": "web_search"},
        "cohere": {"display": "Cohere", "first": ("Cohere",), "style": "oai", "tok": "Cohere", "moderated": True},
        "microsoft": {"display": "Microsoft", "it": "phi3"},
        "nvidia": {"display": "NVIDIA", "tok": "Llama3", "it": "nemotron"},
        "amazon": {"display": "Amazon", "first": ("Amazon Bedrock",), "style": "min", "tok": "Nova", "moderated": True, "cache_read": "0.25"},
        "perplexity": {"display": "Perplexity", "first": ("Perplexity",), "style": "min"},
        "nousresearch": {"display": "Nous", "tok": "Llama3", "it": "chatml"},
        "moonshotai": {"display": "MoonshotAI", "first": ("Moonshot AI",), "serves_open": True, "cache_read": "0.25", "defaults": {"temperature": 0.6}},
        "z-ai": {"display": "Z.AI", "first": ("Z.AI",), "serves_open": True, "cache_read": "0.2", "defaults": {"temperature": 0.6}},
        "minimax": {
            "display": "MiniMax",
            "first": ("Minimax",),
            "serves_open": True,
            "defaults": {"temperature": 1.0, "top_p": 0.95},
            "voices": ("Wise_Woman", "Friendly_Person", "Deep_Voice_Man", "Calm_Woman", "Casual_Guy", "Lively_Girl"),
        },
        "ai21": {"display": "AI21", "first": ("AI21",), "style": "min"},
        "inception": {"display": "Inception", "first": ("Inception",), "style": "oai"},
        "liquid": {"display": "LiquidAI", "first": ("Liquid",), "serves_open": True},
        "baidu": {"display": "Baidu", "first": ("Baidu",), "serves_open": True},
        "tencent": {"display": "Tencent", "first": ("Tencent",), "serves_open": True},
        "bytedance-seed": {"display": "ByteDance Seed", "first": ("Seed",)},
        "bytedance": {"display": "ByteDance", "first": ("BytePlus",)},
        "stepfun-ai": {"display": "StepFun", "first": ("StepFun",), "serves_open": True},
        "xiaomi": {"display": "Xiaomi", "first": ("Xiaomi",), "serves_open": True},
        "arcee-ai": {"display": "Arcee AI", "first": ("Arcee AI",), "serves_open": True},
        "inflection": {"display": "Inflection", "first": ("Inflection",), "style": "min"},
        "upstage": {"display": "Upstage", "first": ("Upstage",), "style": "min"},
        "thedrummer": {"display": "TheDrummer", "hosts": _ROLEPLAY_HOSTS},
        "gryphe": {"display": "Gryphe", "hosts": _ROLEPLAY_HOSTS},
        "sao10k": {"display": "Sao10K", "hosts": _ROLEPLAY_HOSTS, "tok": "Llama3", "it": "llama3"},
        "anthracite-org": {"display": "Magnum", "hosts": _ROLEPLAY_HOSTS},
        "mancer": {"display": "Mancer", "first": ("Mancer 2",)},
        "neversleep": {"display": "NeverSleep", "hosts": _ROLEPLAY_HOSTS, "tok": "Llama3", "it": "llama3"},
        "alpindale": {"display": "Alpindale", "hosts": _ROLEPLAY_HOSTS},
        "cognitivecomputations": {"display": "Venice", "free_hosts": ("Venice",)},
        "allenai": {"display": "AllenAI", "it": "chatml"},
        "ibm-granite": {"display": "IBM"},
        "prime-intellect": {"display": "Prime Intellect", "tok": "Qwen3"},
        "openrouter": {"display": "OpenRouter", "first": ("OpenRouter",), "tok": "Router"},
        "switchpoint": {"display": "Switchpoint", "first": ("Switchpoint",), "style": "min"},
        "morph": {"display": "Morph", "first": ("Morph",), "style": "min"},
        "relace": {"display": "Relace", "first": ("Relace",), "style": "min"},
        "deepcogito": {"display": "Deep Cogito", "tok": "DeepSeek"},
        "meituan": {"display": "Meituan"},
        "kwaipilot": {"display": "Kwaipilot", "first": ("StreamLake",), "free_hosts": ("StreamLake",)},
        "tngtech": {"display": "TNG"},
        "alibaba": {"display": "Tongyi", "first": ("Alibaba",), "serves_open": True},
        "nex-agi": {"display": "Nex AGI", "first": ("Nex AGI",)},
        "black-forest-labs": {"display": "Black Forest Labs", "first": ("Black Forest Labs",)},
        "elevenlabs": {"display": "ElevenLabs", "first": ("ElevenLabs",), "voices": ("Rachel", "Adam", "Bella", "Antoni", "Domi", "Elli", "Josh")},
        "hexgrad": {"display": "Hexgrad", "voices": ("af_heart", "af_bella", "af_nicole", "am_adam", "am_michael", "bf_emma", "bm_george")},
        "baai": {"display": "BAAI"},
        "intfloat": {"display": "intfloat"},
        "sentence-transformers": {"display": "Sentence Transformers"},
        "thenlper": {"display": "thenlper"},
        "voyageai": {"display": "Voyage AI", "first": ("VoyageAI by MongoDB",)},
    }
    return {author: {**_AUTHOR_DEFAULTS, **facts} for author, facts in profiles.items()}


class _Row:
    """One parsed line of the table."""

    __slots__ = (
        "completion",
        "ctx",
        "day",
        "id",
        "inputs",
        "max_out",
        "name",
        "note",
        "opts",
        "outputs",
        "prompt",
        "traits",
    )

    def __init__(self, line: str) -> None:
        cells = [cell.strip() for cell in line.split("|")]
        self.id, self.name, self.day = cells[0], cells[1], cells[2]
        self.ctx = int(cells[3])
        self.max_out = None if cells[4] == "-" else int(cells[4])
        self.prompt, self.completion = cells[5], cells[6]
        ins, outs = cells[7].split(">")
        self.inputs = [_MODALITIES[letter] for letter in ins]
        self.outputs = [_MODALITIES[letter] for letter in outs]
        self.traits = frozenset(t for t in cells[8].split() if "=" not in t)
        self.opts = {k: v for k, _, v in (t.partition("=") for t in cells[8].split()) if v}
        self.note = cells[9]

    @property
    def author(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def kind(self) -> str:
        """What the model produces, which decides its parameters, pricing and stats."""
        for output in ("embeddings", "speech", "transcription", "video"):
            if output in self.outputs:
                return output
        return "image" if "image" in self.outputs else "text"


def _h(model_id: str, salt: str) -> int:
    """A stable hash: Python's own hash() is randomised per process."""
    return zlib.crc32(f"{salt}\0{model_id}".encode())


def _usd(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _per_token(per_million: str, ratio: str = "1") -> str:
    from decimal import Decimal

    return _usd(Decimal(per_million) * Decimal(ratio) / Decimal(1_000_000))


def _scaled(price: str, factor: int) -> str:
    """A price raised by factor percent; unknown (-1) and free (0) prices stay as they are."""
    from decimal import Decimal

    if price in ("0", "-1"):
        return price
    return _usd(Decimal(price) * (100 + factor) / 100)


def _epoch(day: str, model_id: str) -> int:
    from datetime import date

    # A per-model time of day keeps models released on the same day in a stable order.
    return (date.fromisoformat(day).toordinal() - 719163) * 86400 + _h(model_id, "time") % 86400


def _canonical_slug(row: _Row) -> str:
    base = row.id.split(":", 1)[0]
    if "open" in row.traits or row.kind not in ("text", "image"):
        return base
    tail = base.rsplit("-", 1)[-1]
    already_dated = (len(tail) == 8 and tail.isdigit()) or base[-10:].replace("-", "").isdigit()
    if already_dated:
        return base
    if row.author == "openai":
        return f"{base}-{row.day}"
    if row.author == "anthropic":
        return f"{base}-{row.day.replace('-', '')}"
    return base


def _parameters(row: _Row, author: dict[str, Any]) -> list[str]:
    if "router" in row.traits:
        return sorted(set(_STYLES["oss"]) | {p for ps in _TRAIT_PARAMS.values() for p in ps})
    if "text" not in row.outputs:
        return []
    style = "oss" if "open" in row.traits else author["style"]
    params = set(_STYLES[style])
    if "notemp" in row.traits:
        params -= _SAMPLING
    for trait, extra in _TRAIT_PARAMS.items():
        if trait in row.traits:
            params.update(extra)
    return sorted(params)


def _pricing(row: _Row, author: dict[str, Any]) -> dict[str, str]:
    if "router" in row.traits:
        return {"prompt": "-1", "completion": "-1"}
    pricing = {"prompt": _per_token(row.prompt), "completion": _per_token(row.completion)}
    if "rq" in row.opts:
        pricing["request"] = row.opts["rq"]
    if "image" in row.inputs and author["image_tokens"] and "text" in row.outputs:
        pricing["image"] = _per_token(row.prompt, str(author["image_tokens"]))
    if "audio" in row.inputs and author["audio_ratio"]:
        pricing["audio"] = _per_token(row.prompt, author["audio_ratio"])
    if "audio" in row.outputs:
        # Spoken output is billed at eight times the text rate, as OpenAI does.
        pricing["audio_output"] = _per_token(row.completion, "8")
    if "io" in row.opts:
        pricing["image_output"] = _per_token(row.opts["io"])
    if "search" in row.traits:
        pricing["web_search"] = "0.01"
    if "reason" in row.traits:
        pricing["internal_reasoning"] = pricing["completion"]
    if "cache" in row.traits:
        pricing["input_cache_read"] = _per_token(row.prompt, author["cache_read"])
        if author["cache_write"]:
            pricing["input_cache_write"] = _per_token(row.prompt, author["cache_write"])
    return pricing


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _description(row: _Row, author: dict[str, Any]) -> str:
    display = author["display"]
    maker = f"{display}'" if display.endswith("s") else f"{display}'s"
    kind = row.kind
    if row.note:
        what = row.note
    elif kind == "embeddings":
        what = "text embedding model for semantic search, clustering and retrieval"
    elif kind == "speech":
        what = f"text-to-speech model with {len(author['voices'])} built-in voices"
    elif kind == "transcription":
        what = "speech-to-text model that turns recordings into accurate transcripts"
    elif kind == "video":
        what = "video generation model for short clips from text and image prompts"
    elif kind == "image":
        what = "image generation and editing model"
    elif "audio" in row.outputs:
        what = "voice model that listens and answers in speech"
    else:
        weights = "open-weight " if "open" in row.traits else ""
        family = "reasoning model" if "reason" in row.traits else "language model"
        window = f"{row.ctx // 1_000_000}M" if row.ctx >= 1_000_000 else f"{row.ctx // 1000}K"
        what = f"{weights}{family} with a {window}-token context window"
    sentences = [f"{row.name} is {maker} {what}."]
    strengths = [text for trait, text in _STRENGTHS.items() if trait in row.traits]
    if kind == "text":
        strengths += [text for letter, text in _INPUT_STRENGTHS.items() if _MODALITIES[letter] in row.inputs]
    if strengths:
        sentences.append(f"It is strong at {_join(strengths)}.")
    capabilities = [text for trait, text in _CAPABILITIES.items() if trait in row.traits]
    if capabilities:
        sentences.append(f"Supports {_join(capabilities)}.")
    return " ".join(sentences)


def _model(row: _Row) -> dict[str, Any]:
    author = _authors()[row.author]
    name = f"{author['display']}: {row.name}"
    writes_text = "text" in row.outputs
    tokenizer = row.opts.get("tok", author["tok"]) if writes_text or row.kind == "embeddings" else "Media"
    instruct = row.opts.get("it", author["it"]) if writes_text else None
    defaults = author["defaults"]
    return {
        "id": row.id,
        "canonical_slug": _canonical_slug(row),
        "name": name,
        "created": _epoch(row.day, row.id.split(":", 1)[0]),
        "description": _description(row, author),
        "context_length": row.ctx,
        "architecture": {
            "modality": "+".join(row.inputs) + "->" + "+".join(m for m in _MODALITIES.values() if m in row.outputs),
            "input_modalities": list(row.inputs),
            "output_modalities": list(row.outputs),
            "tokenizer": tokenizer,
            "instruct_type": None if instruct == "null" else instruct,
        },
        "pricing": _pricing(row, author),
        "top_provider": {
            "context_length": row.ctx,
            "max_completion_tokens": row.max_out,
            "is_moderated": author["moderated"],
        },
        "per_request_limits": None,
        "supported_parameters": _parameters(row, author),
        "default_parameters": dict(defaults) if defaults and row.kind == "text" else None,
        "supported_voices": list(author["voices"]) if row.kind == "speech" else None,
        "links": {"details": f"/api/v1/models/{row.id}/endpoints"},
        "expiration_date": row.opts.get("exp"),
    }


def _free_variant(model: dict[str, Any]) -> dict[str, Any]:
    free_id = f"{model['id']}:free"
    return {
        **model,
        "id": free_id,
        "name": f"{model['name']} (free)",
        "pricing": {key: "0" for key in model["pricing"]},
        # Free hosts do not return token probabilities.
        "supported_parameters": [p for p in model["supported_parameters"] if p not in ("logit_bias", "logprobs")],
        "links": {"details": f"/api/v1/models/{free_id}/endpoints"},
    }


@lru_cache(maxsize=1)
def _entries() -> dict[str, tuple[dict[str, Any], _Row]]:
    """Every catalog id mapped to its model object and the table row it came from."""
    entries: dict[str, tuple[dict[str, Any], _Row]] = {}
    for line in _table().strip().splitlines():
        row = _Row(line)
        model = _model(row)
        entries[row.id] = (model, row)
        if "free" in row.traits:
            free = _free_variant(model)
            entries[free["id"]] = (free, row)
    return entries


@lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, Any], ...]:
    # Newest first, as the real API lists them; a :free variant sorts right after its model.
    models = [model for model, _ in _entries().values()]
    return tuple(sorted(models, key=lambda m: (-m["created"], m["id"])))


def build_catalog() -> list[dict[str, Any]]:
    """Every model, newest first, each shaped like an item of `GET /api/v1/models`."""
    return list(_catalog())


def find(model_id: str) -> dict[str, Any] | None:
    """The catalog item with exactly this id, or None."""
    entry = _entries().get(model_id)
    return entry[0] if entry else None


def _providers(row: _Row, author: dict[str, Any], free: bool) -> list[str]:
    spin = _h(row.id, "providers")

    def hosts(pool: tuple[str, ...], count: int) -> list[str]:
        return [pool[(spin + i) % len(pool)] for i in range(min(count, len(pool)))]

    if free:
        return hosts(author["free_hosts"], 1 + spin % 2)
    first: tuple[str, ...] = author["first"]
    if "open" not in row.traits:
        return list(first[: 1 + spin % len(first)]) if first else hosts(author["hosts"], 1)
    own = list(first[:1]) if author["serves_open"] and "3p" not in row.traits else []
    return own + hosts(author["hosts"], 1 + spin % (4 - len(own)))


def _percentiles(p50: int, spread: tuple[float, float, float]) -> dict[str, float]:
    return {"p50": float(p50), "p75": round(p50 * spread[0], 1), "p90": round(p50 * spread[1], 1), "p99": round(p50 * spread[2], 1)}


def _endpoint(model: dict[str, Any], row: _Row, provider: str, index: int, free: bool) -> dict[str, Any]:
    author = _authors()[row.author]
    key = f"{model['id']}@{provider}"
    own = provider in author["first"]
    ctx, max_out = row.ctx, row.max_out
    pricing = dict(model["pricing"])
    params = list(model["supported_parameters"])
    if index:
        # Secondary providers are dearer, sometimes shorter, and some skip logprobs.
        if _h(key, "ctx") % 3 == 0:
            ctx = max(min(ctx, 32768), ctx // 2)
        max_out = min(max_out, ctx) if max_out else (ctx if _h(key, "max") % 2 else None)
        factor = 10 * (_h(key, "price") % 9)
        pricing = {k: _scaled(v, factor) for k, v in pricing.items()}
        if _h(key, "params") % 2:
            params = [p for p in params if p not in ("logit_bias", "logprobs")]
    quantization = "unknown" if own and "open" not in row.traits else ("fp8" if own else _HOST_QUANTS[_h(key, "quant") % len(_HOST_QUANTS)])
    tag = provider.lower().replace(" ", "-").replace(".", "-")
    if quantization != "unknown":
        tag = f"{tag}/{quantization}"
    low, spread = _LATENCY_MS[row.kind]
    latency = _percentiles(low + _h(key, "latency") % spread, (1.35, 1.9, 3.6))
    throughput = _percentiles(20 + _h(key, "throughput") % 300, (1.15, 1.3, 1.6)) if row.kind == "text" else None
    uptime = 100 - (_h(key, "uptime") % 40) / 10
    tools = "tools" in row.traits
    search_tool = author["search_tool"]
    return {
        "name": f"{provider} | {model['canonical_slug']}{':free' if free else ''}",
        "model_id": model["canonical_slug"],
        "model_name": model["name"],
        "provider_name": provider,
        "tag": tag,
        "context_length": ctx,
        "pricing": pricing,
        "quantization": quantization,
        "max_completion_tokens": max_out,
        "max_prompt_tokens": None,
        "supported_parameters": params,
        "status": 0,
        "uptime_last_5m": 100.0 if _h(key, "5m") % 4 else round(uptime - 1.5, 1),
        "uptime_last_30m": uptime,
        "uptime_last_1d": round(min(100.0, uptime + 0.3), 1),
        "supports_implicit_caching": "input_cache_read" in pricing,
        "latency_last_30m": latency,
        "throughput_last_30m": throughput,
        "perf_last_30m_by_workload": {
            _WORKLOADS[row.kind]: {
                "latency": latency,
                "throughput": throughput,
                "request_count": 200 + _h(key, "requests") % 60000,
            }
        },
        "native_tools": ({"openrouter:web_search": {"type": search_tool}} if index == 0 and own and search_tool and "search" in row.traits else {}),
        "service_tier": None,
        "supports_diarization": False,
        "supports_tool_choice": {"auto": tools, "none": tools, "required": tools, "function": tools},
    }


@lru_cache(maxsize=1024)
def endpoints_for(model_id: str) -> dict[str, Any] | None:
    """The `data` object of `GET /api/v1/models/{author}/{slug}/endpoints`, or None for an id
    that is not in the catalog."""
    entry = _entries().get(model_id)
    if entry is None:
        return None
    model, row = entry
    free = model_id.endswith(":free")
    providers = _providers(row, _authors()[row.author], free)
    return {
        "id": model["id"],
        "name": model["name"],
        "created": model["created"],
        "description": model["description"],
        "architecture": {
            "modality": model["architecture"]["modality"],
            "input_modalities": model["architecture"]["input_modalities"],
            "output_modalities": model["architecture"]["output_modalities"],
            "tokenizer": model["architecture"]["tokenizer"],
            "instruct_type": model["architecture"]["instruct_type"],
        },
        "endpoints": [_endpoint(model, row, p, i, free) for i, p in enumerate(providers)],
    }


# Simulator-only models for benchmarks (listed after the catalog, not part of it): a steady time to first
# token and speed large enough to measure (the catalog's models answer in a few ms) and distinct prices.
# id: (ttft_ms, tokens_per_s, $/M prompt, $/M completion, description)
PACED: dict[str, tuple[int, float, str, str, str]] = {
    "bench/swift": (100, 300.0, "2", "8", "Fast and dear: 100 ms to the first token, then 300 tokens/s."),
    "bench/steady": (150, 200.0, "0.5", "1.5", "Middling: 150 ms to the first token, then 200 tokens/s."),
    "bench/thrifty": (300, 100.0, "0.05", "0.2", "Slow and cheap: 300 ms to the first token, then 100 tokens/s."),
}


def paced_models() -> list[dict[str, Any]]:
    """The `PACED` models as `GET /models` items, shaped like gpt-4o-mini with their own names and prices."""
    import copy

    template = find("openai/gpt-4o-mini")
    assert template is not None
    out = []
    for model_id, (_ttft, _tps, prompt, completion, description) in PACED.items():
        item = copy.deepcopy(template)
        item.update(
            id=model_id,
            canonical_slug=model_id,
            name=f"Simulator: {model_id}",
            description=description,
            links={"details": f"/api/v1/models/{model_id}/endpoints"},
            expiration_date=None,
        )
        item["pricing"] = {**item["pricing"], "prompt": _per_token(prompt), "completion": _per_token(completion)}
        item["pricing"].pop("input_cache_read", None)
        out.append(item)
    return out


@lru_cache(maxsize=1024)
def behaviour(model_id: str) -> dict[str, Any]:
    """How the simulator answers for this model: time to first token, generation speed and the
    provider it reports. Kept fast so simulated calls return almost at once (except the `PACED`
    benchmark models); a variant (`:free`, `:nitro`, ...) behaves like its base model."""
    base = model_id.split(":", 1)[0]
    if base in PACED:
        ttft_ms, tokens_per_s = PACED[base][:2]
        return {"ttft_ms": ttft_ms, "tokens_per_s": tokens_per_s, "provider": "Simulator"}
    listing = endpoints_for(base)
    return {
        "ttft_ms": 5 + _h(base, "ttft") % 36,
        "tokens_per_s": float(500 + _h(base, "speed") % 4501),
        "provider": listing["endpoints"][0]["provider_name"] if listing else "OpenRouter",
    }
