"""The decode children of a process are shared: a task runs on whichever child is free, and
streams its results back through a short queue."""
import time

import pytest

from tests.transforms.faulty import append_line, count_to, create_file, wait_for_file
from transforms import decode_pool
from transforms.isolation import ChildFailed

PRELOAD = ("tests.transforms.faulty",)


def result(task):
    [value] = task
    return value


def test_a_second_task_runs_while_the_first_still_holds_its_child(tmp_path):
    pool = decode_pool.ChildPool()
    for _ in range(2):
        pool.add(decode_pool.IsolatedCall(30, preload=PRELOAD))
    signal = str(tmp_path / "go")
    # The first task only returns once the second has run: with one child at a time it never would.
    waiting = pool.submit(wait_for_file, signal, 20)
    creating = pool.submit(create_file, signal)
    assert result(waiting) != result(creating)
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
        result(waiting)
    assert result(creating) > 0  # and the next task gets a fresh child
    pool.remove()


def test_a_child_running_ahead_of_its_reader_waits_once_the_queue_is_full(tmp_path):
    pool = decode_pool.ChildPool()
    pool.add(decode_pool.IsolatedCall(2, preload=PRELOAD))
    progress = tmp_path / "made"
    task = pool.submit(count_to, 100, str(progress))
    made_so_far = lambda: int((progress.read_text() if progress.exists() else "") or 0)  # noqa: E731
    deadline = time.monotonic() + 60  # a loaded machine starts the child late
    while made_so_far() < decode_pool.QUEUED_RESULTS and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # time to run further ahead, were it able to
    made = made_so_far()
    # The queue, one item in the pool's hand and one in the child's: nothing further.
    assert decode_pool.QUEUED_RESULTS <= made <= decode_pool.QUEUED_RESULTS + 2
    numbers = []
    for number, _ in task:  # a slow reader: 3 s in all, past the child's 2 s timeout
        numbers.append(number)
        time.sleep(0.03)
    assert numbers == list(range(100))  # in order, all of them, no timeout: waiting on the
    pool.remove()                       # reader is not the child's time


def test_tasks_get_children_in_the_order_they_came(tmp_path):
    pool = decode_pool.ChildPool()
    pool.add(decode_pool.IsolatedCall(30, preload=PRELOAD))
    signal, log = str(tmp_path / "go"), tmp_path / "log"
    first = pool.submit(wait_for_file, signal, 20)  # holds the only child
    time.sleep(0.5)
    later = [pool.submit(append_line, str(log), n) for n in range(8)]
    create_file(signal)
    assert [result(task) for task in [first] + later][1:] == list(range(8))
    assert log.read_text().split() == [str(n) for n in range(8)]
    pool.remove()


def test_a_cancelled_task_frees_its_child_for_the_next(tmp_path):
    pool = decode_pool.ChildPool()
    pool.add(decode_pool.IsolatedCall(30, preload=PRELOAD))
    abandoned = pool.submit(count_to, 1000, str(tmp_path / "made"))
    assert next(iter(abandoned))[0] == 0
    abandoned.cancel()  # its child is stopped mid-stream and replaced
    assert result(pool.submit(create_file, str(tmp_path / "next"))) > 0
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
