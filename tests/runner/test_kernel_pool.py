"""How many kernels the pool starts, and when: the scheduler's branches need them at once."""

from __future__ import annotations

from runkit import code, write_notebook

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.runner.isolation import width
from nb2pipe.runner.kernels import KernelPool


def starting(pool: KernelPool, monkeypatch) -> list[int]:
    """Record each kernel start instead of starting one."""
    started: list[int] = []

    def fake_start(self):
        started.append(1)

    monkeypatch.setattr(KernelPool, "_start_one", fake_start)
    return started


def test_branches_get_their_kernels_started_side_by_side(monkeypatch):
    pool = KernelPool("python3", ".", "", size=2, starts=2)
    started = starting(pool, monkeypatch)
    pool.expect(5)
    assert pool._starting == 2  # both start now, not the second once the first is warm
    assert len(started) in (1, 2)  # the threads may not have run yet


def test_one_start_at_a_time_unless_asked(monkeypatch):
    pool = KernelPool("python3", ".", "", size=2)
    starting(pool, monkeypatch)
    pool.expect(5)
    assert pool._starting == 1


def test_never_more_kernels_than_the_pool_size(monkeypatch):
    pool = KernelPool("python3", ".", "", size=2, starts=4)
    starting(pool, monkeypatch)
    pool.expect(10)
    assert pool._starting == 2


def test_width_is_the_most_steps_that_can_run_at_once(tmp_path):
    diamond = write_notebook(
        tmp_path / "diamond.ipynb",
        code("a = 1", "step:a"),
        code("b = a + 1", "step:b"),
        code("c = a + 2", "step:c"),
        code("d = b + c", "step:d"),
    )
    chain = write_notebook(
        tmp_path / "chain.ipynb",
        code("a = 1", "step:a"),
        code("b = a + 1", "step:b"),
    )
    assert width(compile_notebook(diamond)) == 2
    assert width(compile_notebook(chain)) == 1
