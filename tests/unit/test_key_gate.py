"""Per-key order while events wait for redelivery (`KeyGate`): the consumer asks it about
each message in stream order, as deliveries arrive."""

from ips_shared.messaging.ordering import KeyGate


def test_events_held_back_behind_a_failure_go_in_stream_order_before_newer_ones() -> None:
    gate = KeyGate()
    gate.block("p-1", 1, retry_in=5.0)  # event 1 failed
    assert gate.held_back("p-1", 2) and gate.held_back("p-1", 3)
    assert not gate.held_back("p-2", 9)  # another person goes on

    assert not gate.held_back("p-1", 1)  # redelivered: it goes, and is applied
    gate.release("p-1", 1)
    assert gate.held_back("p-1", 4)  # newer: events 2 and 3 still wait for redelivery
    assert gate.held_back("p-1", 3)  # 3 came back before 2
    assert not gate.held_back("p-1", 2)
    assert not gate.held_back("p-1", 3)  # right after 2, in the same batch
    assert not gate.held_back("p-1", 4)
    assert not gate


def test_an_event_that_fails_again_holds_its_key_again() -> None:
    gate = KeyGate()
    gate.block("p-1", 1, retry_in=5.0)
    assert gate.held_back("p-1", 2)
    assert not gate.held_back("p-1", 1)
    gate.block("p-1", 1, retry_in=5.0)  # failed again
    assert gate.held_back("p-1", 2)
    assert 4.0 < gate.hold_delay("p-1") <= 5.1


def test_a_dead_lettered_event_no_longer_holds_its_key() -> None:
    gate = KeyGate()
    gate.block("p-1", 1, retry_in=5.0)
    assert gate.held_back("p-1", 2)
    gate.release("p-1", 1)  # given up: dead-lettered
    gate.forget(2)  # dead-lettered at its delivery limit before it was read
    assert not gate.held_back("p-1", 3)
    assert not gate
