"""SIGTERM during step 1: finish the chunk in flight when the chunks before it say it ends within the
grace, else stop at once (the chunk is left absent); between chunks, stop before the next one."""

import os
import signal

import pytest

from cft.generate.graceful_stop import EXIT_CODE, GracefulStop


def term(stop: GracefulStop) -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # delivered to the main thread before kill returns


def test_between_chunks_it_stops_before_the_next_one():
    with GracefulStop(60, log=lambda m: None) as stop:
        term(stop)
        assert stop.requested


def test_without_a_finished_chunk_to_go_by_it_stops_at_once():
    with GracefulStop(60, log=lambda m: None) as stop:
        stop.begin(0)
        with pytest.raises(SystemExit) as e:
            term(stop)
    assert e.value.code == EXIT_CODE


def test_a_chunk_that_ends_in_time_is_finished():
    said = []
    with GracefulStop(60, log=said.append) as stop:
        stop.begin(0)
        stop.generated()
        stop.finished(0.1)
        stop.begin(1)
        term(stop)
        assert stop.requested and "finishing chunk 001" in said[-1]
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 50  # the grace is bounded by an alarm
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_a_chunk_that_cannot_end_in_time_is_left_absent():
    with GracefulStop(10, log=lambda m: None) as stop:
        stop.generate_s = [30.0]
        stop.begin(3)
        with pytest.raises(SystemExit):
            term(stop)
