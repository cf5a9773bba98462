"""The root conftest of the tests: its presence is what makes the shared helper modules of this
folder (notebooks.py, servers.py, commands.py) importable from every test folder.

pytest runs in its default "prepend" import mode and no test folder is a package: importing
this file puts tests/ at the front of sys.path, as importing each folder's conftest and test
modules puts that folder there (hence `from runkit import …`). pytest imports the conftest
files of all the folders above a test before the test itself, so this holds for a single test
file run on its own too.
"""
