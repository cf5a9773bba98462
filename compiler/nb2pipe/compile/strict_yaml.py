"""YAML read back as strictly as we write it: safe types only, and no key given twice.

PyYAML's safe loader keeps the last of two equal keys in a mapping (`name: a` then `name: b`
reads as `b`), so a hand-edited or spliced file would run with one of the two values, silently.
Every YAML file nb2pipe and jupyter_mlops read back (pipeline.yaml, data schemas) goes through
`load`, which refuses it, naming the line of the second key.
"""

from __future__ import annotations

import functools
from typing import Any


def load(text: str, *, aliases: bool = True) -> Any:
    """The document in `text`; a `yaml.YAMLError` for bad YAML or a key given twice (its
    first line says which key, and where).

    `aliases=False` refuses `*name` too, for files written without any: a few hundred bytes of
    nested aliases stand for billions of items, which whoever walks the value pays for."""
    import yaml

    loader = _loader()
    if not aliases:  # libyaml's composer cannot be overridden: its events are read first
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1
                raise _errors()(f"line {line}: an alias (*{event.anchor}) is not allowed")
    return yaml.load(text, Loader=loader)  # a safe loader: no Python objects


@functools.cache
def _errors():
    import yaml

    class StrictYamlError(yaml.YAMLError):  # a key given twice, an alias where none may be
        pass

    return StrictYamlError


@functools.cache
def _loader():
    import yaml

    DuplicateKeyError = _errors()

    # libyaml's parser where PyYAML has it (several times faster); the mapping check is ours
    class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # `<<: *base` then a key of base: an override, as YAML says
                    key = self.construct_object(key_node, deep=True)
                    try:
                        twice = key in seen
                        seen.add(key)
                    except TypeError:
                        continue  # an unhashable key: SafeLoader refuses it itself
                    if twice:
                        line = key_node.start_mark.line + 1
                        raise DuplicateKeyError(f"line {line}: the key {key!r} is given twice")
            return super().construct_mapping(node, deep=deep)

    return StrictLoader
