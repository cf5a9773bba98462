"""Apache Airflow 3, the image form: one `KubernetesPodOperator` per step, running its image.

The same DAG as the ``airflow`` target's (`airflow.py`: params, edges, retries, timeouts),
but each task is a pod running the step's image, as in the KFP and Argo exports: the launcher
on the step notebook baked into the image. ``cpu:``/``memory:``/``gpu:`` tags become the
container's limits. The steps of a DAG run share a run folder on a ReadWriteMany
PersistentVolumeClaim that every pod mounts, since Airflow passes no files between tasks.
"""

from __future__ import annotations

from ..compile.ir import Pipeline, Step
from ..rendering import render_template
from .airflow import dag_context, py, step_call
from .argo import argo_name
from .dockerfile import STEP_NOTEBOOK
from .kfp import GPU_RESOURCE, LAUNCH


def limits(step: Step) -> dict[str, str]:
    """The container's resource limits from the step's tags (Kubernetes quantities)."""
    found = {}
    if step.resources.cpu:
        found["cpu"] = str(step.resources.cpu)
    if step.resources.memory:
        found["memory"] = step.resources.memory
    if step.resources.gpu:
        found[GPU_RESOURCE] = str(step.resources.gpu)
    return found


def render_kubernetes(pipeline: Pipeline, images: dict[str, str]) -> str:
    """The DAG file of the ``airflow-kubernetes`` target."""
    context = dag_context(pipeline, "airflow-kubernetes")
    context["steps"] = [
        line
        for s in pipeline.steps
        for line in step_call(s, pipeline, image=images[s.name], limits=limits(s))
    ]
    context.update(pod_prefix=argo_name(pipeline.name), notebook=STEP_NOTEBOOK, command=LAUNCH)
    return render_template("airflow/kubernetes_dag.py.j2", filters={"py": py}, **context)


class AirflowKubernetesTarget:
    name = "airflow-kubernetes"
    description = "Apache Airflow 3 DAG (a DAGs folder), one KubernetesPodOperator per step image"

    def export(self, pipeline: Pipeline, images: dict[str, str]) -> str:
        return render_kubernetes(pipeline, images)

    def export_folder(self, pipeline, images, compiled, output) -> None:
        """Write the DAG file into the DAGs folder `output` (the notebooks are in the images)."""
        from .airflow import dag_id, write_dags_folder

        write_dags_folder(output, {f"{dag_id(pipeline)}.py": self.export(pipeline, images)})
