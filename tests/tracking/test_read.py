"""Runs read back in domain words: what the sidebar's routes and `%mlops runs` show."""

from __future__ import annotations

from jupyter_mlops.tracking import read
from jupyter_mlops.tracking import tags as tag


def test_runs_are_read_in_domain_words(client, unique):
    experiment = client.create_experiment(unique)
    pipeline = client.create_run(
        experiment,
        run_name="wine · C=0.5",
        tags={tag.KIND: "pipeline", tag.RUN_ID: "20261206-234512-de8128", tag.STATUS: "succeeded"},
    )
    parent = pipeline.info.run_id
    cached = client.create_run(
        experiment,
        run_name="load",
        tags={
            tag.PARENT: parent,
            tag.STEP: "load",
            tag.RUN_ID: "20261206-234512-de8128",
            tag.STATUS: "cached",
            tag.CACHED_FROM: "20261201-101010-aaaaaa",
            f"{tag.ARTIFACT}df.serializer": "arrow",
            f"{tag.ARTIFACT}df.sha256": "0" * 64,
        },
    )
    client.set_terminated(cached.info.run_id, "FINISHED")
    client.set_terminated(parent, "FINISHED")
    loose = client.create_run(experiment, run_name="bold-cat-123")
    client.set_terminated(loose.info.run_id, "FAILED")

    detail = read.run_detail(client, parent)
    run, [step] = detail["run"], detail["children"]
    assert (run["kind"], run["status"], run["name"]) == ("pipeline", "succeeded", "wine · C=0.5")
    assert run["pipeline_run"] == "20261206-234512-de8128"
    # a cached step is "cached", as everywhere else, not MLflow's FINISHED
    assert (step["kind"], step["status"], step["step"]) == ("step", "cached", "load")
    assert step["mlflow_status"] == "FINISHED"
    assert step["cached_from"] == "20261201-101010-aaaaaa"
    assert step["artifacts"] == {"df": {"serializer": "arrow"}}
    other = read.run_dict(client.get_run(loose.info.run_id))
    assert (other["kind"], other["status"], other["name"]) == ("run", "failed", "bold-cat-123")


def test_recent_runs_count_top_level_runs_and_nest_steps(client, unique):
    experiment = client.create_experiment(unique)
    for i in range(3):
        parent = client.create_run(experiment, run_name=f"p{i}", tags={tag.KIND: "pipeline"})
        for step in ("a", "b", "c", "d"):
            client.create_run(
                experiment,
                run_name=step,
                tags={tag.PARENT: parent.info.run_id, tag.STEP: step},
            )
    client.create_run(experiment, run_name="by hand")
    runs = read.recent_runs(client, unique, n=3)
    # 3 of the latest are 3 top-level runs, not 3 of the 12 step runs
    assert [r["name"] for r in runs] == ["by hand", "p2", "p1"]
    assert [s["step"] for s in runs[1]["steps"]] == ["a", "b", "c", "d"]
    assert runs[0]["steps"] == []
