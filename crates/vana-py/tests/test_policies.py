"""``http.input_policies`` resolved as the Rust layer resolves them."""

import pytest

from vana_ops.policies import Policies

POLICIES = {
    "default": {"action": "block", "query": {"q": "detect"}},
    "routes": {
        "/run": {"json": {"/newMessage/parts/*/text": "detect", "/newMessage/parts/*/text/raw": "off"}},
        "/agents/{id}": {"action": "detect", "query": {"token": "off", "*": "block"}},
        "/static/{*path}": {"action": "off"},
    },
}


def test_the_most_specific_entry_wins():
    policies = Policies(POLICIES)
    agents = policies.for_path("/agents/42")
    assert agents.action("query", "token") == "off"
    assert agents.action("query", "other") == "block", "the location's *"
    assert agents.action("path") == "detect", "the route's action"
    assert policies.for_path("/elsewhere").action("query", "q") == "detect", "the default's named field"
    assert policies.for_path("/elsewhere").action("path") == "block"
    assert policies.for_path("/static/a/b.css").action("body") == "off"
    assert policies.for_path("/agents/42/extra").action("path") == "block", "templates match whole paths"


def test_json_pointers_with_wildcards_cover_what_is_inside_and_the_longest_wins():
    run = Policies(POLICIES).for_path("/run")
    assert run.json_action(["newMessage", "parts", "0", "text"]) == "detect"
    assert run.json_action(["newMessage", "parts", "7", "text", "raw"]) == "off"
    assert run.json_action(["newMessage", "parts", "0", "text", "inner"]) == "detect", "covers inside"
    assert run.json_action(["newMessage", "role"]) == "block"


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="block, detect or off"):
        Policies({"default": {"action": "allow"}})


def test_the_shipped_vana_recipe_detects_the_chat_message_and_blocks_the_rest():
    from pathlib import Path

    from vana_ops import load_config

    recipe = Path(__file__).resolve().parents[3] / "config" / "examples" / "vana"
    policies = Policies(load_config(str(recipe), env=False)["security"]["http"]["input_policies"])
    run = policies.for_path("/run_sse")
    assert run.json_action(["newMessage", "parts", "0", "text"]) == "detect"
    assert run.json_action(["appName"]) == "block"
    assert policies.for_path("/list-apps").action("query", "x") == "block"
    defaults = Policies(load_config(env=False)["security"]["http"]["input_policies"])
    assert defaults.for_path("/anything").action("path") == "block"
