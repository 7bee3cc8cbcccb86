"""The run report (asm_db.publish.report): one self-contained page."""

import pytest


@pytest.mark.slow
def test_report_is_one_self_contained_page(cli, loaded, tmp_path):
    assert cli("train", "--block-size", "0.05", "--bootstrap", "30").code == 0
    out = tmp_path / "report" / "run-1.html"
    made = cli("report", "1", str(out))
    assert made.code == 0, made.stderr
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 8
    assert "http://" not in page.replace("http://mrcc", "") and "<script" not in page
    for text in (
        "ROC AUC",
        "PR AUC",
        "Brier score",
        "expected calibration error",
        "what it measures",
        "higher is better",
        "lower is better",
        "Calibration: <b>",
        "lower held-out Brier score",
        "labels in the database",
        "tiles mapped",
        "Spatially blocked",
        "Top features",
        "asmdb train --feature-set default --cv spatial",
    ):
        assert text in page
    assert ">AP<" not in page and "AP =" not in page
    assert "rows used to fit the model" not in page  # no train/test split under spatial CV
    assert page.index("labels in the database") < page.index("labels lying on a tile")
    assert page.index("labels lying on a tile") < page.index("tiles mapped")
    assert cli("report", "7", str(tmp_path / "x.html")).code == 1
