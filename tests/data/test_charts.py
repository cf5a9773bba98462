"""The Vega-Lite specs the server sends name the vega-lite version the sidebar ships."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyter_mlops.data import charts

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def test_specs_name_the_vega_lite_major_version_the_sidebar_ships():
    lock = json.loads((LABEXTENSION / "package-lock.json").read_text())
    shipped = lock["packages"]["node_modules/vega-lite"]["version"]
    major = shipped.split(".")[0]
    assert charts.SCHEMA == f"https://vega.github.io/schema/vega-lite/v{major}.json"
    # and so do the specs written in TypeScript
    for source in (LABEXTENSION / "src").glob("*.ts*"):
        for named in re.findall(r"schema/vega-lite/v(\d+)\.json", source.read_text()):
            assert named == major, source.name
