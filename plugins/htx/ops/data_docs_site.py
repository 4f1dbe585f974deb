"""How the Data Docs pages are rendered: escaped, with the parse rules shown, and offline.

* Escaped. GX 1.24's templates put some strings into the page raw (the breadcrumb, the cells of
  the unexpected-values table, the index's table data) and escape others (string-template
  parameters). Every string a source delivered — file names, values, observed column names — is
  therefore escaped once, by `escaped()`, before GX sees it, and the pages of results are rendered
  by views that do not escape again (`EscapedPageView`, `EscapedIndexPageView`).
* Parse rules. Rows the contract parser quarantined (`31/02/2024`, `1.2.3`, a row cut short) never
  reach the suite; they are shown as results of `expect_column_values_to_parse_by_contract`, one
  per field and parser rule, with their count and a sample (rendered here, never run).
* Offline. The pages load their stylesheets, scripts, fonts and logo from public CDNs, which a
  provincial office's network cannot reach (its index then lists nothing: the table is drawn by
  bootstrap-table). The exact versions they name are vendored in `include/data_docs_assets/` (npm
  packages, licences beside them; its README says how they were fetched); `make_offline` copies
  them into the site and points every page at them. A page that would still load anything from
  the network fails the build: a GX upgrade that names a new asset must be vendored, never
  silently go back online.
"""
from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shutil
from pathlib import Path
from typing import Any, ClassVar

from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
from great_expectations.render.renderer.renderer import renderer
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

from htx.paths import INCLUDE

ASSETS_DIR = INCLUDE / "data_docs_assets"
VENDOR_DIR = Path("static") / "vendor"   # inside the site
GX_LOGO = Path("static") / "images" / "logo-long.png"   # shipped by GX into every site

# Every resource GX 1.24.1's pages load, and its vendored copy (under ASSETS_DIR). The two
# unminified stylesheets the pages name are served by the same version's minified file.
VENDORED = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap@4.3.1/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap@4.3.1/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table@1.19.1/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table@1.19.1/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        "bootstrap-table@1.19.1/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        "bootstrap-table@1.19.0/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        "bootstrap-table@1.19.0/bootstrap-table-filter-control.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js@1.12.9/popper.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker@1.9.0/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker@1.9.0/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome-free@6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark@1.1.0/bootstrap-prefers-dark.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega@5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite@5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed@6.29.0/vega-embed.min.js",
}
# GX's logos (light and dark), fetched with the data context's id appended: its own copy instead.
LOGO_URL = re.compile(r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
                      r"[^\"')\s]*")
INTEGRITY = re.compile(r'(?:src|href)="([^"]+)"\s+integrity="(sha\d+)-([^"]+)"')
SRI_ATTRIBUTES = re.compile(r'\s+(?:integrity="[^"]*"|crossorigin="[^"]*")')
# What a browser fetches by itself: scripts, stylesheets and icons, images, CSS url()s.
NETWORK_LOAD = re.compile(r'<script[^>]*\ssrc="(https?:[^"]*)"|<link[^>]*\shref="(https?:[^"]*)"'
                          r"|<img[^>]*\ssrc=\"(https?:[^\"]*)\"|url\(['\"]?(https?:[^'\")]*)")


class NetworkAssetLeft(RuntimeError):
    """A generated page would load something from the network."""


def escaped(value: Any) -> Any:
    """Every string inside `value` HTML-escaped (quotes too: some land in attributes or in the
    index's script data); other values as they are."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {key: escaped(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [escaped(item) for item in value]
    return value


class EscapedPageView(DefaultJinjaPageView):
    """A results page whose strings were all escaped by `escaped()`: not escaped twice."""

    @staticmethod
    def _escape_template_param_value(value: Any) -> Any:
        return value


class EscapedIndexPageView(DefaultJinjaIndexPageView):
    """The index, whose results' strings were all escaped by `escaped()`: not escaped twice."""

    @staticmethod
    def _escape_template_param_value(value: Any) -> Any:
        return value


class ExpectColumnValuesToParseByContract(ColumnMapExpectation):
    """A contract parser's conversion rule (`htx.feeds.<feed>`), e.g. `is_date` on `filed_on`.
    Shown in Data Docs with the rows it quarantined; never run by GX (the parser runs it)."""

    rule: str
    map_metric: ClassVar[str] = "column_values.htx_parsed_by_contract"

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(cls, configuration=None, result=None, runtime_configuration=None,
                               **kwargs) -> list[RenderedStringTemplateContent]:
        params = {"column": configuration.kwargs.get("column"),
                  "rule": configuration.kwargs.get("rule"),
                  "message": (configuration.meta or {}).get("message", "")}
        return [RenderedStringTemplateContent(
            content_block_type="string_template",
            string_template={
                "template": "$column values must pass the contract parser's rule $rule,"
                            " or the row is quarantined: $message",
                "params": params, "styling": (runtime_configuration or {}).get("styling")})]


def site_config(out: Path) -> dict:
    """The Data Docs site: `out` itself, results pages and index rendered by the escaped views."""
    view = {"module_name": __name__}
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(out)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "view": {**view, "class_name": "EscapedIndexPageView"}},
        "site_section_builders": {"validations": {"view": {**view,
                                                           "class_name": "EscapedPageView"}}},
    }


def _copy_assets(target: Path) -> None:
    """The vendored assets, copied with the modes the process's umask gives (owner-only under the
    project's commands, htx.devenv) — not the repository's 0644/0755, which copytree keeps."""
    for source in sorted(ASSETS_DIR.rglob("*")):
        copy = target / source.relative_to(ASSETS_DIR)
        if source.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)


def make_offline(site: Path) -> int:
    """Copy the vendored assets into the site and point its pages at them; returns the number of
    pages rewritten. Raises NetworkAssetLeft when a page would still load from the network."""
    _copy_assets(site / VENDOR_DIR)
    pages = [p for p in site.rglob("*.html") if ".gx_project" not in p.relative_to(site).parts]
    for page in pages:
        text = _offline(page.read_text(encoding="utf-8"), site, page)
        left = [next(filter(None, found)) for found in NETWORK_LOAD.findall(text)]
        if left:
            raise NetworkAssetLeft(f"Data Docs page would load {left[0]} from the network"
                                   f" (vendor it in {ASSETS_DIR}): {page}")
        page.write_text(text, encoding="utf-8")
    return len(pages)


def _offline(text: str, site: Path, page: Path) -> str:
    def local(target: Path) -> str:
        return Path(os.path.relpath(site / target, page.parent)).as_posix()

    for url, algorithm, digest in INTEGRITY.findall(text):
        if url in VENDORED:
            _check_integrity(ASSETS_DIR / VENDORED[url], algorithm, digest, url)
    text = SRI_ATTRIBUTES.sub("", text)   # checked above; a file:// page cannot check them itself
    for url, asset in VENDORED.items():
        text = text.replace(f'"{url}"', f'"{local(VENDOR_DIR / asset)}"')
    return LOGO_URL.sub(local(GX_LOGO), text)


def _check_integrity(path: Path, algorithm: str, digest: str, url: str) -> None:
    found = base64.b64encode(hashlib.new(algorithm, path.read_bytes()).digest()).decode()
    if found != digest:
        raise NetworkAssetLeft(f"vendored {path} does not match the {algorithm} integrity hash"
                               f" the pages give for {url}")
