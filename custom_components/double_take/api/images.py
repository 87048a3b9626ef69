"""Cheap checks of image bytes before anyone decodes them (no Pillow, no decoding).

Images come from Frigate, from URLs, from cameras and from files, so they are hostile
until shown otherwise: empty, not an image, cut short in transfer, or a small file whose
header claims 20000×20000 pixels (a decompression bomb that would take gigabytes to
decode, in a detector server or in Home Assistant). The checks run in the event loop for
every image, so each is bounded whatever the bytes: a JPEG's segments and a GIF's blocks
are walked for at most a fixed number of steps, and an image whose size is not found
within them is "size unknown", which ``image_problem`` refuses.

``crop_box`` is the exception: it decodes (Pillow, blocking: run it in the executor),
after the same checks.
"""

from __future__ import annotations

from collections.abc import Callable
import io
import math

from PIL import ExifTags, Image, ImageOps

from .errors import ImageUnavailableError

# An 8K camera frame has 33 million pixels; nothing Double Take looks at is larger.
MAX_PIXELS = 40_000_000

_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_IMAGE_MAGIC = (_JPEG, _PNG, b"GIF8", b"BM")
_JPEG_END = b"\xff\xd9"
# Start-of-frame markers carry the size (DHT C4, JPG C8 and DAC CC do not).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
# Start of scan and end of image: the size must have come before either.
_JPEG_NO_SIZE = frozenset({0xDA, 0xD9})
# The segments before a JPEG's frame header: APPn (Exif, XMP, ICC profiles, MPF), DQT,
# DHT, COM… A camera or phone writes 5–30, each padded by a few fill bytes at most.
# Every segment and every fill byte is one step; a frame header not found within this
# many steps, or this far into the file, is not looked for further (a few hundred
# microseconds at most, whatever the file holds).
MAX_JPEG_STEPS = 512
MAX_JPEG_HEADER_BYTES = 8 * 1024 * 1024
# A GIF's blocks: extensions, frames and their data sub-blocks. Runs of full 255-byte
# sub-blocks (what every encoder writes) are skipped many at a time, in one step. A GIF
# whose trailer is not reached within this many steps (thousands of frames, or data cut
# into tiny sub-blocks) or bytes is not checked further, and so refused: GIFs larger
# than that are long animations, not pictures of a face.
MAX_GIF_STEPS = 1024
MAX_GIF_BYTES = 4 * 1024 * 1024
_GIF_FULL_BLOCK = 256  # a size byte of 255 and its 255 bytes
_GIF_RUN = (16, 4096)  # full sub-blocks skipped in one step: first, at most
# Some encoders and cameras pad a file after its end marker.
_TAIL = 64
# crop_box: the JPEG quality of the crop, the formats it decodes (those
# ``looks_like_image`` admits), and how far the image's aspect ratio may stray from the
# frame the box was measured in (rounding when Frigate scales a frame to a height).
CROP_QUALITY = 90
_CROP_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")
_ASPECT_TOLERANCE = 0.03


