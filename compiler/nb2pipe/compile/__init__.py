"""The compile pipeline: a notebook's cells and tags → the pipeline (ir) and its file.

notebook cells → tags, parameters → analysis (facts, visitor, calls, effects, paths) →
grouping → resolve (carried) → ir → build (step notebooks) and pipeline_file; compiler
drives it (compile_notebook); show prints it."""
