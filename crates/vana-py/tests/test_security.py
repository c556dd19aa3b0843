"""SecurityManager and SecurityEvent, from the specification."""

import time

import pytest

from vana_ops import SecurityEvent, SecurityManager


def test_validate_input_messages():
    security = SecurityManager()
    assert security.validate_input("What is the capital of France?") == (True, "Input validation passed")
    assert security.validate_input("a" * 10001) == (False, "Input exceeds maximum length of 10000")
    assert security.validate_input("abc", max_length=2) == (False, "Input exceeds maximum length of 2")
    passed, message = security.validate_input("<script>alert(1)</script>")
    assert not passed and message.startswith("Suspicious pattern detected: xss (rule ")
    passed, message = security.validate_input("1 UNION SELECT password FROM users")
    assert not passed and "sql_injection" in message
    passed, message = security.validate_input("../../etc/passwd")
    assert not passed and "path_traversal" in message


def test_validate_input_lets_chat_about_code_through():
    security = SecurityManager()
    for question in ["How do I select rows in SQL?", "What does `ls -la` print?", "what's 2 < 3?"]:
        assert security.validate_input(question)[0], question


def test_check_rate_limit_counts_per_identifier():
    security = SecurityManager()
    assert [security.check_rate_limit("client-a", limit=3, window_seconds=60) for _ in range(4)] == [True, True, True, False]
    assert security.check_rate_limit("client-b", limit=3, window_seconds=60)
    assert not security.check_rate_limit("client-c", limit=0)


def test_block_ip_records_an_event_and_unknown_text_is_not_blocked():
    security = SecurityManager()
    assert not security.is_ip_blocked("203.0.113.9")
    assert security.block_ip("203.0.113.9") is True
    assert security.is_ip_blocked("203.0.113.9")
    assert "203.0.113.9" in security.blocked_ips
    [event] = security.security_events
    assert isinstance(event, SecurityEvent)
    assert (event.event_type, event.severity, event.source_ip) == ("ip_blocked", "high", "203.0.113.9")
    assert event.details["reason"] == "Security violation"
    assert not security.is_ip_blocked("not an address")
    with pytest.raises(ValueError):
        security.block_ip("not an address")


def test_one_critical_event_is_recorded_and_repeated_refusals_block():
    # A difference from the specification (README): one event never blocks, five refused attacks do.
    security = SecurityManager()
    security.log_security_event("login_bruteforce", "critical", "198.51.100.7", "curl/8", {"attempts": 50})
    assert not security.is_ip_blocked("198.51.100.7")
    assert [security.record_refused_attack("198.51.100.7") for _ in range(5)] == [False] * 4 + [True]
    assert security.is_ip_blocked("198.51.100.7")
    assert not any(security.record_refused_attack("127.0.0.1") for _ in range(10)), "the whitelist is never blocked"
    first = security.security_events[0]
    assert first.event_type == "login_bruteforce" and first.details == {"attempts": 50} and first.user_agent == "curl/8"
    with pytest.raises(ValueError):
        security.log_security_event("x", "apocalyptic", "198.51.100.8", "", {})


def test_csrf_tokens_in_the_specifications_format():
    security = SecurityManager()
    token = security.generate_csrf_token("session-1", "secret")
    timestamp, signature = token.split(":", 1)
    assert abs(int(timestamp) - time.time()) < 5 and len(signature) == 64
    assert security.validate_csrf_token(token, "session-1", "secret")
    assert not security.validate_csrf_token(token, "session-2", "secret")
    assert not security.validate_csrf_token(token, "session-1", "other-secret")
    old = f"{int(time.time()) - 7200}:{signature}"
    assert not security.validate_csrf_token(old, "session-1", "secret")
    for broken in ["", ":", "abc:def", "1:" + "0" * 64]:
        assert not security.validate_csrf_token(broken, "session-1", "secret")


def test_security_headers():
    headers = SecurityManager().get_security_headers()
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in headers


def test_a_rate_limit_decision_says_how_long_to_wait():
    security = SecurityManager()
    assert security.rate_limit_decision("client-w", limit=1, window_seconds=60) == (True, 0.0)
    allowed, wait = security.rate_limit_decision("client-w", limit=1, window_seconds=60)
    assert not allowed and 59.0 < wait <= 60.0, wait