def looks_like_image(data: bytes) -> bool:
    """Whether ``data`` starts like a JPEG, PNG, GIF, BMP or WebP file."""
    return data.startswith(_IMAGE_MAGIC) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG, PNG, GIF, BMP or WebP header; None if unreadable."""
    if data.startswith(_JPEG):
        return _jpeg_size(data)
    if data.startswith(_PNG):
        if data[12:16] != b"IHDR" or len(data) < 24:
            return None
        return _be(data, 16, 4), _be(data, 20, 4)
    if data.startswith(b"GIF8"):
        return _gif_size(data)
    if data.startswith(b"BM"):
        # The DIB header is at least 12 bytes (the common ones 40, 108 or 124).
        if len(data) < 26 or _le(data, 14, 4) < 12:
            return None
        height = int.from_bytes(data[22:26], "little", signed=True)
        return _le(data, 18, 4), abs(height)  # negative height: stored top-down
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def image_problem(data: bytes, max_pixels: int = MAX_PIXELS) -> str | None:
    """Why ``data`` is no image to analyze or draw on, or None when it looks fine."""
    if not data:
        return "empty"
    if not looks_like_image(data):
        return "not a JPEG, PNG, GIF, BMP or WebP image"
    size = image_size(data)
    if size is None:
        return "the image header cannot be read"
    if (problem := size_problem(*size, max_pixels=max_pixels)) is not None:
        return problem
    if data.startswith(_JPEG) and _JPEG_END not in data[-_TAIL:]:
        return "truncated JPEG (no end marker)"
    if data.startswith(_PNG) and b"IEND" not in data[-_TAIL:]:
        return "truncated PNG (no IEND chunk)"
    if data.startswith(b"GIF8") and b";" not in data[-_TAIL:]:
        return "truncated GIF (no trailer)"
    if data.startswith(b"BM") and len(data) < _le(data, 2, 4):
        return "truncated BMP (shorter than its header says)"
    if data.startswith(b"RIFF") and len(data) < 8 + _le(data, 4, 4):
        return "truncated WebP (shorter than its header says)"
    return None


def size_problem(width: int, height: int, max_pixels: int = MAX_PIXELS) -> str | None:
    """Why an image of ``width``×``height`` pixels is refused, or None when it is not.

    The one size rule: the header check above and every decoder (drawing, the local
    engine) apply it, so no part of the integration decodes what another refuses.
    """
    if width < 1 or height < 1:
        return f"image of {width}×{height} pixels"
    if width * height > max_pixels:
        return (
            f"image of {width}×{height} pixels is larger than {max_pixels:,} pixels"
            " (decompression bomb?)"
        )
    return None


def check_size(
    width: int, height: int, error: Callable[[str], Exception] = ValueError
) -> None:
    """Raise ``error(reason)`` for an image ``size_problem`` refuses (for decoders)."""
    if (problem := size_problem(width, height)) is not None:
        raise error(problem)


def crop_box(
    image: bytes,
    box: tuple[int, int, int, int],
    source_size: tuple[int, int],
    margin: float = 0.5,
    min_side: int = 160,
) -> bytes:
    """Cut ``box`` out of ``image``, with a margin, as a JPEG (blocking: executor).

    ``box`` is ``(x_min, y_min, x_max, y_max)`` in a frame of ``source_size``
    (width, height): Frigate's detect resolution. It is scaled to the image's actual
    size, so the face is cut from all the pixels the image has (a full-resolution
    snapshot, not one scaled down first), grown by ``margin`` times its width (left and
    right) and height (top and bottom), widened to ``min_side`` pixels per side when
    smaller (context, never upscaling), and clamped to the image. The pixels are taken
    as stored: no EXIF rotation, since the box was measured on the raw frame.

    Raises ImageUnavailableError when the image fails ``image_problem`` (empty,
    truncated, decompression bomb …), cannot be decoded, is not the frame's shape
    (an image cut to the object: the box does not map onto it), or when the box lies
    outside the frame; ValueError for a ``source_size``, ``margin`` or ``min_side``
    that is no size, margin or side (programming errors).
    """
    source_width, source_height = source_size
    if source_width < 1 or source_height < 1:
        raise ValueError(f"source size must be positive, not {source_size!r}")
    if not math.isfinite(margin) or margin < 0 or min_side < 0:
        raise ValueError(f"invalid margin {margin!r} or min_side {min_side!r}")
    x_min, y_min, x_max, y_max = box
    if not (
        0 <= x_min < x_max
        and 0 <= y_min < y_max
        and x_min < source_width
        and y_min < source_height
    ):
        raise ImageUnavailableError(
            f"box {box} is not a box inside the {source_width}×{source_height} frame"
        )
    if (problem := image_problem(image)) is not None:
        raise ImageUnavailableError(f"cannot crop: {problem}")
    picture = decode_checked(image, ImageUnavailableError, _CROP_FORMATS)
    width, height = picture.size
    scale_x, scale_y = width / source_width, height / source_height
    if abs(scale_x - scale_y) > _ASPECT_TOLERANCE * max(scale_x, scale_y):
        raise ImageUnavailableError(
            f"cannot crop: the {width}×{height} image is not the shape of the"
            f" {source_width}×{source_height} frame the box is in"
        )
    left, right = _crop_span(x_min * scale_x, x_max * scale_x, width, margin, min_side)
    top, bottom = _crop_span(y_min * scale_y, y_max * scale_y, height, margin, min_side)
    output = io.BytesIO()
    try:
        region = picture.crop((left, top, right, bottom))
        if region.mode not in ("RGB", "L"):
            region = region.convert("RGB")
        region.save(output, format="JPEG", quality=CROP_QUALITY)
    except (OSError, ValueError) as err:  # a mode JPEG cannot take (16-bit grey …)
        raise ImageUnavailableError(
            f"cannot crop the {picture.mode} image ({type(err).__name__}: {err})"
        ) from err
    return output.getvalue()


def decode_checked(
    image: bytes,
    error: type[Exception],
    formats: tuple[str, ...] | None = None,
    *,
    upright_rgb: bool = False,
) -> Image.Image:
    """Decode an untrusted image whole, after the size rule (``check_size``).

    Anything that is not a readable image of ``formats`` (default: any Pillow reads),
    is too large or is truncated raises ``error`` with the reason. ``upright_rgb``
    applies the EXIF orientation and converts to RGB (for drawing on it).
    """
    try:
        picture: Image.Image = Image.open(io.BytesIO(image), formats=formats)
        # Pillow's own size is the one it decodes (a GIF's frames, say).
        check_size(*picture.size, error)
        if upright_rgb:
            # Each of these copies the whole frame: only when needed (a 600×800
            # face crop takes a third of the time without them).
            if picture.getexif().get(ExifTags.Base.Orientation, 1) != 1:
                picture = ImageOps.exif_transpose(picture)
            if picture.mode != "RGB":
                picture = picture.convert("RGB")
        picture.load()  # decode now: a truncated file fails here, not later
    except error:
        raise
    except Image.DecompressionBombError as err:
        raise error(f"decompression bomb refused: {err}") from err
    except Exception as err:  # noqa: BLE001
        # Pillow raises OSError, SyntaxError, EOFError, struct.error … for broken files.
        raise error(f"cannot decode the image ({type(err).__name__}: {err})") from err
    return picture


def _crop_span(
    low: float, high: float, limit: int, margin: float, min_side: int
) -> tuple[int, int]:
    """One axis of the crop: ``low..high`` grown, widened to ``min_side``, clamped."""
    grow = (high - low) * margin
    low, high = low - grow, high + grow
    if high - low < min_side:
        centre, half = (low + high) / 2, min(min_side, limit) / 2
        low, high = centre - half, centre + half
        # Slide back inside the image rather than lose the width at an edge.
        if low < 0:
            low, high = 0, high - low
        elif high > limit:
            low, high = low - (high - limit), limit
    start = min(max(0, math.floor(low)), limit - 1)
    end = max(min(limit, math.ceil(high)), start + 1)
    return start, end


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Size from the first start-of-frame segment; None if not found within the bounds."""
    position, length = 2, min(len(data), MAX_JPEG_HEADER_BYTES)
    for _ in range(MAX_JPEG_STEPS):
        if position + 9 > length or data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
        elif marker in _JPEG_STANDALONE:
            position += 2
        elif marker in _JPEG_SOF:
            return _be(data, position + 7, 2), _be(data, position + 5, 2)
        elif marker in _JPEG_NO_SIZE:
            return None
        else:
            segment = (data[position + 2] << 8) | data[position + 3]
            if segment < 2:
                return None
            position += 2 + segment
    return None


