"""The Jupyter server extension: JSON routes under ``/mlops/`` for the sidebar.

`routes.setup_route_handlers` registers them; the contract they implement is
``jupyter_mlops/SIDEBAR_API.md``. Nothing here imports mlflow, pandas or scipy at import time:
each handler imports what it needs when it is first called.
"""
