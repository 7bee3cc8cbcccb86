"""`asmdb featurize` and `asmdb feature-sets`: imagery into feature sets, and what they hold."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from asm_db.cli.common import DatabaseUrl, Yes, confirmation, err, notify, print_table
from asm_db.db.engine import create_engine
from asm_db.errors import AsmdbError
from asm_db.imagery.hosts import ENV as HOSTS_ENV
from asm_db.imagery.limits import DEFAULT_MAX_TILES

app = typer.Typer(help="List, show or delete feature sets.", no_args_is_help=True)


def _numbers(option: str, text: str | None, kind=float) -> list | None:
    if text is None:
        return None
    try:
        return [kind(eval_fraction(v)) for v in text.split(",")]
    except ValueError:
        raise AsmdbError(f"{option} {text!r}: expected numbers separated by commas") from None


def eval_fraction(value: str) -> float:
    """'1/10000' or '0.0001' as a number (no expression evaluation beyond one division)."""
    value = value.strip()
    if "/" in value:
        top, bottom = value.split("/", 1)
        return float(top) / float(bottom)
    return float(value)


def featurize(
    imagery: Annotated[
        list[str] | None,
        typer.Argument(
            help="GeoTIFF/COG files, folders of them, GDAL VRTs, or STAC ItemCollection/catalog "
            "JSON; later inputs win where they overlap (or --imagery NAME)."
        ),
    ] = None,
    *,
    registered: Annotated[
        str | None,
        typer.Option(
            "--imagery",
            help="Registered imagery to featurize (asmdb imagery list), instead of files.",
        ),
    ] = None,
    feature_set: Annotated[str, typer.Option(help="Name of the feature set to create or resume.")],
    method: Annotated[
        str,
        typer.Option(help="rcf (MOSAIKS random convolutional features) or mean (band statistics)."),
    ] = "rcf",
    features: Annotated[int, typer.Option(help="rcf: number of features K (K/2 filters).")] = 4000,
    seed: Annotated[int, typer.Option(help="Seed of the filter bank.")] = 0,
    filters: Annotated[
        str,
        typer.Option(
            help="rcf filter bank: gaussian (N(0,1), bias -1) or patches (ZCA-whitened image patches, bias +1)."
        ),
    ] = "gaussian",
    stats: Annotated[str, typer.Option(help="mean: statistics per band, from mean,std.")] = "mean",
    assets: Annotated[
        str | None, typer.Option(help="STAC: asset names to read as bands, e.g. red,green,blue.")
    ] = None,
    bands: Annotated[
        str | None,
        typer.Option(help="Files: 1-based bands to use (default all but the mask band)."),
    ] = None,
    scale: Annotated[
        str | None,
        typer.Option(
            help="Pixel scale, one or one per band, e.g. 1/10000 (default: from metadata, "
            "else the --like set's, else 1)."
        ),
    ] = None,
    offset: Annotated[
        str | None,
        typer.Option(
            help="Pixel offset after scaling, e.g. -0.1 (default: from metadata, else the "
            "--like set's, else 0)."
        ),
    ] = None,
    mask_band: Annotated[
        str | None,
        typer.Option(
            help="Band number (files) or asset name (STAC) of a mask, e.g. scl (default: the "
            "--like set's, else none)."
        ),
    ] = None,
    mask_values: Annotated[
        str | None,
        typer.Option(
            help="Mask band values to leave out, e.g. 3,8,9,10 (clouds and shadows in SCL; "
            "default: the --like set's)."
        ),
    ] = None,
    min_valid: Annotated[
        float | None,
        typer.Option(
            help="Skip a tile with a smaller share of valid pixels (default: the --like "
            "set's, else 0.5)."
        ),
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="Only tiles meeting W,S,E,N (degrees).")] = None,
    aoi: Annotated[
        str | None, typer.Option(help="Only tiles meeting the shapes of this vector file.")
    ] = None,
    tile_size: Annotated[float, typer.Option(help="Tile edge in degrees (asmdb's grid).")] = 0.01,
    tile_pixels: Annotated[
        int | None,
        typer.Option(help="Pixels along a tile edge (default: native resolution).", min=3),
    ] = None,
    like: Annotated[
        str | None,
        typer.Option(
            help="Reuse the method, parameters and filters of this feature set, and its scale, "
            "offset, mask and minimum valid share unless given or in the imagery's metadata."
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Dates the imagery shows, START/END (default: the items' dates)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Name of the imagery product, e.g. sentinel-2-l2a.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes of a local Dask cluster (default: one per core; "
            "0: compute in this process).",
            min=0,
        ),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="An existing Dask scheduler, e.g. tcp://HOST:8786.")
    ] = None,
    batch_tiles: Annotated[
        int, typer.Option(help="Tiles per batch (one commit each).", min=1)
    ] = 32,
    max_tiles: Annotated[
        int,
        typer.Option(help="Refuse a run that plans more tiles than this (counted first).", min=1),
    ] = DEFAULT_MAX_TILES,
    allow_hosts: Annotated[
        str | None,
        typer.Option(
            help="Fetch only from these hosts, HOST[,HOST...]: a URL (a STAC asset or link) "
            "naming another host is refused before anything is read; local files stay "
            "allowed (default: any host).",
            envvar=HOSTS_ENV,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Compute one feature vector per grid tile from imagery and store it as a feature set.

    Commits batch by batch: a stopped run is resumed by running the same command again.
    """
    from asm_db.imagery.featurize import Method
    from asm_db.imagery.featurize import featurize as run
    from asm_db.imagery.hosts import parse_hosts
    from asm_db.imagery.processing import ProcessingOptions, open_processed, read_like
    from asm_db.imagery.read import open_imagery

    box = _numbers("--bbox", bbox)
    if box is not None and (len(box) != 4 or box[0] >= box[2] or box[1] >= box[3]):
        raise AsmdbError(f"--bbox {bbox!r}: expected W,S,E,N with W < E and S < N")
    engine = create_engine(database_url)
    record = None
    if (registered is None) == (not imagery):
        raise AsmdbError("give imagery files or --imagery NAME (one of them)")
    if registered is not None:
        from asm_db.imagery.registry import get_imagery

        record = get_imagery(engine, registered)
        imagery = record.files
        # The registry records the scale of what its files store: the imagery's own word, which
        # a --like set's processing does not override (an option given still does).
        scale = scale or ",".join(map(str, record.scale))
        offset = offset or ",".join(map(str, record.offset))
        if period is None and record.period_start and record.period_end:
            period = f"{record.period_start}/{record.period_end}"
        source = source or record.source.get("collection") or record.name
    given = ProcessingOptions(
        scale=_numbers("--scale", scale),
        offset=_numbers("--offset", offset),
        mask_band=mask_band,
        mask_values=None if mask_values is None else tuple(_numbers("--mask-values", mask_values)),
        min_valid=min_valid,
    )
    chosen = Method(
        method=method,
        features=features,
        seed=seed,
        filters=filters,
        stats=tuple(s.strip() for s in stats.split(",")),
        tile_size=tile_size,
        tile_pixels=tile_pixels,
        **({} if min_valid is None else {"min_valid": min_valid}),
    )
    chosen.check()
    images, processing = open_processed(
        lambda mask: open_imagery(
            imagery,
            assets=[a.strip() for a in assets.split(",")] if assets else None,
            bands=_numbers("--bands", bands, int),
            mask_band=mask,
            scale=given.scale,
            offset=given.offset,
            allowed_hosts=parse_hosts(allow_hosts),
        ),
        given,
        read_like(engine, like) if like is not None else None,
    )
    chosen = dataclasses.replace(chosen, min_valid=processing.min_valid)
    with Progress(
        TextColumn(f"featurize {feature_set}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("tiles", total=None, rate="")
        first = [None, 0]

        def report(done: int, total: int) -> None:
            now = time.perf_counter()
            if first[0] is None:
                first[:] = [now, done]
            rate = (done - first[1]) / (now - first[0]) if now > first[0] else 0
            bar.update(task, completed=done, total=total, rate=f"{rate:.1f} tiles/s")

        result = run(
            engine,
            images,
            feature_set,
            chosen,
            bbox=box,
            aoi=aoi,
            like=like,
            processing=processing,
            period=period,
            source=source,
            batch_tiles=batch_tiles,
            max_tiles=max_tiles,
            workers=workers,
            scheduler=scheduler,
            progress=report,
            notify=notify,
            registered=record.as_json() if record is not None else None,
        )
    if result.already_complete:
        print(
            f"feature set '{feature_set}' is already complete ({result.tiles_done} tiles); nothing to do"
        )
        return
    skipped = sum(result.tiles_skipped.values())
    resumed = f", resumed after {result.resumed_from}" if result.resumed_from else ""
    non_finite = result.tiles_skipped.get("non_finite", 0)
    overflow = f", {non_finite} with a vector float32 cannot hold" if non_finite else ""
    print(
        f"feature set '{result.feature_set}': {result.tiles_done} tiles x {result.n_features} "
        f"features ({skipped} skipped: {result.tiles_skipped['no_valid_pixels']} without valid "
        f"pixels, {result.tiles_skipped['below_min_valid']} below --min-valid{overflow}; "
        f"{result.tiles_added} new tiles{resumed}) in {result.seconds:.1f} s"
    )


@app.command("list")
def list_command(database_url: DatabaseUrl = None) -> None:
    """Every feature set: size, how it was made, its period, whether it is complete."""
    from asm_db.features.catalog import list_feature_sets

    rows = list_feature_sets(create_engine(database_url))
    table = [("name", "features", "tiles", "made by", "method", "source", "period", "complete")]
    for r in rows:
        period = (
            f"{r['period_start'] or ''}/{r['period_end'] or ''}"
            if r["period_start"] or r["period_end"]
            else ""
        )
        table.append(
            (
                r["name"],
                str(r["n_features"]),
                str(r["tiles"]),
                r["made_by"] or "ingest",
                r["method"],
                r["source"],
                period,
                "yes" if r["complete"] else "no",
            )
        )
    print_table(table)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Feature set name.")],
    filters: Annotated[
        bool, typer.Option("--filters", help="Include the filter bank's weights.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """A feature set's provenance as JSON (the filter weights only with --filters)."""
    from asm_db.features.catalog import show_feature_set

    info = show_feature_set(create_engine(database_url), name, with_filters=filters)
    print(json.dumps(info, indent=2, default=str))


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Feature set name.")],
    yes: Yes = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete a feature set with its vectors and the runs and maps made from it."""
    from asm_db.features.catalog import delete_feature_set

    runs = delete_feature_set(create_engine(database_url), name, confirm=confirmation(yes))
    print(f"deleted feature set '{name}' ({runs} runs trained on it deleted too)")
