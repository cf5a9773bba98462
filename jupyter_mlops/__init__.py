"""jupyter-mlops: tracking, registry, validation and the Jupyter surfaces of nb2pipe."""

__version__ = "0.1.0"
