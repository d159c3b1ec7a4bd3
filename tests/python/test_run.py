"""visbone.run: a YAML pipeline from Python, the same run as `visbone run`."""

import json

import support
import visbone


def test_default_pipeline(tmp_path):
    summary = visbone.run(support.ROOT / "configs" / "default.yaml", output=tmp_path)
    assert summary["items"] == 300 and summary["failed"] == 0
    assert abs(summary["accuracy"] - 0.9867) < 1e-4
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["items"] == 300
    predictions = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 300


def test_input_override(tmp_path):
    summary = visbone.run(str(support.ROOT / "configs" / "default.yaml"), input=support.ROOT / "data" / "digits" / "7",
                          output=tmp_path)
    assert summary["items"] == len(list((support.ROOT / "data" / "digits" / "7").glob("*.png")))
