"""Removing labels (asm_db.ingest.label_removal): `asmdb labels delete` by id, file and source, and
`ingest labels --replace` making the file its source's whole set."""

import pandas as pd
import pytest

from conftest import snapshot


@pytest.mark.slow
def test_labels_delete_by_id_file_and_source(loaded, cli, pg, sample, tmp_path):
    ids = [r[0] for r in pg.execute("SELECT unique_id FROM asmdb.labels ORDER BY label_id LIMIT 3")]
    before = snapshot(pg)
    typo = cli("labels", "delete", ids[0], "no-such-id", "--yes")
    assert typo.code == 1 and "no label with unique_id no-such-id; nothing deleted" in typo.stderr
    asked = cli("labels", "delete", ids[0])
    assert asked.code == 1 and "add --yes" in asked.stderr
    assert snapshot(pg) == before

    done = cli("labels", "delete", ids[0], "--yes")
    assert done.code == 0 and "deleted 1 label(s)" in done.stdout
    (tmp_path / "ids.txt").write_text(f"{ids[1]}\n{ids[2]}\n")
    done = cli("labels", "delete", "--from-file", str(tmp_path / "ids.txt"), "--yes")
    assert done.code == 0 and "deleted 2 label(s)" in done.stdout
    left = pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0]
    assert left == sample.n_labels - 3

    done = cli("labels", "delete", "--source-file", sample.labels.name, "--yes")
    assert done.code == 0 and f"deleted {left} label(s)" in done.stdout
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == 0


def test_ingest_labels_replace_makes_the_file_its_sources_whole_set(
    loaded, cli, pg, sample, tmp_path
):
    frame = pd.read_csv(sample.labels, dtype=str)
    trimmed = tmp_path / sample.labels.name  # the same source name, 100 labels fewer
    frame.iloc[100:].to_csv(trimmed, index=False)

    upsert = cli("ingest", "labels", str(trimmed))  # without --replace: nothing removed
    assert upsert.code == 0
    assert pg.execute("SELECT count(*) FROM asmdb.labels").fetchone()[0] == sample.n_labels
    before = snapshot(pg)
    asked = cli("ingest", "labels", str(trimmed), "--replace")
    assert asked.code == 1 and "--replace deletes 100 label(s)" in asked.stderr
    assert snapshot(pg) == before

    done = cli("ingest", "labels", str(trimmed), "--replace", "--yes")
    assert done.code == 0 and "100 removed" in done.stdout
    kept = {r[0] for r in pg.execute("SELECT unique_id FROM asmdb.labels")}
    assert kept == set(frame["unique_id"].iloc[100:])