def _gif_size(data: bytes) -> tuple[int, int] | None:
    """Return the logical screen grown to cover every frame (as Pillow does), or None.

    Decoders open a GIF at the size of its frames, not of its logical screen, so a
    1×1 screen holding a 10000×10000 frame is a 10000×10000 image.
    """
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return None
    width, height = _le(data, 6, 2), _le(data, 8, 2)
    position, length = 13 + _colour_table(data[10]), min(len(data), MAX_GIF_BYTES)
    steps = 0
    while steps < MAX_GIF_STEPS:
        steps += 1
        if position >= length:
            return None
        block = data[position]
        if block == 0x3B:  # trailer
            return width, height
        if block == 0x21:  # extension: a label, then data sub-blocks
            position += 2
        elif block == 0x2C:  # image descriptor, local colour table, LZW code size
            if position + 10 > length:
                return None
            left, top = _le(data, position + 1, 2), _le(data, position + 3, 2)
            width = max(width, left + _le(data, position + 5, 2))
            height = max(height, top + _le(data, position + 7, 2))
            position += 11 + _colour_table(data[position + 9])
        else:
            return None
        # The sub-blocks: a size byte and that many bytes each, up to a size of 0.
        run = _GIF_RUN[0]
        while steps < MAX_GIF_STEPS:
            steps += 1
            if position >= length:
                return None
            size = data[position]
            if size == 0:
                position += 1
                break
            if size == 255:  # skip the full sub-blocks that follow, up to ``run``
                sizes = data[
                    position : position + run * _GIF_FULL_BLOCK : _GIF_FULL_BLOCK
                ]
                position += _GIF_FULL_BLOCK * (len(sizes) - len(sizes.lstrip(b"\xff")))
                run = min(2 * run, _GIF_RUN[1])
            else:
                position += 1 + size
    return None


def _colour_table(packed: int) -> int:
    """Bytes of the colour table a GIF screen or frame descriptor's flags announce."""
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + _le(data, 24, 3), 1 + _le(data, 27, 3)
    if chunk == b"VP8L" and len(data) >= 25:
        b0, b1, b2, b3 = data[21:25]
        width = 1 + (((b1 & 0x3F) << 8) | b0)
        height = 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
        return width, height
    if chunk == b"VP8 " and len(data) >= 30:
        return _le(data, 26, 2) & 0x3FFF, _le(data, 28, 2) & 0x3FFF
    return None


def _be(data: bytes, start: int, size: int) -> int:
    return int.from_bytes(data[start : start + size], "big")


def _le(data: bytes, start: int, size: int) -> int:
    return int.from_bytes(data[start : start + size], "little")
