"""Analysis of one image, audio clip, video or document through chat: small files travel inside the
request, larger ones are streamed from disk."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import invalid
from ...upstream import ChatResult
from ..chat import base_body, run_chat
from ..tokens import MEDIA_PART_TOKENS
from .common import Report, _no_report, _payload, content_part, load_image, pick_model
from .formats import Medium
from .inputs import load
from .tokens import media_prompt_tokens

if TYPE_CHECKING:
    from ...app import App

DEFAULT_QUESTIONS: dict[Medium, str] = {
    "image": "Describe this image in detail, including any text in it.",
    "audio": "Transcribe this audio verbatim.",
    "video": "Describe what happens in this video.",
    "document": "Summarize this document.",
}
PDF_ENGINES = ("native", "cloudflare-ai", "mistral-ocr")


@dataclass(slots=True)
class Analysis:
    result: ChatResult
    source: dict[str, Any]


async def analyze(
    app: App,
    *,
    tool: str,
    medium: Medium,
    field: str,
    source: str,
    question: str | None,
    model: str | None,
    pdf_engine: str | None = None,
    max_dimension: int | None = None,
    report: Report = _no_report,
) -> Analysis:
    """Ask a model about one image, audio clip, video or document. Small files travel inside an ordinary
    request; larger ones are streamed from disk (never held in memory whole)."""
    if pdf_engine is not None and pdf_engine not in PDF_ENGINES:
        raise invalid("pdf_engine", f"{pdf_engine!r} is not an engine", f"Use one of {', '.join(PDF_ENGINES)}")
    # The source is checked first: a refused path or URL costs no request at all.
    if medium == "image":
        inp, note = await load_image(app, source, field, max_dimension)
    else:
        inp, note = await load(source, medium, app.settings, field=field), None
    info = await pick_model(app, tool, model, needs_input=None if medium == "document" else medium)
    text = (question or "").strip() or DEFAULT_QUESTIONS[medium]
    body = base_body(info.id, app.settings)
    if pdf_engine is not None:
        body["plugins"] = [{"id": "file-parser", "pdf": {"engine": pdf_engine}}]
    streamed = inp.url is None and (inp.size or 0) > app.settings.media.inline_upload_max_bytes
    sent_as = "url" if inp.url is not None else "streamed" if streamed else "inline"
    described = {"kind": inp.kind, "format": inp.format.name if inp.format else None, "size_bytes": inp.size, "sent_as": sent_as, "note": note}

    # A long recording or a thick document counts for what it is in the budget checks, not as one image.
    extra = await asyncio.to_thread(media_prompt_tokens, inp) - MEDIA_PART_TOKENS

    async def on_token(count: int, _text: str) -> None:
        await report(count, "the model is answering", None)

    if not streamed:
        body["messages"] = [{"role": "user", "content": [{"type": "text", "text": text}, content_part(inp, await _payload(inp))]}]
        return Analysis(await run_chat(app, body, tool=tool, on_progress=on_token, extra_prompt_tokens=extra), described)

    from ...upstream.upload import StreamedBody

    body["messages"] = [{"role": "user", "content": [{"type": "text", "text": text}, content_part(inp, StreamedBody.MARK)]}]

    async def on_upload(sent: int, total: int) -> None:
        await report(sent / max(total, 1) * 100, f"uploading {sent / 1e6:.0f} of {total / 1e6:.0f} MB", 100)

    upload = StreamedBody({**body, "stream": True}, inp.blob(), on_progress=on_upload)
    return Analysis(await run_chat(app, body, tool=tool, on_progress=on_token, upload=upload, extra_prompt_tokens=extra), described)
