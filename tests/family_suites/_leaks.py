"""The leak every family suite makes: a daemon thread blocked on an event nobody sets."""

import threading

_never = threading.Event()


def leak_thread(name: str) -> None:
    threading.Thread(target=_never.wait, name=name, daemon=True).start()
