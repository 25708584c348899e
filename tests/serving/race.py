"""Feedback for one user from 4 threads while the user is deleted 5 times (the delete/feedback race)."""

import itertools
import threading
import time
from collections.abc import Callable


def race(post: Callable[[str], bool], delete: Callable[[], int], pause: float) -> tuple[set[str], set[str]]:
    """Run the race; ``post(event_id)`` says whether the event was acknowledged, ``delete()`` returns
    the status code. Returns the event ids acknowledged before the last DELETE was sent, and all
    acknowledged ones."""
    ids = itertools.count()
    acks: list[tuple[float, str]] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            event_id = f"race-{next(ids)}"
            if post(event_id):
                acks.append((time.monotonic(), event_id))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    last_sent = 0.0
    for _ in range(5):
        time.sleep(pause)
        last_sent = time.monotonic()
        assert delete() in (200, 404)
    stop.set()
    for thread in threads:
        thread.join()
    return {event_id for at, event_id in acks if at < last_sent}, {event_id for _, event_id in acks}
