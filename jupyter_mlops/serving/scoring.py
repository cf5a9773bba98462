"""One request's way through a model, as MLflow's scoring server takes it: parse the body,
predict, turn the predictions into JSON and each input row into a log line's ``inputs``.

The server (http.py) and the pre-deployment checks (checks.py) both go this way, so a check's
latency is a request's latency and a check's answer is the server's.

Bodies are parsed by MLflow's own functions (`mlflow.pyfunc.scoring_server`): ``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs`` JSON, CSV or Parquet. Every client error is
a `ClientError` (400 with the reason; 413 for more than `MAX_ROWS` rows): bad JSON, JSON nested
deeper than Python's parser goes, wrong or missing columns, text in a number column.
"""

from __future__ import annotations

import io
import json
from typing import Any

from jupyter_mlops.registry.expected import predictions_json
from jupyter_mlops.serving.errors import ClientError, client_error

__all__ = ["parse", "predict", "predictions_json", "rows", "split_rows", "take"]

MAX_ROWS = 10_000


def parse(body: bytes, content_type: str, input_schema: Any) -> tuple[Any, dict | None]:
    """The request's input data and params, parsed as MLflow's scoring server does."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server as ss

    mime = content_type.split(";")[0].strip().lower()
    try:
        if mime == ss.CONTENT_TYPE_JSON:
            try:
                decoded = json.loads(body)
            except (ValueError, UnicodeDecodeError) as e:
                raise ClientError(400, f"invalid JSON: {e}") from None
            if not isinstance(decoded, dict):
                raise ClientError(400, ss.REQUIRED_INPUT_FORMAT)
            data = {k: v for k, v in decoded.items() if k in ss.SUPPORTED_FORMATS}
            params = decoded.get("params")
            if params is not None and not isinstance(params, dict):
                raise ClientError(400, "params: a JSON object")
            parsed = ss.infer_and_parse_data(data, input_schema)
        elif mime == ss.CONTENT_TYPE_CSV:
            parsed, params = (
                ss.parse_csv_input(io.StringIO(body.decode("utf-8")), input_schema),
                None,
            )
        elif mime == ss.CONTENT_TYPE_PARQUET:
            parsed, params = ss.parse_parquet_input(io.BytesIO(body)), None
        else:
            raise ClientError(
                400, f"unsupported content type {content_type!r} (use one of {ss.CONTENT_TYPES})"
            )
    except RecursionError:
        raise ClientError(400, "invalid JSON: nested too deeply") from None
    except MlflowException as e:
        raise ClientError(_status(e), e.message) from None
    except UnicodeDecodeError as e:
        raise ClientError(400, f"the body is not UTF-8 text: {e}") from None
    except (ValueError, TypeError, KeyError) as e:  # pandas/pyarrow on a malformed CSV or file
        raise ClientError(400, f"cannot read the input: {_short(e)}") from None
    if hasattr(parsed, "__len__") and len(parsed) > MAX_ROWS:
        raise ClientError(413, f"{len(parsed)} rows in one request; at most {MAX_ROWS}")
    return parsed, params


def _status(e) -> int:
    status = e.get_http_status_code()
    return 400 if status >= 500 else status


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:500] or type(e).__name__


def predict(pyfunc: Any, data: Any, params: dict | None = None) -> Any:
    """`pyfunc`'s raw predictions; the input's faults as `ClientError`, the model's as is."""
    from mlflow.exceptions import MlflowException

    try:
        return pyfunc.predict(data, params=params) if params else pyfunc.predict(data)
    except MlflowException as e:  # MLflow's schema enforcement: the input does not fit
        raise ClientError(_status(e), e.message) from None
    except Exception as e:
        refused = client_error(e)
        if refused is not None:
            raise refused from None
        if isinstance(e, (ValueError, TypeError, KeyError)):
            raise ClientError(400, f"the model cannot take this input: {_short(e)}") from None
        raise


def split_rows(predictions: Any, count: int) -> list[Any]:
    """One prediction per input row (the whole answer on each row if it is not per row)."""
    if isinstance(predictions, list) and len(predictions) == count:
        return predictions
    return [predictions] * count


def rows(data: Any) -> list[Any]:
    """The parsed input as one JSON-able value per row (a dict of named inputs if it can be)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, dict):
        try:
            data = pd.DataFrame(data)
        except ValueError:
            return [json.loads(json.dumps(data, default=jsonable))]
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data.reshape(len(data), -1) if data.ndim else [data])
    if isinstance(data, pd.DataFrame) and all(
        pd.api.types.is_numeric_dtype(t) or pd.api.types.is_string_dtype(t) for t in data.dtypes
    ):  # the common case, without a JSON round trip: numbers, text, booleans
        names = [str(c) for c in data.columns]
        return [
            dict(zip(names, map(_plain, row), strict=True))
            for row in data.itertuples(index=False, name=None)
        ]
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.columns = [str(c) for c in frame.columns]
        # json.loads(to_json) turns numpy scalars, NaN and timestamps into plain JSON values.
        return json.loads(frame.to_json(orient="records", double_precision=15))
    if isinstance(data, list):
        return [json.loads(json.dumps(r, default=jsonable)) for r in data]
    return [json.loads(json.dumps(data, default=jsonable))]


def take(data: Any, mask: list[bool]) -> Any:
    """The rows of `data` where `mask` is true (a DataFrame, an array or a list)."""
    import numpy as np

    if hasattr(data, "iloc"):
        return data.iloc[np.flatnonzero(mask)].reset_index(drop=True)
    if isinstance(data, np.ndarray):
        return data[np.asarray(mask, dtype=bool)]
    return [row for row, keep in zip(data, mask, strict=True) if keep]


def _plain(value: Any) -> Any:
    """A numpy scalar as a plain value; NaN and pandas' missing values as None."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return None
    if not isinstance(value, (str, int, float, bool)):
        return None if str(value) in ("<NA>", "NaT", "nan") else str(value)
    return value


def jsonable(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else str(value)
