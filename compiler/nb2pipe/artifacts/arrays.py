"""Arrays between steps: numpy arrays (.npy), scipy sparse matrices (.npz), PIL images.

Each is written by its library's own writer, straight from the value's memory to the file in
pieces (no second copy of the data in memory), and read back with the same library.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .serializers import Serializer, library


class NpySerializer(Serializer):
    """numpy arrays of plain (non-object) dtype."""

    name, extension = "npy", "npy"
    types = ("numpy.ndarray",)
    inert = True  # allow_pickle=False

    def accepts(self, value: Any) -> bool:
        np = sys.modules.get("numpy")
        # Subclasses (masked arrays, matrix) would lose their type; object arrays need pickle.
        return np is not None and type(value) is np.ndarray and not value.dtype.hasobject

    def dump(self, value: Any, path: Path) -> None:
        import numpy as np

        # A file object, because np.save appends ".npy" to a path that lacks it (our temp name).
        with open(path, "wb") as f:
            np.save(f, value, allow_pickle=False)

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import numpy as np

        return np.load(path, allow_pickle=False)


class SparseSerializer(Serializer):
    """scipy sparse matrices and arrays, every format, with `scipy.sparse.save_npz`.

    save_npz knows CSR, CSC, COO, BSR and DIA; LIL and DOK are written as CSR and turned back
    into their format when read. Uncompressed: a vectorizer's matrix crosses a step at the
    speed of the disk cache.
    """

    name, extension = "sparse", "npz"
    types = ("scipy.sparse._spbase", "scipy.sparse.spmatrix")
    inert = True  # load_npz reads with allow_pickle=False

    _NATIVE = ("csr", "csc", "coo", "bsr", "dia")

    def accepts(self, value: Any) -> bool:
        # numpy object arrays inside would need pickle; the formats' own dtypes never do.
        return not getattr(getattr(value, "dtype", None), "hasobject", True)

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        from scipy import sparse

        stored = value if value.format in self._NATIVE else value.asformat("csr")
        with open(path, "wb") as f:  # a file object: save_npz appends ".npz" to a bare path
            sparse.save_npz(f, stored, compressed=False)
        return {"format": value.format, **library("scipy")}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        from scipy import sparse

        value = sparse.load_npz(path)
        wanted = entry.get("format", value.format)
        return value if value.format == wanted else value.asformat(wanted)


class ImageSerializer(Serializer):
    """PIL images, losslessly: PNG for the modes PNG stores exactly, TIFF for the others
    (CMYK, 32-bit float, ...). Pixels, mode and size come back equal."""

    name, extension = "image", "img"
    types = ("PIL.Image.Image",)

    _PNG_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16")

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        image_format = "PNG" if value.mode in self._PNG_MODES else "TIFF"
        with open(path, "wb") as f:
            value.save(f, format=image_format)
        return {"format": image_format, "mode": value.mode, **library("PIL")}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        from PIL import Image

        with Image.open(path) as opened:
            opened.load()  # read now: the value must not hold the artifact file open
            image = opened.copy()
        mode = entry.get("mode", image.mode)
        return image if image.mode == mode else image.convert(mode)
