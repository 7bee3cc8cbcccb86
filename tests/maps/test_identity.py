"""Featurizer identity for `asmdb predict`: a run's model scores another feature set only when
the two sets are made the same way (K, names, method, parameters, filter bank; the source of
an ingested file), and never because of what differs between periods."""

from __future__ import annotations

import json

import pytest

from asm_db.features.record import FeatureSet
from asm_db.maps.identity import IncompatibleFeatureSet, check_compatible

from conftest import snapshot

K = 16
NAMES = [f"feature_{i}" for i in range(K)]
FEATURIZE = ("featurize", "--workers", "0")
SEED_TRAIN = ("train", "--cv", "seed", "--bootstrap", "0", "--no-map")


def _params(**changes) -> dict:
    """featurize's parameters for a 3-band rcf set (asm_db.imagery.featurize.parameters)."""
    return {
        "method": "rcf",
        "tile_size": 0.01,
        "tile_pixels": 18,
        "min_valid": 0.5,
        "bands": ["red", "green", "blue"],
        "scale": [0.0001] * 3,
        "offset": [0.0] * 3,
        "mask_values": [],
        "mask_band": False,
        "features": K,
        "seed": 0,
        "filters": "gaussian",
        **changes,
    }


def _made(name: str, digest: str = "a" * 64, cell_size: float = 0.01, **changes):
    return FeatureSet(1, name, K, NAMES, None, _params(**changes), digest, cell_size)


def _ingested(name: str, source: str | None, **changes) -> FeatureSet:
    values = {"n_features": K, "feature_names": NAMES, "cell_size": 0.01, **changes}
    return FeatureSet(
        2,
        name,
        values["n_features"],
        values["feature_names"],
        source,
        cell_size=values["cell_size"],
    )


def _refusal(trained: FeatureSet, target: FeatureSet) -> str:
    with pytest.raises(IncompatibleFeatureSet) as refused:
        check_compatible(7, trained, target)
    return str(refused.value)


def test_what_differs_between_periods_is_not_identity():
    trained = _made("y2019")
    # Another processing baseline (offset), other band names, mask, min_valid: same featurizer.
    check_compatible(
        7,
        trained,
        _made(
            "y2024",
            offset=[-0.1] * 3,
            scale=[0.0002] * 3,
            bands=["B04", "B03", "B02"],
            mask_values=[0, 1],
            mask_band=True,
            min_valid=0.3,
        ),
    )
    check_compatible(7, _ingested("a", None), _ingested("b", None))
    check_compatible(7, _ingested("a", "mosaiks-planet"), _ingested("b", "mosaiks-planet"))


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"seed": 1}, "different parameters: seed 1 (run's: 0)"),
        ({"filters": "patches"}, "different parameters: filters 'patches' (run's: 'gaussian')"),
        (
            {"tile_pixels": 32, "bands": ["r", "g", "b", "nir"]},
            "different parameters: tile_pixels 32 (run's: 18), bands 4 (run's: 3)",
        ),
    ],
)
def test_other_parameters_are_refused_naming_each_with_both_values(changes, said):
    line = _refusal(_made("y2019"), _made("y2024", **changes))
    assert line == (
        f"feature set 'y2024' does not fit run 7: {said} (the run's feature set 'y2019'); "
        "`asmdb featurize --like y2019` makes a set that fits"
    )


def test_method_filter_bank_source_and_tile_size_are_refused_with_the_reason():
    trained = _made("y2019")
    assert _refusal(trained, _made("m", method="mean")) == (
        "feature set 'm' does not fit run 7: different method: it was made by asmdb featurize "
        "(method mean), the run's feature set 'y2019' was made by asmdb featurize (method rcf)"
    )
    assert _refusal(trained, _ingested("file", None)) == (
        "feature set 'file' does not fit run 7: different method: it was ingested from a file, "
        "the run's feature set 'y2019' was made by asmdb featurize (method rcf)"
    )
    line = _refusal(trained, _made("y2024", digest="b" * 64))
    assert line == (
        "feature set 'y2024' does not fit run 7: different filter bank: sha256 bbbbbbbbbbbb, "
        "the run's feature set 'y2019' has aaaaaaaaaaaa; `asmdb featurize --like y2019` reuses "
        "its filters"
    )
    assert _refusal(trained, _made("coarse", cell_size=0.02)) == (
        "feature set 'coarse' does not fit run 7: its tiles are 0.02 degrees, the run's feature "
        "set 'y2019' has tiles of 0.01 degrees"
    )
    planet = _ingested("planet", "mosaiks-planet-2019q3")
    assert _refusal(planet, _ingested("s2", "mosaiks-s2-2024")) == (
        "feature set 's2' does not fit run 7: different source: it is 'mosaiks-s2-2024', the "
        "run's feature set 'planet' is 'mosaiks-planet-2019q3'"
    )
    assert _refusal(planet, _ingested("bare", None)) == (
        "feature set 'bare' does not fit run 7: different source: it is no --source, the run's "
        "feature set 'planet' is 'mosaiks-planet-2019q3'"
    )
    # K and the names come first: they are what the model reads.
    assert "it has 8 features, the run's model takes 16" in _refusal(
        trained, _ingested("short", None, n_features=8, feature_names=NAMES[:8])
    )


