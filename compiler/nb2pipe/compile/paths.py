"""Files a step's code reads and writes, found from the paths it names literally.

`pd.read_csv("data/train.csv")`, `open(path)` with `path = "x.json"` in the same code, a
string parameter holding a path, `%%writefile mylib.py`, `df.to_csv("out.csv")`,
`open("log.txt", "w")`: the runner hashes the files a step reads into its fingerprint (so an
edited data file re-runs it), and a step that names a file an earlier step writes runs after it.

Whether a string names a file is decided where it can be: a string in a writing call is a
written path; any other string that looks like a path (an extension or a slash) is a possible
read, kept if the file exists when the step is fingerprinted.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

# Methods and functions whose string arguments are paths they write.
WRITERS = frozenset(
    """
    to_csv to_parquet to_json to_excel to_pickle to_feather to_hdf to_html to_latex to_markdown
    to_stata to_xml to_orc savefig save savez savez_compressed savetxt tofile write_text
    write_bytes dump imwrite imsave save_model export_graphviz
    """.split()
)
# Writers that add an extension to the name they are given: the file is there under that name.
# numpy adds its own unless the name already ends with it; matplotlib adds its default format
# (`savefig.format`, png) only to a name without any extension.
_NUMPY_EXTENSIONS = {"numpy.save": ".npy", "numpy.savez": ".npz", "numpy.savez_compressed": ".npz"}
_COPIES = frozenset({"copy", "copy2", "copyfile", "move", "copytree"})  # shutil: last arg written
_PATHLIKE = re.compile(r"[^\s\0]*/[^\s\0]*|[^\s\0]*[^\s\0./][^\s\0/]*\.[A-Za-z0-9_]{1,8}")
_NOT_PATHS = frozenset({"", ".", "..", "/", "./", "../"})


def looks_like_path(text: str) -> bool:
    return (
        text not in _NOT_PATHS
        and len(text) < 260
        and "\n" not in text
        and "://" not in text
        and not text.startswith(("%", "-"))
        and bool(_PATHLIKE.fullmatch(text))
    )


@dataclass
class Files:
    read: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)


def scan(
    tree: ast.Module, constants: dict[str, str] | None = None, origins: dict[str, str] | None = None
) -> Files:
    """Paths named in `tree`; `constants` are string names known before it (parameters),
    `origins` the dotted origins of imported names (`np` → `numpy`)."""
    scanner = _Scanner(dict(constants or {}), origins or {})
    for stmt in tree.body:
        scanner.visit(stmt)
    files = scanner.files
    files.read -= files.written
    return files


class _Scanner(ast.NodeVisitor):
    def __init__(self, constants: dict[str, str], origins: dict[str, str]):
        self.constants = constants
        self.origins = origins
        self.files = Files()

    def _origin(self, func: ast.AST) -> str | None:
        if isinstance(func, ast.Attribute):
            parent = self._origin(func.value)
            return f"{parent}.{func.attr}" if parent else None
        if isinstance(func, ast.Name):
            return self.origins.get(func.id)
        return None

    def _as_written(self, node: ast.Call, name: str | None, path: str) -> str:
        """The name the file gets: `np.savez("x")` writes x.npz, `savefig("fig")` fig.png."""
        origin = self._origin(node.func)
        extension = _NUMPY_EXTENSIONS.get(origin or "")
        if extension and not path.endswith(extension):
            return path + extension
        if name == "savefig" and not re.search(r"\.[A-Za-z0-9]{1,5}$", path.rsplit("/", 1)[-1]):
            formats = [self._text(k.value) for k in node.keywords if k.arg == "format"]
            fmt = formats[0] if formats and formats[0] else "png"
            return f"{path}.{fmt}"
        return path

    def _text(self, node: ast.AST | None) -> str | None:
        """The string an expression always has: a literal, a known name, a simple join."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.JoinedStr) and all(
            isinstance(v, ast.Constant) for v in node.values
        ):
            return "".join(str(v.value) for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
            left, right = self._text(node.left), self._text(node.right)
            if left is not None and right is not None:
                sep = "/" if isinstance(node.op, ast.Div) and not left.endswith("/") else ""
                return left + sep + right
        if isinstance(node, ast.Call):
            name = _called(node.func)
            if name in ("Path", "PurePath", "PosixPath") and len(node.args) == 1:
                return self._text(node.args[0])
            if name == "join" and node.args:  # os.path.join
                parts = [self._text(a) for a in node.args]
                if all(p is not None for p in parts):
                    return "/".join(p.rstrip("/") for p in parts)
        return None

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        text = self._text(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                if text is not None:
                    self.constants[target.id] = text
                else:
                    self.constants.pop(target.id, None)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        self.visit(node.value)  # not its format spec: `{x:.3f}` names no file

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and looks_like_path(node.value):
            self.files.read.add(node.value)

    def visit_Name(self, node: ast.Name) -> None:
        text = self.constants.get(node.id)
        if text is not None and isinstance(node.ctx, ast.Load) and looks_like_path(text):
            self.files.read.add(text)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = _called(node.func)
        args = [self._text(a) for a in node.args]
        keywords = {k.arg: self._text(k.value) for k in node.keywords if k.arg}
        written: list[str | None] = []
        if name == "open" and isinstance(node.func, ast.Attribute):  # Path("x").open("w")
            mode = args[0] if args else keywords.get("mode")
            if mode and any(c in mode for c in "wax+"):
                written.append(self._text(node.func.value))
        elif name == "open":
            mode = args[1] if len(args) > 1 else keywords.get("mode")
            if mode and any(c in mode for c in "wax+"):
                written.append(args[0] if args else keywords.get("file"))
        elif name in WRITERS:
            named = [a for a in args if a is not None]
            named += [keywords.get(k) for k in ("path", "fname", "path_or_buf", "filename", "file")]
            written += [self._as_written(node, name, p) for p in named if p]
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call):
                written.append(self._text(node.func.value))  # Path("x").write_text(...)
        elif name in _COPIES and len(args) >= 2:
            written.append(args[-1])
        elif name == "run_cell_magic" and len(args) >= 2 and args[0] == "writefile":
            written.append((args[1] or "").split()[-1] if (args[1] or "").split() else None)
        for path in written:
            if path and looks_like_path(path):
                self.files.written.add(path)


def _called(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None
