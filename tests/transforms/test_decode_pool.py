"""The decode children of a process are shared: a task runs on whichever child is free."""
import pytest

from fixtures.faulty import create_file, wait_for_file
from transforms import decode_pool
from transforms.isolation import ChildFailed

PRELOAD = ("fixtures.faulty",)


def test_a_second_task_runs_while_the_first_still_holds_its_child(tmp_path):
    pool = decode_pool.ChildPool()
    for _ in range(2):
        pool.add(decode_pool.IsolatedCall(30, preload=PRELOAD))
    signal = str(tmp_path / "go")
    # The first task only returns once the second has run: with one child at a time it never would.
    waiting = pool.submit(wait_for_file, signal, 20)
    creating = pool.submit(create_file, signal)
    assert waiting.result(timeout=60) != creating.result(timeout=60)
    for _ in range(2):
        pool.remove()
    assert pool.size == 0


def test_one_child_runs_tasks_one_at_a_time(tmp_path):
    pool = decode_pool.ChildPool()
    pool.add(decode_pool.IsolatedCall(3, preload=PRELOAD))
    signal = str(tmp_path / "go")
    waiting = pool.submit(wait_for_file, signal, 60)
    creating = pool.submit(create_file, signal)
    with pytest.raises(ChildFailed):  # the child is killed at its 3 s timeout, still waiting
        waiting.result(timeout=60)
    assert creating.result(timeout=60) > 0  # and the next task gets a fresh child
    pool.remove()


def test_instances_with_the_same_settings_join_one_pool():
    first = decode_pool.join_pool(17.0, PRELOAD)
    second = decode_pool.join_pool(17.0, PRELOAD)
    other = decode_pool.join_pool(18.0, PRELOAD)
    try:
        assert first is second and first.size == 2
        assert other is not first and other.size == 1
    finally:
        for pool in (first, second, other):
            decode_pool.leave_pool(pool)
