"""How a featurize run turns pixels into values: scale, offset, mask band, mask values and the
minimum valid share, decided once from the options given, the imagery's metadata and the
feature set named by `--like`.

Each setting comes from the first of: an explicit option; the imagery's own metadata (scale
and offset only: a file's GDAL scale/offset or a STAC asset's `raster:bands`, where they say
anything other than 1 and 0); the `--like` set, so a later period is read as the first one
was; else the default. `decide_processing` is the one place this is decided, whatever opened
the imagery; `Processing.notes` says where each setting came from, one line each.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine

from asm_db.db.engine import check_ready, connect, driver
from asm_db.errors import AsmdbError
from asm_db.features.write import get_provenance
from asm_db.imagery.read import Imagery, per_band

DEFAULT_MIN_VALID = 0.5
# Where a setting came from, as the notes and the provenance name it.
GIVEN, METADATA, LIKE, DEFAULT = "option", "metadata", "like", "default"


@dataclass(frozen=True)
class ProcessingOptions:
    """The processing asked for explicitly (on the command line); None where not given."""

    scale: list[float] | None = None
    offset: list[float] | None = None
    mask_band: str | None = None
    mask_values: tuple[float, ...] | None = None
    min_valid: float | None = None


@dataclass(frozen=True)
class LikeSet:
    """The processing a featurized set was made with, for `--like`."""

    name: str
    scale: tuple[float, ...]
    offset: tuple[float, ...]
    mask_band: str | None
    mask_values: tuple[float, ...]
    min_valid: float
    had_mask: bool  # a set made before the mask band's name was recorded has only this

    @classmethod
    def from_provenance(cls, name: str, provenance: dict) -> LikeSet:
        p = provenance["parameters"]
        return cls(
            name,
            tuple(p["scale"]),
            tuple(p["offset"]),
            provenance.get("mask_band"),
            tuple(p.get("mask_values", ())),
            p["min_valid"],
            bool(p.get("mask_band")),
        )


@dataclass(frozen=True)
class Processing:
    """The processing decided for one run, and where each setting came from."""

    scale: tuple[float, ...]
    offset: tuple[float, ...]
    mask_band: str | None
    mask_values: tuple[float, ...]
    min_valid: float
    sources: dict[str, str]
    notes: tuple[str, ...]

    def apply(self, imagery: Imagery) -> Imagery:
        """The imagery read with this scale, offset and mask values."""
        return replace(imagery, scale=self.scale, offset=self.offset, mask_values=self.mask_values)


def load_like(pg, name: str) -> dict:
    """The provenance of an existing featurized set, to reuse its method, parameters, filters
    and processing."""
    found = get_provenance(pg, name)
    if found is None:
        raise AsmdbError(f"--like {name}: no feature set named '{name}'")
    provenance = found[2]
    if "parameters" not in provenance:
        raise AsmdbError(f"--like {name}: feature set '{name}' was not made by asmdb featurize")
    return provenance


def read_like(engine: Engine, name: str) -> LikeSet:
    """The processing of the featurized set `name`, read in a transaction of its own."""
    with connect(engine) as conn:
        check_ready(conn)
        return LikeSet.from_provenance(name, load_like(driver(conn), name))


def open_processed(
    open_imagery: Callable[[str | None], Imagery],
    given: ProcessingOptions,
    like: LikeSet | None = None,
) -> tuple[Imagery, Processing]:
    """The imagery `open_imagery(mask_band)` opens (its metadata only), read with the
    processing `decide_processing` decides; every way of naming imagery goes through here."""
    imagery = open_imagery(mask_band_for(given, like))
    processing = decide_processing(given, imagery, like)
    return processing.apply(imagery), processing


def mask_band_for(given: ProcessingOptions, like: LikeSet | None) -> str | None:
    """The mask band to open the imagery with: the one given, else the `--like` set's."""
    if given.mask_band is not None:
        return given.mask_band
    if like is None:
        return None
    if like.had_mask and like.mask_band is None:
        raise AsmdbError(
            f"--like {like.name}: feature set '{like.name}' was made with a mask band but does "
            "not record which; give --mask-band (and --mask-values)"
        )
    return like.mask_band


