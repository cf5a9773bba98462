"""YAML text whose bytes do not depend on how PyYAML was built: libyaml's emitter where it writes
what the pure-Python one writes (ten times faster), the pure-Python one otherwise. Generated files
(`pipeline.yaml`) are deterministic on every machine."""

from __future__ import annotations

import re


def dump(data: dict) -> str:
    """`data` as YAML: through libyaml's emitter where its bytes are the pure-Python emitter's
    (0.5 s of a 100-step compile otherwise), else through the pure-Python one, so that the bytes
    never depend on whether PyYAML was built with libyaml.

    The two emitters differ on strings YAML must double-quote (control characters, tabs, lines
    that end in spaces), on U+0085, U+FEFF and characters beyond the BMP, and on strings that
    begin or end in white space (other than one final newline). The representer notes any such
    string; the data is then emitted again by the pure-Python emitter.
    """
    import yaml

    fast = getattr(yaml, "CSafeDumper", None)
    odd: list[str] = []
    if fast is not None:
        text = yaml.dump(data, Dumper=_dumper(fast, odd), **_STYLE)
        if not odd:
            return text
    return yaml.dump(data, Dumper=_dumper(yaml.SafeDumper, None), **_STYLE)


_STYLE = {"sort_keys": False, "allow_unicode": True, "width": 100}
# Characters both emitters write as they are in plain, single-quoted and literal-block style.
_BOTH_EMIT_AS_IS = re.compile("[\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")


def _dumper(base: type, odd: list[str] | None) -> type:
    class _Dumper(base):
        pass

    def _str(dumper, value: str):
        # Code and markdown as literal blocks; YAML cannot keep trailing spaces in one.
        lines = value.splitlines()
        block = "\n" in value and not any(line != line.rstrip() for line in lines)
        if odd is not None and not odd:
            body = value[:-1] if value.endswith("\n") else value
            if (
                not _BOTH_EMIT_AS_IS.fullmatch(value)
                or value[:1].isspace()
                or body != body.rstrip()
                or ("\n" in value and not block)  # double-quoted
            ):
                odd.append(value)
        style = "|" if block else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return _Dumper
