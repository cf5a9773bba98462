"""The tests' helper kits (tests/README.md lists what each holds and which start servers).

tests/ is on sys.path (the root conftest), so a test imports `from support.servers import …`.
"""
