"""The tray icon, drawn with Pillow for each state (crisp at any size, no files to
find at run time); ``scripts/make-icons`` writes the same drawings to ``assets/``
(PNG sources, ``.ico`` and ``.icns`` for packaging)."""

from __future__ import annotations

from enum import StrEnum

from PIL import Image, ImageDraw

from tray_app.core.events import ChannelState
from tray_app.core.views import NothingPlanned, Status

BRAND = (214, 0, 28, 255)  # hh.ru red
WHITE = (255, 255, 255, 255)


class IconState(StrEnum):
    OK = "ok"
    RAISING = "raising"
    ATTENTION = "attention"  # the user must act: sign in, captcha, Telegram, nothing planned
    ERROR = "error"  # a run of failures
    PAUSED = "paused"


_BADGES: dict[IconState, tuple[int, int, int, int] | None] = {
    IconState.OK: (46, 204, 64, 255),
    IconState.RAISING: (0, 116, 217, 255),
    IconState.ATTENTION: (255, 170, 0, 255),
    IconState.ERROR: (20, 20, 20, 255),
    IconState.PAUSED: None,
}


def draw_icon(state: IconState, size: int = 64) -> Image.Image:
    """A red rounded square with a white up arrow; a corner badge tells the state."""
    scale = 4  # draw large, then downsample: smooth edges without antialiasing support
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    body = (128, 128, 128, 255) if state is IconState.PAUSED else BRAND
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=body)
    u = big / 16
    draw.polygon([(8 * u, 2.5 * u), (13 * u, 8 * u), (3 * u, 8 * u)], fill=WHITE)
    draw.rectangle((6.3 * u, 7.5 * u, 9.7 * u, 13.5 * u), fill=WHITE)
    badge = _BADGES[state]
    if state is IconState.PAUSED:
        draw.rectangle((9.5 * u, 9.5 * u, 11.3 * u, 15.5 * u), fill=(40, 40, 40, 255))
        draw.rectangle((12.7 * u, 9.5 * u, 14.5 * u, 15.5 * u), fill=(40, 40, 40, 255))
    elif badge is not None:
        box = (9.2 * u, 9.2 * u, 15.8 * u, 15.8 * u)
        draw.ellipse(box, fill=badge, outline=WHITE, width=int(0.7 * u))
        if state in (IconState.ATTENTION, IconState.ERROR):
            mark = (0, 0, 0, 255) if state is IconState.ATTENTION else WHITE
            draw.rectangle((12.1 * u, 10.6 * u, 12.9 * u, 13.4 * u), fill=mark)
            draw.rectangle((12.1 * u, 13.9 * u, 12.9 * u, 14.6 * u), fill=mark)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def icon_state(status: Status, raising: bool) -> IconState:
    """The state the icon shows for the running instance's status."""
    if status.paused:
        return IconState.PAUSED
    if raising:
        return IconState.RAISING
    if status.auth_state.needs_user or status.telegram.state is ChannelState.MISCONFIGURED:
        return IconState.ATTENTION
    if status.nothing_planned() not in (None, NothingPlanned.WAITING):
        return IconState.ATTENTION  # nothing will be raised: never shown as "ok"
    if status.failing:
        return IconState.ERROR
    return IconState.OK
