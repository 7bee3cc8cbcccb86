"""The feature set catalogue (asm_db.features.catalog): `asmdb feature-sets delete` drops the
partitions of its maps."""

from conftest import prediction_partitions


def test_feature_sets_delete_drops_the_partitions_of_its_maps(trained, cli, pg):
    assert prediction_partitions(pg)
    refused = cli("feature-sets", "delete", "default")
    assert refused.code == 1 and "add --yes" in refused.stderr and prediction_partitions(pg)
    done = cli("feature-sets", "delete", "default", "--yes")
    assert done.code == 0, done.stderr
    assert prediction_partitions(pg) == set()
    assert pg.execute("SELECT count(*) FROM asmdb.maps").fetchone()[0] == 0
