"""The week view as a PNG (Pillow) for chat surfaces (Slack App Home, Teams cards): white free, blue busy.

Only free/busy is drawn; nothing about what a busy time is.  ``GET /coach/<handle>/week.png?start=YYYY-MM-DD&tz=Zone``
(optional ``length``) serves it; the image is always ``PNG_SIZE``.
"""

from __future__ import annotations

import asyncio
import io
from datetime import date

from aiohttp import web
from PIL import Image, ImageDraw, ImageFont

from bot.adapters.web.render import WeekView
from bot.scheduling.model import load_zone

__all__ = ["PNG_SIZE", "register", "render_week_png"]

PNG_SIZE = (800, 600)

_BG = (246, 247, 251)
_CLOSED = (230, 233, 240)
_FREE = (255, 255, 255)
_BUSY = (47, 111, 223)
_LINE = (190, 198, 212)
_INK = (29, 35, 48)
_MUTED = (91, 100, 117)

_TOP, _BOTTOM, _LEFT, _RIGHT = 64, 40, 56, 12


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def render_week_png(view: WeekView, *, heading: str = "") -> bytes:
    """Draw ``view`` (one column per day, rows by local time) as PNG bytes of ``PNG_SIZE``."""
    width, height = PNG_SIZE
    image = Image.new("RGB", PNG_SIZE, _BG)
    draw = ImageDraw.Draw(image)
    title, small = _font(18), _font(12)
    draw.text((_LEFT, 10), (heading or f"Free times {view.title}").replace("\u2013", "-"), fill=_INK, font=title)
    draw.text((_LEFT, 34), f"{view.timezone} · {view.duration_minutes}-minute sessions", fill=_MUTED, font=small)
    zone = load_zone(view.timezone)
    minutes = [
        (c.start.astimezone(zone).hour * 60 + c.start.astimezone(zone).minute) for d in view.days for c in d.cells
    ]
    grid_w = width - _LEFT - _RIGHT
    grid_h = height - _TOP - _BOTTOM - 18
    col_w = grid_w / 7
    if minutes:
        first = min(minutes) // 60 * 60
        last = -(-(max(minutes) + view.step_minutes) // 60) * 60
    else:
        first, last = 9 * 60, 17 * 60
    span = max(last - first, 60)

    def y_of(minute: int) -> float:
        return _TOP + 18 + (minute - first) * grid_h / span

    for i, day in enumerate(view.days):
        x0 = _LEFT + i * col_w
        draw.text((x0 + 4, _TOP), day.label, fill=_INK, font=small)
        draw.rectangle((x0 + 2, y_of(first), x0 + col_w - 2, y_of(first + span)), fill=_CLOSED)
        for cell in day.cells:
            local = cell.start.astimezone(zone)
            m = local.hour * 60 + local.minute
            box = (x0 + 3, y_of(m) + 1, x0 + col_w - 3, y_of(m + view.step_minutes) - 1)
            draw.rectangle(box, fill=_FREE if cell.free else _BUSY, outline=_LINE if cell.free else _BUSY)
    for hour_minute in range(first, first + span + 1, 60):
        y = y_of(hour_minute)
        draw.line((_LEFT - 4, y, width - _RIGHT, y), fill=_LINE)
        draw.text((6, y - 7), f"{hour_minute // 60 % 24:02d}:00", fill=_MUTED, font=small)
    legend_y = height - _BOTTOM + 10
    draw.rectangle((_LEFT, legend_y, _LEFT + 14, legend_y + 14), fill=_FREE, outline=_LINE)
    draw.text((_LEFT + 20, legend_y), "free", fill=_INK, font=small)
    draw.rectangle((_LEFT + 70, legend_y, _LEFT + 84, legend_y + 14), fill=_BUSY)
    draw.text((_LEFT + 90, legend_y), "busy", fill=_INK, font=small)
    if not view.free_count:
        draw.text((_LEFT + 150, legend_y), "No free times this week", fill=_MUTED, font=small)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


async def week_png(request: web.Request) -> web.Response:
    from bot.adapters.web.booking import coach_week_view, find_coach
    from bot.adapters.web.pages import get_app

    app = get_app(request)
    coach = await find_coach(app, request.match_info["handle"])
    if coach is None:
        raise web.HTTPNotFound(text="There is no coach with that name.\n")
    tz = request.query.get("tz", "").strip() or coach.settings.timezone
    try:
        load_zone(tz)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    raw_start = request.query.get("start", "").strip()
    try:
        start = date.fromisoformat(raw_start) if raw_start else app.clock().astimezone(load_zone(tz)).date()
    except ValueError:
        raise web.HTTPBadRequest(text=f"bad start {raw_start!r}: expected YYYY-MM-DD\n") from None
    raw_length = request.query.get("length", "").strip()
    length = int(raw_length) if raw_length.isdigit() else coach.settings.session_lengths[0]
    if length not in coach.settings.session_lengths:
        raise web.HTTPBadRequest(text=f"length must be one of {', '.join(map(str, coach.settings.session_lengths))}\n")
    view, _ = await coach_week_view(app, coach, start=start, timezone=tz, length=length)
    heading = f"{coach.person.display_name}: {view.title}".replace("\u2013", "-")
    body = await asyncio.to_thread(render_week_png, view, heading=heading)
    return web.Response(body=body, content_type="image/png", headers={"Cache-Control": "max-age=60"})


def register(server: web.Application) -> None:
    server.router.add_get("/coach/{handle}/week.png", week_png)
