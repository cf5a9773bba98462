"""The runner's settings in the project's ``[tool.jupyter-mlops]`` table (pyproject.toml).

```toml
[tool.jupyter-mlops]
workspace = "s3://team-bucket/nb2pipe"   # run and cache folders (an fsspec URL or a path)
executor = "dask://scheduler.internal:8786"  # where `nb2pipe run` sends steps by default
```

Read here, by nb2pipe itself (it never imports jupyter_mlops, whose tracking settings live in
the same table). Command-line options win over both.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

TABLE = "jupyter-mlops"


def project_settings(notebook: Path) -> tuple[dict[str, Any], Path | None]:
    """The table of the pyproject.toml nearest above `notebook`, and that file's folder."""
    folder = Path(notebook).resolve().parent
    for candidate in (folder, *folder.parents):
        file = candidate / "pyproject.toml"
        if file.is_file():
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
                return {}, candidate
            table = data.get("tool", {}).get(TABLE, {})
            return (table if isinstance(table, dict) else {}), candidate
        if (candidate / ".git").exists():
            break
    return {}, None


def setting(notebook: Path, key: str) -> str | None:
    """One text setting; a relative path is anchored at the pyproject.toml's folder."""
    table, folder = project_settings(notebook)
    value = table.get(key)
    if not isinstance(value, str) or not value:
        return None
    if "://" not in value and folder is not None and not Path(value).is_absolute():
        return str(folder / value)
    return value
