"""Cheap checks of image bytes before anyone decodes them (no Pillow, no decoding).

Images come from Frigate, from URLs, from cameras and from files, so they are hostile
until shown otherwise: empty, not an image, cut short in transfer, or a small file whose
header claims 20000×20000 pixels (a decompression bomb that would take gigabytes to
decode, in a detector server or in Home Assistant). Reading the header costs
microseconds, so it is done in the event loop for every image.
"""

from __future__ import annotations

from .http import looks_like_image

# An 8K camera frame has 33 million pixels; nothing Double Take looks at is larger.
MAX_PIXELS = 40_000_000

_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG_END = b"\xff\xd9"
# Start-of-frame markers carry the size (DHT C4, JPG C8 and DAC CC do not).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
# Some encoders and cameras pad a file after its end marker.
_TAIL = 64


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG, PNG, GIF, BMP or WebP header; None if unreadable."""
    if data.startswith(_JPEG):
        return _jpeg_size(data)
    if data.startswith(_PNG):
        if data[12:16] != b"IHDR" or len(data) < 24:
            return None
        return _be(data, 16, 4), _be(data, 20, 4)
    if data.startswith(b"GIF8"):
        if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 10:
            return None
        return _le(data, 6, 2), _le(data, 8, 2)
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
    width, height = size
    if width < 1 or height < 1:
        return f"image of {width}×{height} pixels"
    if width * height > max_pixels:
        return (
            f"image of {width}×{height} pixels is larger than {max_pixels:,} pixels"
            " (decompression bomb?)"
        )
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


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position, length = 2, len(data)
    while position + 9 <= length:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in _JPEG_SOF:
            return _be(data, position + 7, 2), _be(data, position + 5, 2)
        segment = _be(data, position + 2, 2)
        if segment < 2:
            return None
        position += 2 + segment
    return None


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
