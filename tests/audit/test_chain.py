"""The pure hash-chain functions, without a database."""

from datetime import UTC, datetime

from apps.audit.chain import GENESIS_HASH, compute_hash, normalise, verify_events


def _chain(n: int) -> list[dict]:
    events, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        event = {
            "id": i,
            "sequence": i,
            "occurred_at": datetime(2026, 1, 1, 12, 0, i, tzinfo=UTC),
            "actor_id": 1,
            "actor_username": "ada",
            "action": "update",
            "object_type": "inventory.registeredmodel",
            "object_id": "7",
            "object_repr": "Credit scoring",
            "model_ref": 7,
            "changes": {"purpose": {"before": "a", "after": f"b{i}"}},
            "message": "",
            "request_id": "r",
            "client_ip": "127.0.0.1",
            "prev_hash": prev,
        }
        event["hash"] = compute_hash(event)
        prev = event["hash"]
        events.append(event)
    return events


def test_it_accepts_an_intact_chain():
    events = _chain(5)
    result = verify_events(events, expected_count=5, expected_head=events[-1]["hash"])
    assert result.ok
    assert result.count == 5
    assert result.head_hash == events[-1]["hash"]


def test_it_names_the_altered_event():
    events = _chain(5)
    events[2]["changes"] = {"purpose": {"before": "a", "after": "forged"}}
    result = verify_events(events)
    assert not result.ok
    assert result.broken_sequence == 3
    assert "altered" in result.reason


def test_it_catches_a_removed_event():
    events = _chain(5)
    del events[1]
    result = verify_events(events)
    assert not result.ok
    assert result.broken_sequence == 3


def test_it_catches_reordered_events():
    events = _chain(5)
    events[1], events[2] = events[2], events[1]
    assert not verify_events(events).ok


def test_it_catches_a_cut_tail_against_the_head():
    events = _chain(5)
    result = verify_events(events[:4], expected_count=5, expected_head=events[-1]["hash"])
    assert not result.ok
    assert "5" in result.reason


def test_the_hash_covers_the_previous_hash():
    event = _chain(1)[0]
    changed = {**event, "prev_hash": "f" * 64}
    assert compute_hash(changed) != event["hash"]


def test_normalised_values_read_back_the_same_from_postgresql_jsonb():
    # jsonb prints 1e+20 as 100000000000000000000, which json reads back as an int.
    value = {"big": 1e20, "small": 1e-7, "plain": 0.1, "whole": 2.0}
    normalised = normalise(value)
    assert normalised == {"big": 10**20, "small": 1e-7, "plain": 0.1, "whole": 2.0}
    assert isinstance(normalised["big"], int)
    assert isinstance(normalised["whole"], float)
