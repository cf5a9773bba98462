from pathlib import Path

from jupyter_mlops.tracking import config


def test_embedded_store_in_project_root(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    notebooks = tmp_path / "notebooks" / "deep"
    notebooks.mkdir(parents=True)
    assert config.tracking_uri(notebooks) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert config.project_root(notebooks) == tmp_path.resolve()


def test_git_folder_is_a_project_root(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "src").mkdir()
    assert config.tracking_uri(tmp_path / "src") == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_pyproject_table_then_environment(tmp_path: Path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\ntracking_uri = "http://mlflow.example:5000"\nexperiment = "wine"\n'
    )
    assert config.tracking_uri(tmp_path) == "http://mlflow.example:5000"
    assert config.experiment_name("pipeline", tmp_path) == "wine"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://other:5000")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    assert config.tracking_uri(tmp_path) == "http://other:5000"
    assert config.experiment_name("pipeline", tmp_path) == "from-env"


def test_relative_sqlite_in_pyproject_is_relative_to_it(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\ntracking_uri = "sqlite:///stores/team.db"\n'
    )
    (tmp_path / "sub").mkdir()
    expected = f"sqlite:///{tmp_path.resolve() / 'stores' / 'team.db'}"
    assert config.tracking_uri(tmp_path / "sub") == expected


def test_experiment_defaults_to_the_pipeline_name(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert config.experiment_name("breast_cancer_diagnosis", tmp_path) == "breast_cancer_diagnosis"
    assert config.experiment_name(None, tmp_path) == "Default"


def test_artifacts_beside_an_embedded_database(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert config.sqlite_artifact_root(uri) == (tmp_path / "mlartifacts").resolve().as_uri()
    assert config.sqlite_artifact_root("http://host:5000") is None
