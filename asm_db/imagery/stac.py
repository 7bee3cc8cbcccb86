"""Searching a STAC API for the items of a composite, and refusing what cannot be composited.

pystac-client does the search (paging included); each item that comes back is checked before
any pixel is read: every asset named is there, has an http(s) href when the API is remote
(no local file a stranger's API names), `raster:bands` numbers are finite, and each href is
allowed by `--allow-hosts`. A failure names the item and the asset, in one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from asm_db.errors import AsmdbError, InputError
from asm_db.imagery.hosts import check_location
from asm_db.imagery.read import _raster_band

MAX_ITEMS = 10_000  # a search that finds more is refused: narrow the area or the period


@dataclass(frozen=True)
class ItemBands:
    """One item's assets as read: href per asset, its scale, offset and nodata."""

    item_id: str
    datetime: str | None
    hrefs: dict[str, str]
    scale: dict[str, float]
    offset: dict[str, float]
    nodata: dict[str, float | None]


@dataclass(frozen=True)
class SearchResult:
    items: list  # pystac.Item, the ones used
    bands: list[ItemBands]
    skipped_for_cloud: int
    query: dict


def check_bbox(bbox) -> tuple[float, float, float, float]:
    """W,S,E,N in degrees, refusing an area across the antimeridian or outside the globe."""
    w, s, e, n = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise AsmdbError(f"--bbox {w},{s},{e},{n}: expected finite numbers")
    if w > e:
        raise AsmdbError(
            f"--bbox {w},{s},{e},{n} crosses the antimeridian (west > east); "
            "make one composite on each side of it"
        )
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise AsmdbError(f"--bbox {w},{s},{e},{n}: expected W < E in -180..180, S < N in -90..90")
    return w, s, e, n


def _is_remote(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


def _item_bands(item, assets: list[str], api_url: str, hosts) -> ItemBands:
    hrefs, scale, offset, nodata = {}, {}, {}, {}
    for name in assets:
        where = f"{api_url} (item '{item.id}', asset '{name}')"
        asset = item.assets.get(name)
        if asset is None:
            have = ", ".join(sorted(item.assets)) or "none"
            raise InputError(api_url, f"item '{item.id}' has no asset '{name}' (it has: {have})")
        href = asset.href
        if not isinstance(href, str) or not href:
            raise InputError(where, "has no href")
        if _is_remote(api_url) and not _is_remote(href):
            raise InputError(
                where,
                f"href {href!r:.80} is not an http(s) URL; a remote API's local files are refused",
            )
        check_location(href, where, hosts)
        raster = _raster_band(asset.extra_fields.get("raster:bands"), where)
        hrefs[name] = href
        scale[name] = 1.0 if raster["scale"] is None else raster["scale"]
        offset[name] = 0.0 if raster["offset"] is None else raster["offset"]
        nodata[name] = raster["nodata"]
    dt = item.datetime or item.common_metadata.start_datetime
    return ItemBands(item.id, dt.isoformat() if dt else None, hrefs, scale, offset, nodata)


def _unreachable(exc: BaseException) -> bool:
    """Whether a pystac-client error wraps a failed connection (no server, refused, timed out)."""
    from requests.exceptions import ConnectionError, Timeout

    text, seen, link = str(exc), set(), exc
    while link is not None and id(link) not in seen:
        if isinstance(link, ConnectionError | Timeout):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return "NewConnectionError" in text or "Max retries exceeded" in text


def search_items(
    api_url: str,
    collection: str,
    bbox,
    period: tuple[date, date],
    assets: list[str],
    *,
    max_cloud: float | None = None,
    hosts: frozenset[str] | None = None,
) -> SearchResult:
    """The items of `collection` meeting `bbox` within `period`, those above `max_cloud`
    percent of cloud skipped and counted; each checked (see the module)."""
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    check_location(api_url, f"--stac-api {api_url}", hosts)
    start, end = period
    when = f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z"
    query = {
        "stac_api": api_url,
        "collection": collection,
        "bbox": list(bbox),
        "datetime": when,
        "max_cloud": max_cloud,
        "assets": list(assets),
    }
    try:
        client = Client.open(api_url)
        search = client.search(collections=[collection], bbox=list(bbox), datetime=when, limit=100)
        found = []
        for item in search.items():
            found.append(item)
            if len(found) > MAX_ITEMS:
                raise AsmdbError(
                    f"the search finds more than {MAX_ITEMS:,} items; narrow the area or the period"
                )
    except AsmdbError:
        raise
    except APIError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if _unreachable(exc):
            raise AsmdbError(f"--stac-api {api_url}: cannot search it, unreachable") from None
        raise AsmdbError(
            f"--stac-api {api_url}: the API refused the search ({first:.200})"
        ) from None
    except Exception as exc:  # requests' and pystac's errors for an unreachable or broken API
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AsmdbError(f"--stac-api {api_url}: cannot search it ({first:.200})") from None
    if not found:
        raise AsmdbError(
            f"--stac-api {api_url}: no items of collection '{collection}' meet the area "
            f"in {start}/{end}"
        )
    used, skipped = [], 0
    for item in found:
        cover = item.properties.get("eo:cloud_cover")
        if max_cloud is not None and isinstance(cover, int | float) and cover > max_cloud:
            skipped += 1
            continue
        used.append(item)
    if not used:
        raise AsmdbError(
            f"--stac-api {api_url}: all {skipped} items of '{collection}' have more than "
            f"{max_cloud:g}% cloud; raise --max-cloud"
        )
    bands = [_item_bands(item, assets, api_url, hosts) for item in used]
    return SearchResult(used, bands, skipped, query)