@pytest.mark.slow
def test_ingested_sets_of_another_source_are_refused_and_nothing_changes(loaded, cli, pg, sample):
    for name, source in (("planet19", "mosaiks-planet-2019q3"), ("planet24", "mosaiks-planet"),
                         ("planet19b", "mosaiks-planet-2019q3")):  # fmt: skip
        args = ("ingest", "features", str(sample.features), "--feature-set", name)
        assert cli(*args, "--source", source).code == 0
    trained = json.loads(cli(*SEED_TRAIN, "--feature-set", "planet19", "--json").stdout)
    before = snapshot(pg)
    for target, said in (
        ("planet24", "it is 'mosaiks-planet', the run's feature set 'planet19' is "
                     "'mosaiks-planet-2019q3'"),
        ("default", "it is no --source, the run's feature set 'planet19' is "
                    "'mosaiks-planet-2019q3'"),
    ):  # fmt: skip
        refused = cli("predict", "--run", str(trained["run_id"]), "--feature-set", target)
        assert refused.code == 1 and refused.stdout == ""
        assert refused.stderr.strip() == (
            f"error: feature set '{target}' does not fit run {trained['run_id']}: "
            f"different source: {said}"
        )
    assert snapshot(pg) == before
    same = cli("predict", "--run", str(trained["run_id"]), "--feature-set", "planet19b", "--json")
    assert same.code == 0, same.stderr
    assert json.loads(same.stdout)["tiles"] == sample.n_tiles


@pytest.mark.slow  # featurizes the sample imagery five times
def test_featurized_sets_made_alike_fit_and_others_are_refused(loaded, cli, pg, sample):
    image = str(sample.imagery)

    def featurize(name: str, *args: str) -> None:
        done = cli(*FEATURIZE, image, "--feature-set", name, *args)
        assert done.code == 0, done.stderr

    featurize("y2019", "--features", str(K), "--period", "2019-01-01/2019-12-31")
    run = json.loads(cli(*SEED_TRAIN, "--feature-set", "y2019", "--json").stdout)["run_id"]
    # --like: the same featurizer on another period (another scale too: a new baseline).
    featurize("y2024", "--like", "y2019", "--period", "2024-01-01/2024-12-31", "--scale", "1/9000")
    fits = cli("predict", "--run", str(run), "--feature-set", "y2024", "--json")
    assert fits.code == 0, fits.stderr
    assert json.loads(fits.stdout)["feature_set"] == "y2024"

    featurize("seeded", "--features", str(K), "--seed", "3")
    featurize("patchy", "--features", str(K), "--filters", "patches")
    featurize("means", "--method", "mean", "--stats", "mean,std")
    before = snapshot(pg)
    for target, said in (
        ("seeded", "different parameters: seed 3 (run's: 0)"),
        ("patchy", "different parameters: filters 'patches' (run's: 'gaussian')"),
    ):
        refused = cli("predict", "--run", str(run), "--feature-set", target)
        assert refused.code == 1
        assert refused.stderr.strip() == (
            f"error: feature set '{target}' does not fit run {run}: {said} (the run's feature "
            "set 'y2019'); `asmdb featurize --like y2019` makes a set that fits"
        )
    means = cli("predict", "--run", str(run), "--feature-set", "means")
    assert means.code == 1 and "it has 6 features, the run's model takes 16" in means.stderr
    assert snapshot(pg) == before

    # The same parameters, but patches drawn from other tiles: another filter bank.
    patchy_run = json.loads(cli(*SEED_TRAIN, "--feature-set", "patchy", "--json").stdout)["run_id"]
    featurize("patchy_east", "--features", str(K), "--filters", "patches",
              "--bbox", "-11.1,8.4,-10.96,8.64")  # fmt: skip
    digests = dict(
        pg.execute(
            "SELECT name, provenance ->> 'filters_sha256' FROM asmdb.feature_sets "
            "WHERE name IN ('patchy', 'patchy_east')"
        ).fetchall()
    )
    assert digests["patchy"] != digests["patchy_east"]
    refused = cli("predict", "--run", str(patchy_run), "--feature-set", "patchy_east")
    assert refused.code == 1
    assert f"does not fit run {patchy_run}: different filter bank: sha256 " in refused.stderr
    assert "`asmdb featurize --like patchy` reuses its filters" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
