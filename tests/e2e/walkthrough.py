"""Helpers for the walk-through browser tests: console-error capture and page facts."""

from playwright.sync_api import Page

from deployments.actions.services import service_create
from deployments.models import Service
from tests.conftest import FLASK_CONFIG


def capture_console_errors(page: Page) -> list[str]:
    """Every console.error and uncaught page error from now on, as text (the list fills as the page runs)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    return errors


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def draft_service(alice, team, name: str = "flask_demo") -> Service:
    """A saved, never-deployed service: its page renders without the engine."""
    service, _ = service_create(actor=alice, workspace=team, config={**FLASK_CONFIG, "name": name}, deploy=False)
    return service
