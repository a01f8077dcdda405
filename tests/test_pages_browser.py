"""The portal's pages as a person sees them: headless Chromium (Playwright, Debian's /usr/bin/chromium)
on ``territoire serve`` over the test territory of tests/test_pages.py.

The home page and a geo dataset's page: the map draws its features, the charts are there, a filter
applied in the preview asks the API, the version selector shows an earlier version; every request the
pages make goes to the portal's own origin. Screenshots at 1280 px and 390 px land in tests/artifacts/
(git-ignored: look at them after a run).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import _create_database, _drop_database
from portal_territory import serving
from test_pages import build_pages_territory
from test_reports_browser import CONTRAST_JS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",  # WebGL through the CPU: MapLibre needs it, the machine has no GPU
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAP_DRAWN = (
    "() => { const c = document.getElementById('carte');"
    " return c && (c.dataset.etat === 'erreur'"
    " || (c.dataset.etat === 'dessinee' && +c.dataset.elements > 0)); }"
)


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Chromium absent (/usr/bin/chromium)")
    home = tmp_path_factory.mktemp("pages-browser-home")
    name = f"territoire_test_{uuid.uuid4().hex[:10]}"
    url = _create_database(name)
    build_pages_territory(home, url)
    with serving(home, url) as base:
        yield {"home": home, "url": url, "base": base}
    _drop_database(name)


@pytest.fixture(scope="module")
def browser(territory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Visit:
    """A browser tab that records every request and every console message of the pages it opens."""

    def __init__(self, browser: object, base: str, width: int, height: int = 900) -> None:
        mobile = width < 600
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile
        )
        self.page = self.context.new_page()
        self.base = base
        self.requests: list[str] = []
        self.console: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def open(self, path: str) -> object:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        return self.page

    def foreign(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(self.base + "/") or u.startswith("blob:"))]

    def problems(self) -> list[str]:
        """Console errors and CSP violations (the GPU driver's performance notes are not problems)."""
        return [
            m for m in self.console if m.startswith(("error", "pageerror")) or "Content Security Policy" in m
        ]

    def no_overflow(self) -> bool:
        return self.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_home_page_in_a_browser(browser, territory, width):
    visit = Visit(browser, territory["base"], width)
    try:
        page = visit.open("/")
        assert page.get_by_role("heading", level=1).is_visible()
        cards = page.locator(".carte-jeu")
        assert cards.count() == 2
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Aller au contenu"
        page.get_by_label("Rechercher un jeu de données (titre, mot-clé)").fill("défibrillateurs")
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_url("**/?q=*")
        assert page.locator(".carte-jeu").count() == 1
        page.get_by_role("link", name="tout afficher").click()
        page.wait_for_load_state("load")
        assert visit.no_overflow(), page.evaluate("() => document.documentElement.scrollWidth")
        assert page.evaluate(CONTRAST_JS) == []
        visit.shot(f"portail-accueil-{width}.png")
        assert visit.foreign() == []
        assert visit.problems() == []
    finally:
        visit.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_geo_dataset_page_map_charts_filter_and_earlier_version(browser, territory, width):
    visit = Visit(browser, territory["base"], width)
    try:
        page = visit.open("/jeux-de-donnees/dae")
        # the map draws the defibrillators over the communes, from the portal's own tiles
        page.wait_for_function(MAP_DRAWN, timeout=60_000)
        carte = page.locator("#carte")
        assert carte.get_attribute("data-etat") == "dessinee", carte.get_attribute("data-erreur")
        assert int(carte.get_attribute("data-elements")) > 0
        tiles = [u for u in visit.requests if "/tiles/dae/" in u]
        assert tiles and all("version=2" in u for u in tiles)
        assert any(u.endswith("/carte/territoire.geojson") for u in visit.requests)
        # the charts are there, drawn
        charts = page.locator("#graphique figure svg")
        assert charts.count() >= 2 and charts.first.is_visible()
        assert charts.first.bounding_box()["width"] > 100
        # a filter in the preview asks the API and redraws the rows
        before = page.locator("#apercu tbody tr").count()
        assert before > 0
        page.locator("#champ").select_option("producer")
        page.locator("#operateur").select_option("exact")
        page.locator("#valeur").fill("joue-les-tours")
        with page.expect_response(lambda r: "/api/datasets/dae/records" in r.url) as answer:
            page.get_by_role("button", name="Appliquer").click()
        asked = parse_qs(urlparse(answer.value.url).query)
        assert asked["producer__exact"] == ["joue-les-tours"] and asked["version"] == ["2"]
        page.wait_for_function("() => !document.getElementById('apercu').hasAttribute('aria-busy')")
        column = page.locator("#apercu thead th").evaluate_all(
            "ths => ths.findIndex(th => th.dataset.champ === 'producer')"
        )
        producers = page.locator(f"#apercu tbody tr td:nth-child({column + 1})").all_inner_texts()
        assert producers and set(producers) == {"joue-les-tours"}
        assert "lignes affichées" in page.locator("#apercu-etat").inner_text() or len(producers) == 1
        assert "champ=producer" in page.url
        if width == 1280:
            visit.shot("portail-jeu-dae-1280.png")
        # the version selector shows the dataset as it was
        page.locator("#version").select_option("1")
        page.get_by_role("button", name="Afficher").click()
        page.wait_for_url("**/jeux-de-donnees/dae?version=1")
        assert page.locator("#version-ancienne").is_visible()
        assert "Vous consultez la version 1" in page.locator("#version-ancienne").inner_text()
        page.wait_for_function(MAP_DRAWN, timeout=60_000)
        assert page.locator("#carte").get_attribute("data-etat") == "dessinee"
        assert any("/tiles/dae/" in u and "version=1" in u for u in visit.requests)
        assert visit.no_overflow(), page.evaluate("() => document.documentElement.scrollWidth")
        assert page.evaluate(CONTRAST_JS) == []
        visit.shot(f"portail-jeu-dae-v1-{width}.png")
        # every request the pages made: to the portal itself
        assert visit.foreign() == []
        assert visit.problems() == []
    finally:
        visit.close()


def test_producer_page_in_a_browser(browser, territory):
    visit = Visit(browser, territory["base"], 390)
    try:
        page = visit.open("/producteurs/tours")
        page.wait_for_function(MAP_DRAWN, timeout=60_000)
        assert page.locator("#carte").get_attribute("data-etat") == "dessinee"
        assert page.locator("#graphique svg").count() == 1
        assert visit.no_overflow(), page.evaluate("() => document.documentElement.scrollWidth")
        assert page.evaluate(CONTRAST_JS) == []
        visit.shot("portail-producteur-tours-390.png")
        assert visit.foreign() == []
        assert visit.problems() == []
    finally:
        visit.close()
