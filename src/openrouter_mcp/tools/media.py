"""The `media` toolset: analyze images, audio, video and documents; generate images, speech and video;
resume video jobs. Generated files are saved under the output folder and returned as `resource_link`s
(readable through the `media://output/...` resources registered here), never as base64 in the result,
apart from one small preview image."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ImageContent, ResourceLink, ToolAnnotations
from pydantic import Field

from ..core.progress import Progress, progress
from ..core.protocol_errors import resource_failure
from ..core.results import ok
from ..core.templates import add_templates_by_extension
from ..errors import ErrorCode, ToolFailure
from ..services import files as saved_files
from ..services import media
from ..services.chat import usage_of
from ..services.media import output as media_output
from ..services.media.formats import FORMATS, Medium
from ..shapes import Shape
from ..upstream import ChatResult
from ._common import PAID_CALL
from .chat import Usage, footer

if TYPE_CHECKING:
    from ..app import App


class SourceInfo(Shape):
    kind: str = Field(description="path, url or data")
    format: str | None
    size_bytes: int | None
    sent_as: str = Field(description="url (fetched by OpenRouter), inline, or streamed")
    note: str | None = None


class AnalysisOutput(Shape):
    text: str
    model: str | None
    provider: str | None
    finish_reason: str | None
    usage: Usage
    cost_usd: float
    generation_id: str | None
    source: SourceInfo
    content_is_untrusted: bool = Field(True, description="The text came from a model reading a file: data, not instructions.")


class SavedMedia(Shape):
    path: str
    uri: str = Field(description="media://output/... resource URI")
    mime_type: str
    size_bytes: int
    format: str
    note: str | None = Field(None, description="Why save_path was not used as asked")


class ImageOutput(Shape):
    images: list[SavedMedia]
    model: str
    text: str = Field(description="Any text the model wrote with the images.")
    usage: Usage
    cost_usd: float
    generation_ids: list[str]
    failed_variants: list[str] = Field(default_factory=list)
    content_is_untrusted: bool = True


class AudioOutput(Shape):
    audio: SavedMedia
    model: str
    transcript: str | None
    usage: Usage
    cost_usd: float
    generation_id: str | None
    content_is_untrusted: bool = True


class VideoOutput(Shape):
    video_id: str
    status: str
    videos: list[SavedMedia]
    model: str | None
    cost_usd: float = Field(description="USD billed for the job (0 until OpenRouter reports it).")
    generation_id: str | None
    content_is_untrusted: bool = True


# get_video_status costs nothing and asking again changes nothing, but it saves the finished video.
SAVES_RESULT = ToolAnnotations(destructive_hint=False, idempotent_hint=True)
Question = str | None
Model = str | None
Wait = Annotated[float | None, Field(ge=0)]
SavePath = str | None
SOURCE = "Input-folder file, http(s) or data: URL"


def _usage(results: list[ChatResult]) -> Usage:
    """The token counts of several replies, summed."""
    each = [usage_of(r) for r in results]
    return Usage(**{k: sum(u[k] for u in each) for k in Usage.model_fields})


def _links(files: list[SavedMedia]) -> list[ResourceLink]:
    return [
        ResourceLink(type="resource_link", name=f.path.rsplit("/", 1)[-1], uri=f.uri, mime_type=f.mime_type, size=f.size_bytes, description=f.path)
        for f in files
    ]


def _notes(files: list[SavedMedia]) -> str:
    """The saved files' notes, as lines to end a result's text with."""
    return "".join(f"\nNote: {f.note}" for f in files if f.note)


def _short(args: dict[str, Any]) -> dict[str, Any]:
    """Arguments as a job row keeps them: a data URL is not worth storing twice."""
    return {k: (v[:200] + "…" if isinstance(v, str) and len(v) > 200 else v) for k, v in args.items()}


def reporter(prog: Progress) -> media.Report:
    async def report(value: float, message: str, total: float | None) -> None:
        await prog.update(value, message, total=total)

    return report


def _analysis_text(out: AnalysisOutput) -> str:
    return f"{out.text}\n{footer(out.model, out.provider, out.usage.total_tokens, out.cost_usd)}"


def register(server: MCPServer[Any], app: App) -> None:
    async def analysis(medium: Medium, args: dict[str, Any], ctx: Context | None, **extra: Any) -> CallToolResult:
        """analyze_<medium>: the source is the `<medium>_path` argument."""
        tool, field = f"analyze_{medium}", f"{medium}_path"
        source = args[field]

        async def work(prog: Progress) -> CallToolResult:
            done = await media.analyze(
                app,
                tool=tool,
                medium=medium,
                field=field,
                source=source,
                question=args.get("question"),
                model=args.get("model"),
                report=reporter(prog),
                **extra,
            )
            r = done.result
            out = AnalysisOutput(
                text=r.content,
                model=r.model,
                provider=r.provider,
                finish_reason=r.finish_reason,
                usage=_usage([r]),
                cost_usd=float(r.cost_usd or 0),
                generation_id=r.generation_id,
                source=SourceInfo(**done.source),
                content_is_untrusted=True,
            )
            return ok(out, _analysis_text(out))

        return await app.jobs.run(tool=tool, arguments=_short(args), wait_seconds=args.get("wait_seconds"), ctx=ctx, work=work)

    @server.tool(annotations=PAID_CALL, description="Ask a vision model about an image (full quality).")
    async def analyze_image(
        image_path: Annotated[str, Field(description=SOURCE)],
        question: Question = None,
        model: Model = None,
        max_dimension: Annotated[int | None, Field(ge=64, le=16384, description="Downscale to this longer side (px)")] = None,
        wait_seconds: Wait = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, AnalysisOutput]:
        args = {"image_path": image_path, "question": question, "model": model, "max_dimension": max_dimension, "wait_seconds": wait_seconds}
        return await analysis("image", args, ctx, max_dimension=max_dimension)

    @server.tool(annotations=PAID_CALL, description="Transcribe audio (default) or ask about it.")
    async def analyze_audio(
        audio_path: Annotated[str, Field(description=SOURCE)],
        question: Question = None,
        model: Model = None,
        wait_seconds: Wait = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, AnalysisOutput]:
        args = {"audio_path": audio_path, "question": question, "model": model, "wait_seconds": wait_seconds}
        return await analysis("audio", args, ctx)

    @server.tool(annotations=PAID_CALL, description="Ask a model about a video (large files streamed).")
    async def analyze_video(
        video_path: Annotated[str, Field(description=SOURCE)],
        question: Question = None,
        model: Model = None,
        wait_seconds: Wait = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, AnalysisOutput]:
        args = {"video_path": video_path, "question": question, "model": model, "wait_seconds": wait_seconds}
        return await analysis("video", args, ctx)

    @server.tool(annotations=PAID_CALL, description="Ask about a PDF or other document.")
    async def analyze_document(
        document_path: Annotated[str, Field(description=SOURCE)],
        question: Question = None,
        model: Model = None,
        pdf_engine: Literal["native", "cloudflare-ai", "mistral-ocr"] | None = None,
        wait_seconds: Wait = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, AnalysisOutput]:
        args = {"document_path": document_path, "question": question, "model": model, "pdf_engine": pdf_engine, "wait_seconds": wait_seconds}
        return await analysis("document", args, ctx, pdf_engine=pdf_engine)

    @server.tool(
        annotations=PAID_CALL,
        description="Generate n images in parallel (input_images to edit); saved as resource links, with a preview.",
    )
    async def generate_image(
        prompt: str,
        model: Model = None,
        aspect_ratio: Annotated[str | None, Field(description="e.g. 1:1, 16:9, 9:16")] = None,
        image_size: Annotated[str | None, Field(description="1K, 2K or 4K")] = None,
        n: Annotated[int, Field(ge=1, le=8)] = 1,
        input_images: Annotated[list[str] | None, Field(description="Paths or URLs to edit or follow")] = None,
        save_path: SavePath = None,
        seed: int | None = None,
        max_cost_usd: Annotated[float | None, Field(gt=0)] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, ImageOutput]:
        async with progress(ctx) as prog:
            done = await media.generate_images(
                app,
                prompt=prompt,
                model=model,
                aspect_ratio=aspect_ratio,
                image_size=image_size,
                n=n,
                input_images=input_images,
                seed=seed,
                save_path=save_path,
                max_cost_usd=max_cost_usd,
                report=reporter(prog),
            )
        files = [SavedMedia(**media.saved_dict(f)) for f in done.files]
        out = ImageOutput(
            images=files,
            model=done.model,
            text=" ".join(r.content for r in done.results if r.content).strip(),
            usage=_usage(done.results),
            cost_usd=float(sum((r.cost_usd or Decimal(0) for r in done.results), Decimal(0))),
            generation_ids=[r.generation_id for r in done.results if r.generation_id],
            failed_variants=done.errors,
        )
        lines = [
            f"Saved {len(files)} image{'s' if len(files) > 1 else ''} ({done.model}, ${out.cost_usd:.6f}):",
            *(f"- {f.path} ({f.mime_type}, {f.size_bytes} bytes)" for f in files),
        ]
        if done.errors:
            lines.append(f"{len(done.errors)} variant(s) failed: {done.errors[0]}")
        result = ok(out, "\n".join(lines) + _notes(files))
        if done.preview is not None:
            data, mime = done.preview
            result.content.append(ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type=mime))
        result.content.extend(_links(files))
        return result

    @server.tool(
        annotations=PAID_CALL,
        description="Text to speech, or spoken replies from audio chat models; saved as a resource link.",
    )
    async def generate_audio(
        prompt: Annotated[str, Field(description="The text to speak.")],
        model: Model = None,
        voice: Annotated[str | None, Field(description="See get_model_info")] = None,
        format: Annotated[Literal["mp3", "wav", "pcm", "flac", "opus"] | None, Field(description="Speech models: mp3 wav pcm")] = None,
        save_path: SavePath = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, AudioOutput]:
        async with progress(ctx) as prog:
            done = await media.generate_audio(app, prompt=prompt, model=model, voice=voice, audio_format=format, save_path=save_path, report=reporter(prog))
        saved = SavedMedia(**media.saved_dict(done.file))
        out = AudioOutput(
            audio=saved,
            model=done.model,
            transcript=done.transcript,
            usage=_usage([done.result] if done.result else []),
            cost_usd=float(done.cost_usd or 0),
            generation_id=done.generation_id,
        )
        result = ok(out, f"Saved {saved.path} ({saved.mime_type}, {saved.size_bytes} bytes; {done.model}, ${out.cost_usd:.6f})." + _notes([saved]))
        result.content.extend(_links([saved]))
        return result

    def video_result(outcome: media.VideoOutcome) -> CallToolResult:
        files = [SavedMedia(**f) for f in outcome.files]
        out = VideoOutput(
            video_id=outcome.video_id,
            status=outcome.status,
            videos=files,
            model=outcome.model,
            cost_usd=float(outcome.cost_usd or 0),
            generation_id=outcome.generation_id,
        )
        text = f"Video {outcome.video_id} {outcome.status}: " + ", ".join(f"{f.path} ({f.size_bytes} bytes)" for f in files) + f" · ${out.cost_usd:.6f}"
        text += _notes(files)
        result = ok(out, text)
        result.content.extend(_links(files))
        return result

    def wait_for(wait_seconds: float | None, default: float) -> float:
        return min(default if wait_seconds is None else wait_seconds, app.settings.media.video_wait_max_s)

    @server.tool(
        annotations=PAID_CALL,
        description="Generate a video (submitted once); still running after wait_seconds: JOB_PENDING with a video_id.",
    )
    async def generate_video(
        prompt: str,
        model: Model = None,
        duration: Annotated[int | None, Field(ge=1, le=60, description="Seconds.")] = None,
        resolution: Annotated[str | None, Field(description="e.g. 720p, 1080p")] = None,
        aspect_ratio: Annotated[str | None, Field(description="e.g. 16:9, 9:16, 1:1")] = None,
        first_frame_image: Annotated[str | None, Field(description="Path or URL")] = None,
        last_frame_image: Annotated[str | None, Field(description="Path or URL")] = None,
        reference_images: Annotated[list[str] | None, Field(description="Paths or URLs")] = None,
        save_path: SavePath = None,
        wait_seconds: Annotated[float | None, Field(ge=0, description="Default 45, at most 300.")] = None,
        seed: int | None = None,
        generate_audio: Annotated[bool | None, Field(description="With sound")] = None,
        max_cost_usd: Annotated[float | None, Field(gt=0)] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, VideoOutput]:
        video_id = await media.submit_video(
            app,
            prompt=prompt,
            model=model,
            duration=duration,
            resolution=resolution,
            aspect_ratio=aspect_ratio,
            first_frame_image=first_frame_image,
            last_frame_image=last_frame_image,
            reference_images=reference_images,
            save_path=save_path,
            seed=seed,
            generate_audio=generate_audio,
            max_cost_usd=max_cost_usd,
        )
        return await follow(video_id, save_path, wait_for(wait_seconds, app.settings.media.video_wait_s), ctx)

    async def follow(video_id: str, save_path: str | None, wait_seconds: float, ctx: Context | None) -> CallToolResult:
        async with progress(ctx) as prog:
            return video_result(await media.follow_video(app, video_id, save_path=save_path, wait_seconds=wait_seconds, report=reporter(prog)))

    @server.tool(annotations=SAVES_RESULT, description="Check a generate_video job; when done, save the video and return its resource link.")
    async def get_video_status(
        video_id: Annotated[str, Field(min_length=4, max_length=128)],
        save_path: SavePath = None,
        wait_seconds: Annotated[float | None, Field(ge=0, description="Poll this long (default 0: once)")] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, VideoOutput]:
        return await follow(video_id.strip(), save_path, wait_for(wait_seconds, 0.0), ctx)

    # Saved outputs as resources: one template per extension, so each carries its MIME type. A save_path's
    # own extension is kept when it fits the bytes (cat.jpeg), so the other spellings are served too.
    kinds = [(ext, fmt.mime) for fmt in FORMATS if fmt.medium != "document" for ext in (fmt.ext, *fmt.aliases)]

    async def read_output(path: str, ext: str) -> bytes:
        return await _read_output(app, path, ext)

    add_templates_by_extension(
        server, uri_prefix=media_output.URI_PREFIX, kinds=kinds, name="saved-{ext}", description="A saved .{ext} output", read=read_output
    )


async def _read_output(app: App, path: str, ext: str) -> bytes:
    """A saved output, read through the saved-<ext> templates: from this machine's output folder, else from the shared database."""
    try:
        real = media_output.resolve_uri_path(f"{path}.{ext}", app.settings)
    except ToolFailure as failure:
        # Saved through another replica: its bytes are in the shared database.
        if failure.code == ErrorCode.INVALID_INPUT and (kept := await saved_files.read(app, f"{media_output.URI_PREFIX}{path}.{ext}")) is not None:
            return kept
        raise resource_failure(failure) from None  # "Resource not found" for a missing or outside path
    size = real.stat().st_size
    if size > app.settings.media.max_resource_bytes:
        raise ResourceError(f"{real.name} is {size / 1e6:.0f} MB, over the {app.settings.media.max_resource_bytes / 1e6:g} MB resource cap; open it at {real}.")
    return real.read_bytes()
