"""nb2pipe: compile a tagged notebook into a pipeline of standalone step notebooks."""

__version__ = "0.1.0"
