"""Bad input gets a Python exception or a plain answer, never a crash: random text (every code point class,
lone surrogates included) through every entry point that takes text, and random YAML through the loader."""

import random

import pytest

from vana_ops import ConfigError, PerformanceMonitor, SecurityManager, load_config

RANDOM = random.Random(20261205)


def random_text(length):
    """Text of every kind but lone surrogates (not encodable; the test below covers them)."""
    alphabets = [
        lambda: chr(RANDOM.randrange(0x20, 0x7F)),
        lambda: chr(RANDOM.randrange(0x80, 0x800)),
        lambda: chr(RANDOM.choice([RANDOM.randrange(0x800, 0xD800), RANDOM.randrange(0xE000, 0x110000)])),
        lambda: RANDOM.choice("'\"<>;|&$`\\/%{}()=*-#\0\n\r\t"),
    ]
    return "".join(RANDOM.choice(alphabets)() for _ in range(length))


def test_random_text_never_crashes_the_security_manager():
    security = SecurityManager()
    for _ in range(400):
        text = random_text(RANDOM.randrange(0, 300))
        passed, message = security.validate_input(text)
        assert isinstance(passed, bool) and message
        assert security.validate_csrf_token(text, text, text) in (True, False)
        assert security.is_ip_blocked(text) in (True, False)
        assert security.check_rate_limit(text, limit=5, window_seconds=1) in (True, False)
        try:
            security.block_ip(text)
        except ValueError:
            pass


def test_lone_surrogates_are_a_python_error_not_a_crash():
    security = SecurityManager()
    with pytest.raises(UnicodeEncodeError):
        security.validate_input("abc\ud800def")
    monitor = PerformanceMonitor()
    with pytest.raises(UnicodeEncodeError):
        monitor.record_metric("x\udfff", 1.0)


def test_random_names_tags_and_values_never_crash_the_monitor():
    monitor = PerformanceMonitor()
    for _ in range(300):
        name = random_text(RANDOM.randrange(0, 40))
        value = RANDOM.choice([0.0, -1e308, 1e308, float("inf"), float("-inf"), float("nan"), RANDOM.random()])
        monitor.record_metric(name, value, random_text(5), tags={random_text(8): random_text(8)})
        monitor.get_summary(name)
        try:
            monitor.set_threshold(name, RANDOM.random(), RANDOM.random())
        except ValueError:
            pass
    assert "vana_" in monitor.prometheus()


def test_random_yaml_is_a_config_error_with_located_problems(tmp_path):
    for index in range(40):
        directory = tmp_path / str(index)
        (directory / "security").mkdir(parents=True)
        text = random_text(RANDOM.randrange(1, 200))
        (directory / "security" / "security_policies.yaml").write_text(text, errors="replace")
        try:
            load_config(str(directory))
        except ConfigError as error:
            assert error.problems and all(isinstance(problem, str) for problem in error.problems)


def random_bytes(length):
    return bytes(RANDOM.randrange(256) for _ in range(length))


def test_random_requests_and_out_of_order_calls_never_crash_the_layer():
    """Random methods, targets, headers and bodies, and the exchange's calls in any order: an answer or a
    Python exception, never a crash; the request feed's cap holds."""
    from vana_ops import Ops
    from vana_ops._native import HttpLayer

    layer = HttpLayer(Ops(), ["/items/{id}", "/files/{*rest}"])
    methods = ["GET", "POST", "PUT", "DELETE", "BREW", "", "G\x00T", "get"]
    calls = ["decide", "feed", "gone", "read", "start", "send", "failed"]
    for _ in range(300):
        headers = [(random_bytes(RANDOM.randrange(0, 12)), random_bytes(RANDOM.randrange(0, 30)))
                   for _ in range(RANDOM.randrange(0, 6))]
        if RANDOM.random() < 0.5:
            headers.append((b"content-type", RANDOM.choice([b"application/json", b"text/plain", b"multipart/form-data; boundary=x"])))
            headers.append((b"content-length", str(RANDOM.randrange(0, 100)).encode()))
        client = RANDOM.choice([None, ("198.51.100.7", 1), (random_text(8), 2), ("::1", 3)])
        try:
            exchange = layer.exchange(RANDOM.choice(methods), random_bytes(RANDOM.randrange(0, 60)), headers, client)
        except ValueError:
            continue
        for _ in range(RANDOM.randrange(1, 12)):
            call = RANDOM.choice(calls)
            try:
                if call == "decide":
                    assert exchange.decide()[0] in ("body", "wait", "forward", "respond")
                elif call == "feed":
                    assert exchange.feed_request(random_bytes(RANDOM.randrange(0, 50)), RANDOM.random() < 0.7) in (True, False)
                elif call == "gone":
                    exchange.client_gone()
                elif call == "read":
                    assert exchange.read_body()[0] in ("data", "end", "body", "wait", "gone")
                elif call == "start":
                    exchange.start_response(RANDOM.choice([200, 404, 500, 99, 1000]), headers)
                elif call == "send":
                    chunks, ended = exchange.send_body(random_bytes(RANDOM.randrange(0, 40)), RANDOM.random() < 0.5)
                    assert isinstance(chunks, list) and ended in (True, False)
                else:
                    exchange.app_failed()
            except (ValueError, RuntimeError):
                pass
    exchange = layer.exchange("POST", b"/items/1", [(b"content-type", b"application/octet-stream"), (b"transfer-encoding", b"chunked")], ("198.51.100.8", 1))
    accepted = [exchange.feed_request(b"x", True) for _ in range(100)]
    assert accepted.count(True) == 64 and accepted[-1] is False, "the feed holds at most 64 unread chunks"
