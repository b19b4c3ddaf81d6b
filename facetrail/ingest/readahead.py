"""Running an iterator on its own thread, a few items ahead of its consumer.

Decoding (PyAV) and analysis (OpenCV, dlib) spend their time in C code that
releases the GIL, so a reader thread lets one file use both cores while the
consumer still sees exactly the same items in exactly the same order.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")
_END = object()
_POLL_S = 0.1


def _put(slots: queue.Queue, item: tuple, stop: threading.Event) -> bool:
    """Wait for a free slot; False when the consumer went away first."""
    while not stop.is_set():
        try:
            slots.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _produce(items: Iterator[T], slots: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(slots, (item, None), stop):
                return
        _put(slots, (_END, None), stop)
    except BaseException as exc:  # handed to the consumer, which raises it where the items are used (and never waits forever)
        _put(slots, (_END, exc), stop)
    finally:
        close = getattr(items, "close", None)
        if close is not None:  # a generator's own cleanup (closing the container) runs on its thread
            close()


def read_ahead(items: Iterator[T], depth: int, name: str = "read-ahead") -> Iterator[T]:
    """The items of `items`, produced on a thread up to `depth` ahead; its exceptions re-raised here."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(items, slots, stop), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = slots.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()
