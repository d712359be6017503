"""SIGTERM during step 1: the chunks in flight that the chunks before them say end within the grace are
finished (the older ones), the others left absent; without a grace or an estimate, stop at once; with no
chunk in flight, stop before the next one."""

import os
import signal

import pytest

from cft.generate.graceful_stop import EXIT_CODE, GracefulStop


def term(stop: GracefulStop) -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # delivered to the main thread before kill returns


def test_with_no_chunk_in_flight_it_stops_before_the_next_one():
    with GracefulStop(60, log=lambda m: None) as stop:
        term(stop)
        assert stop.requested and stop.should_stop() and not stop.may_submit(0)


def test_without_a_finished_chunk_to_go_by_it_stops_at_once():
    said = []
    with GracefulStop(60, log=said.append) as stop:
        stop.started(0)
        with pytest.raises(SystemExit) as e:
            term(stop)
    assert e.value.code == EXIT_CODE and "chunk 000 left absent (no finished chunk" in said[-1]


def test_without_a_grace_it_stops_at_once():
    with GracefulStop(0, log=lambda m: None) as stop:
        stop.started(0)
        stop.ended(0)
        stop.started(1)
        with pytest.raises(SystemExit):
            term(stop)


def test_chunks_that_end_in_time_are_finished_and_the_run_stops_after_them():
    said = []
    with GracefulStop(60, log=said.append) as stop:
        stop.started(0)
        stop.ended(0)
        stop.finished(0.1)
        stop.started(1)
        stop.started(2)
        term(stop)
        assert stop.requested and said[-1].startswith("SIGTERM: finishing chunk 001, chunk 002 (about")
        assert stop.may_submit(2) and not stop.may_submit(3) and not stop.should_stop()
        stop.ended(1)
        assert not stop.should_stop()
        stop.ended(2)
        assert stop.should_stop()
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 50  # the grace is bounded by an alarm
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_the_older_chunk_is_finished_and_the_newer_one_left_absent():
    """Chunk 4 has been in flight for 25 of the usual 30 s; chunk 5 just started: only 4 fits a 20 s grace."""
    said = []
    with GracefulStop(20, log=said.append) as stop:
        stop.flight_s = [30.0]
        stop.started(4)
        stop.in_flight[4] -= 25.0
        stop.started(5)
        term(stop)
        assert stop.keep == [4] and said[-1].endswith("then stopping; chunk 005 left absent")
        assert not stop.may_submit(5)
        stop.ended(4)
        assert stop.should_stop()


def test_chunks_that_cannot_end_in_time_are_left_absent():
    with GracefulStop(10, log=lambda m: None) as stop:
        stop.flight_s = [30.0]
        stop.started(3)
        with pytest.raises(SystemExit):
            term(stop)
