"""A feature set's featurizer identity: what must be equal for a model trained on one set to
score the vectors of another (of another period, say).

- Every set: K and the feature names, in order, and the tile size (its grid's cell size).
- Sets made by `asmdb featurize`: the method, the parameters the vector of a tile depends on
  (`IDENTITY_PARAMETERS` and the number of bands), and the filter bank (by a digest of it).
  Left out, as they describe one period's imagery rather than the featurizer: the band names,
  `scale`, `offset`, the mask (a processing baseline may change them between years: reading
  the pixels as the same reflectance is what they are for), and `min_valid` (which tiles get a
  vector, not what the vector is). `featurize --like NAME` reuses all of the identity.
- Sets ingested from a file: the product named by `--source`; the file's checksum, the period
  and the number of tiles are provenance, not identity. Two ingested sets without a source
  are compatible when K and the names match.
"""

from __future__ import annotations

from asm_db.errors import AsmdbError
from asm_db.features.record import IDENTITY_PARAMETERS, FeatureSet


class IncompatibleFeatureSet(AsmdbError):
    """The model of a run cannot score the vectors of a feature set."""


def _made(shape: FeatureSet) -> str:
    if shape.featurized:
        return f"made by asmdb featurize (method {shape.parameters.get('method')})"
    return "ingested from a file"


def _source(shape: FeatureSet) -> str:
    return f"'{shape.source}'" if shape.source is not None else "no --source"


def check_compatible(run_id: int, trained: FeatureSet, target: FeatureSet) -> None:
    """Refuse, with one line saying why, a feature set whose identity is not that of the set
    the run was trained on: K, feature names, tile size, method, parameters, filter bank or
    (ingested sets) source."""
    where = f"feature set '{target.name}' does not fit run {run_id}"
    theirs = f"the run's feature set '{trained.name}'"
    if target.n_features != trained.n_features:
        raise IncompatibleFeatureSet(
            f"{where}: it has {target.n_features} features, the run's model takes "
            f"{trained.n_features} (feature set '{trained.name}')"
        )
    names = list(target.feature_names or [])
    expected = list(trained.feature_names or [])
    if names != expected:
        if len(names) != len(expected):
            raise IncompatibleFeatureSet(
                f"{where}: it names {len(names)} features, {theirs} names {len(expected)}"
            )
        first = next(i for i, (a, b) in enumerate(zip(names, expected, strict=True)) if a != b)
        raise IncompatibleFeatureSet(
            f"{where}: its feature {first + 1} is '{names[first]}', the run's model takes "
            f"'{expected[first]}' there (feature set '{trained.name}')"
        )
    if None not in (target.cell_size, trained.cell_size) and target.cell_size != trained.cell_size:
        raise IncompatibleFeatureSet(
            f"{where}: its tiles are {target.cell_size:g} degrees, {theirs} has tiles of "
            f"{trained.cell_size:g} degrees"
        )
    if target.featurized != trained.featurized or (
        target.featurized and target.parameters.get("method") != trained.parameters.get("method")
    ):
        raise IncompatibleFeatureSet(
            f"{where}: different method: it was {_made(target)}, {theirs} was {_made(trained)}"
        )
    if target.featurized:
        ours, wanted = target.identity_parameters(), trained.identity_parameters()
        differ = [k for k in (*IDENTITY_PARAMETERS, "bands") if ours.get(k) != wanted.get(k)]
        if differ:
            raise IncompatibleFeatureSet(
                f"{where}: different parameters: "
                + ", ".join(f"{k} {ours.get(k)!r} (run's: {wanted.get(k)!r})" for k in differ)
                + f" ({theirs}); `asmdb featurize --like {trained.name}` makes a set that fits"
            )
        if target.filters_digest != trained.filters_digest:
            raise IncompatibleFeatureSet(
                f"{where}: different filter bank: sha256 {str(target.filters_digest)[:12]}, "
                f"{theirs} has {str(trained.filters_digest)[:12]}; "
                f"`asmdb featurize --like {trained.name}` reuses its filters"
            )
    elif target.source != trained.source:
        raise IncompatibleFeatureSet(
            f"{where}: different source: it is {_source(target)}, {theirs} is {_source(trained)}"
        )
