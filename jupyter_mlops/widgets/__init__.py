"""ipywidgets views in a notebook: a pipeline run watched live, the runs table."""
