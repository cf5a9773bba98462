"""Text helpers imported inside a step by a fidelity corpus notebook (a local module)."""

import re


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
