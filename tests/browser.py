"""Headless Chromium for the web map tests: the browser fixture and the helpers that open the
map, wait for it and read its pixels."""

from __future__ import annotations

import io
import json
import time

import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
BACKGROUND = (0xF4, 0xF4, 0xF2)
OPACITY = 0.85


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_map(browser, site, watch=None):
    """A page on the map, drawn; its console errors are collected in page.errors. `site` is a
    site fixture's dict or its server; `watch(page)` runs before the page loads."""
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    if watch is not None:
        watch(page)
    server = site["server"] if isinstance(site, dict) else site
    page.goto(server.url + "/")
    wait_for(page, "window.asmdbReady === true")
    return page


def wait_for(page, expression: str, timeout: float = 90) -> None:
    # page.evaluate, not wait_for_function: the page's CSP forbids the eval the latter uses.
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(expression):
                return
        except Error as exc:  # the page is navigating (a reload after login): ask again
            if "context was destroyed" not in str(exc):
                raise
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.25)


def settle(page) -> None:
    page.evaluate(
        "window.asmdbIdle = false; window.asmdbMap.once('idle', () => { window.asmdbIdle = true; }); window.asmdbMap.triggerRepaint()"
    )
    wait_for(page, "window.asmdbIdle === true")


def pixel(page, x: float, y: float) -> tuple[int, int, int]:
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    return image.getpixel((round(x), round(y)))


def shown_colour(page, where, colour, tolerance: int = 14, timeout: float = 30):
    """The colour at `where()` (screen x, y, asked again each time) once it is `colour`, or the
    last seen after `timeout` seconds: raster tiles may be drawn a frame or two after the map
    says it is idle."""
    deadline = time.monotonic() + timeout
    while True:
        shown = pixel(page, *where())
        if close(shown, colour, tolerance) or time.monotonic() > deadline:
            return shown
        time.sleep(0.25)


def class_rgb(probability: float) -> tuple[int, int, int]:
    """The colour of a probability's class, unblended."""
    from asm_db.server.classes import probability_classes

    color = next(c.color for c in reversed(probability_classes()) if probability >= c.lower)
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def expected_rgb(probability: float) -> tuple[int, int, int]:
    """A tile's colour on the page: its class's at the layer's opacity over the background."""
    return tuple(
        round(OPACITY * c + (1 - OPACITY) * b)
        for c, b in zip(class_rgb(probability), BACKGROUND, strict=True)
    )


def close(a, b, tolerance: int = 14) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def screen_position(page, lon: float, lat: float) -> tuple[float, float]:
    point = page.evaluate(
        f"(() => {{ const p = window.asmdbMap.project([{lon}, {lat}]); const r = window.asmdbMap.getCanvas().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }})()"
    )
    return point[0], point[1]


def set_input(page, selector: str, value: str, event: str = "input") -> None:
    """Set a slider's or select's value and fire the event the page listens to."""
    page.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        f" e.value = {json.dumps(value)}; e.dispatchEvent(new Event({json.dumps(event)})); }})()"
    )
