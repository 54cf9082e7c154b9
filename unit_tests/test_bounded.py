"""The bounded pool: at most ``depth`` pending tasks, and at most ``budget`` bytes of them."""
import threading
import time

from destination_databricks.bounded import BoundedExecutor


def _peak(pool: BoundedExecutor, weights: list[int]) -> tuple[int, int]:
    running, most, most_bytes, held = [0], [0], [0], [0]
    lock = threading.Lock()

    def task(weight: int) -> None:
        with lock:
            running[0] += 1
            held[0] += weight
            most[0], most_bytes[0] = max(most[0], running[0]), max(most_bytes[0], held[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
            held[0] -= weight

    futures = [pool.submit(task, w, weight=w) for w in weights]
    for f in futures:
        f.result()
    pool.close()
    return most[0], most_bytes[0]


def test_small_tasks_run_up_to_the_depth_at_once():
    assert _peak(BoundedExecutor(8, 8, "t", budget=1000), [10] * 32) == (8, 80)


def test_heavy_tasks_stay_within_the_byte_budget_and_one_over_it_runs_alone():
    most, most_bytes = _peak(BoundedExecutor(8, 8, "t", budget=100), [40] * 12)
    assert most == 2 and most_bytes == 80
    assert _peak(BoundedExecutor(8, 8, "t", budget=100), [500, 500, 10]) == (1, 500)