def decide_processing(
    given: ProcessingOptions, imagery: Imagery, like: LikeSet | None = None
) -> Processing:
    """The processing of a run over `imagery` (opened with the mask band `mask_band_for` names):
    each setting from the option given, else the imagery's metadata (scale, offset), else the
    `like` set's, else the default."""
    n = len(imagery.band_names)
    if like is not None and len(like.scale) != n:
        raise AsmdbError(
            f"--like {like.name}: feature set '{like.name}' was made from {len(like.scale)} "
            f"bands, this imagery has {n}"
        )
    first = imagery.scenes[0]
    sources, notes, values = {}, [], {}

    def choose(setting: str, option: str, explicit, metadata, from_like, default):
        if explicit is not None:
            value, source = explicit, GIVEN
        elif metadata is not None:
            value, source = metadata, METADATA
        elif like is not None:
            value, source = from_like, LIKE
        else:
            value, source = default, DEFAULT
        values[setting], sources[setting] = value, source
        notes.append(_note(setting, option, value, source, like))

    stated_scale = tuple(b.scale for b in first.bands)
    stated_offset = tuple(b.offset for b in first.bands)
    choose(
        "scale",
        "--scale",
        per_band("--scale", given.scale, (), n, first.name) if given.scale else None,
        stated_scale if any(v != 1 for v in stated_scale) else None,
        like.scale if like else None,
        (1.0,) * n,
    )
    choose(
        "offset",
        "--offset",
        per_band("--offset", given.offset, (), n, first.name) if given.offset else None,
        stated_offset if any(v != 0 for v in stated_offset) else None,
        like.offset if like else None,
        (0.0,) * n,
    )
    for band, value in enumerate(values["scale"] + values["offset"]):
        if not math.isfinite(value):  # metadata: an option's values were checked above
            what = "scale" if band < n else "offset"
            raise AsmdbError(
                f"{first.name}: band {band % n + 1} has {what} {value} in its metadata; "
                f"give --{what}"
            )
    if mask_band_for(given, like) is not None:
        choose(
            "mask_band",
            "--mask-band",
            given.mask_band,
            None,
            like.mask_band if like else None,
            None,
        )
        choose(
            "mask_values",
            "--mask-values",
            given.mask_values,
            None,
            like.mask_values if like else None,
            (),
        )
    else:
        values["mask_band"], values["mask_values"] = None, given.mask_values or ()
    choose(
        "min_valid",
        "--min-valid",
        given.min_valid,
        None,
        like.min_valid if like else None,
        DEFAULT_MIN_VALID,
    )
    return Processing(
        tuple(values["scale"]),
        tuple(values["offset"]),
        values["mask_band"],
        tuple(values["mask_values"]),
        values["min_valid"],
        sources,
        tuple(notes),
    )


def _number(value: float, fraction: bool) -> str:
    """1/255 for a scale of 0.00392..., 1/10000 for 1e-4; else the shortest decimal."""
    if fraction and 0 < value < 1:
        inverse = 1 / value
        if abs(inverse - round(inverse)) < 1e-6 * inverse:
            return f"1/{round(inverse)}"
    return f"{value:g}"


def _values(value, fraction: bool = False) -> str:
    if value is None or value == ():
        return "none"
    if not isinstance(value, tuple):
        return _number(value, fraction) if isinstance(value, float) else str(value)
    if len(set(value)) == 1:
        return _number(value[0], fraction)
    return ",".join(_number(v, fraction) for v in value)


def _note(setting: str, option: str, value, source: str, like: LikeSet | None) -> str:
    name = setting.replace("_", " ")
    where = {
        GIVEN: f"from {option}",
        METADATA: "from the imagery's metadata",
        LIKE: f"from feature set {like.name if like else ''} (--like)",
        DEFAULT: f"by default (no {option}"
        + (", nothing in the imagery's metadata" if setting in ("scale", "offset") else "")
        + ")",
    }[source]
    return f"{name} {_values(value, setting == 'scale')} {where}"
