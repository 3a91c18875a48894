"""Running the same work from many threads at once, each with its own database connection."""

import threading

from django.db import connection


def run_together(count: int, work) -> list:
    """work(i) in `count` threads released at once; each outcome is a result or the exception."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def thread(i):
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
