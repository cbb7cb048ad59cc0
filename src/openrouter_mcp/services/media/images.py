"""Image handling with Pillow (imported only when an image needs it): images go out at their original
quality and are downscaled only when over the provider's side limit or when the caller asks
(`max_dimension`); a downscaled image stays PNG when it was PNG or has transparency (lossless keeps
text sharp), otherwise it keeps its format at high quality. Also makes the small inline previews of
generated images."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ...errors import ErrorCode, ToolFailure
from .formats import BY_NAME, Format

if TYPE_CHECKING:
    from PIL.Image import Image

# Refuse decompression bombs before they allocate: 100 megapixels is beyond any provider's limit.
MAX_PIXELS = 100_000_000


def _pil() -> Any:
    from PIL import Image

    # Pillow refuses images over twice this (and only warns between once and twice).
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2
    return Image


def _open(data: bytes, field: str) -> Image:
    Image = _pil()
    try:
        return Image.open(io.BytesIO(data))  # type: ignore[no-any-return]
    except Image.DecompressionBombError:
        raise ToolFailure(ErrorCode.TOO_LARGE, f"{field}: the image has more than {MAX_PIXELS // 1_000_000} megapixels.", details={"field": field}) from None
    except (OSError, SyntaxError, ValueError):
        raise ToolFailure(
            ErrorCode.UNSUPPORTED_FORMAT, f"{field}: the image could not be read; it is damaged or not an image.", details={"field": field}
        ) from None


def _has_alpha(image: Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def downscale(data: bytes, fmt: Format, limit_px: int, field: str) -> tuple[bytes, Format] | None:
    """The image fitted within `limit_px` on its longer side, or None when it already fits (it is then
    sent unchanged, byte for byte)."""
    Image = _pil()
    with _open(data, field) as image:
        if max(image.size) <= limit_px:
            return None
        try:
            image.load()
        except Image.DecompressionBombError:
            raise ToolFailure(ErrorCode.TOO_LARGE, f"{field}: the image has too many pixels.") from None
        except OSError as exc:
            raise ToolFailure(ErrorCode.UNSUPPORTED_FORMAT, f"{field}: the image could not be decoded ({exc}).") from None
        lossless = fmt.name in ("png", "gif") or _has_alpha(image)
        resized = image.copy()
        resized.thumbnail((limit_px, limit_px), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if lossless:
        if resized.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            resized = resized.convert("RGBA")
        resized.save(out, format="PNG", optimize=True)
        return out.getvalue(), BY_NAME["png"]
    if fmt.name == "webp":
        resized.save(out, format="WEBP", quality=95)
        return out.getvalue(), BY_NAME["webp"]
    resized.convert("RGB").save(out, format="JPEG", quality=95, subsampling=0)
    return out.getvalue(), BY_NAME["jpeg"]


def preview(data: bytes, fmt: Format, max_bytes: int) -> tuple[bytes, str]:
    """A small version of a generated image for the tool result: the image itself when it is small
    enough, otherwise a thumbnail that fits `max_bytes`."""
    if len(data) <= max_bytes:
        return data, fmt.mime
    Image = _pil()
    with _open(data, "image") as image:
        image.load()
        alpha = _has_alpha(image)
        for side in (768, 512, 384, 256, 160, 96):
            thumb = image.copy()
            thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if alpha:
                thumb.convert("RGBA").save(out, format="PNG", optimize=True)
            else:
                thumb.convert("RGB").save(out, format="JPEG", quality=80)
            if out.tell() <= max_bytes:
                return out.getvalue(), "image/png" if alpha else "image/jpeg"
    raise ToolFailure(ErrorCode.INTERNAL, "Could not make a preview small enough.")
