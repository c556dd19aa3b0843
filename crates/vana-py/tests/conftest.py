"""What the test modules share: an ASGI app served by a real uvicorn on a free loopback port."""

import contextlib
import socket
import threading
import time

import uvicorn


def free_port() -> int:
    """A loopback port free now (for a server started next to take)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served(app, *, lifespan: str = "off", within: float = 20):
    """``app`` under uvicorn in a thread; yields its base URL, stops it on exit."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + within
    while not instance.started:
        assert time.time() < deadline, "uvicorn started"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)
