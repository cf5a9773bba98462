"""The MLflow tags a pipeline run or a sweep carries: written by runlog and sweeps, read back by
read, spelled nowhere else.

Readers turn them into domain words (a run's kind, its nb2pipe status, its pipeline run and
step, what a step saved), so that no surface, the sidebar least of all, parses tag names.
"""

RUN_ID = "nb2pipe.run_id"  # on the pipeline's run and on each step's
STEP = "nb2pipe.step"  # on a step's run: the step's name
STATUS = "nb2pipe.status"  # succeeded / failed / cancelled; a step's done / cached / failed ...
CACHED_FROM = "nb2pipe.cached_from"  # on a cached step: the run it was reused from
ARTIFACT = "nb2pipe.artifact."  # nb2pipe.artifact.<name>.(uri|sha256|serializer)
# "pipeline" on a pipeline's run, and on no other run: the Experiments view searches for it
# in the store itself, so paging never counts step or publish runs. Step runs go without (they
# carry nb2pipe.step): the search then reads one tag per pipeline run, not one per run (with
# 10,000 pipelines of 5 steps, 0.15 s instead of 0.33 s for the first page, in SQLite).
KIND = "nb2pipe.kind"
# "sweep" on a sweep's own run, "trial" on each trial's pipeline run (nested under the sweep's).
PARENT = "mlflow.parentRunId"  # MLflow's own: the run a nested run belongs to
SWEEP_ID = "nb2pipe.sweep_id"  # on a sweep's run and its trials': the sweep folder's id
TRIAL = "nb2pipe.trial"  # on a trial's run: its number in the sweep
BEST = "nb2pipe.best"  # "true" on the best trial's run
BEST_TRIAL = "nb2pipe.best_trial"  # on the sweep's run: the best trial's number
