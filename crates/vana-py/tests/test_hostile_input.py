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
