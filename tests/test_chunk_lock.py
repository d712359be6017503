"""Per-chunk locks: a live holder keeps its chunk, a dead one's lock is taken over, on this host or another."""

import json
import os
import subprocess
import sys
import time

from cft.generate import chunk_lock
from cft.generate.chunk_lock import ChunkLock


def write_lock(lock: ChunkLock, **record):
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(json.dumps({"host": "other", "boot_id": "other-boot", "pid": 1, "pid_start": "1",
                                     "start_time": time.time(), "owner": "someone", **record}))


def test_second_process_sees_the_holder_then_takes_the_released_lock(tmp_path):
    chunk = tmp_path / "m_chunk_000.json"
    first, second = ChunkLock(chunk), ChunkLock(chunk)
    assert first.try_acquire() is None and first.held()
    info = second.try_acquire()
    assert info["pid"] == os.getpid() and info["host"] == chunk_lock.HOST and not second.held()
    record = json.loads(first.path.read_text())
    assert {"host", "boot_id", "pid", "pid_start", "start_time", "owner"} <= set(record)
    first.release()
    assert not first.path.exists()
    assert second.try_acquire() is None and second.held()
    second.release()


def test_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = ChunkLock(tmp_path / "m_chunk_000.json")
    write_lock(lock, host=chunk_lock.HOST, boot_id=chunk_lock.BOOT_ID, pid=dead.pid, pid_start="1")
    assert lock.try_acquire() is None and lock.held()
    lock.release()


def test_lock_of_a_reused_pid_is_taken_over(tmp_path):
    lock = ChunkLock(tmp_path / "m_chunk_000.json")  # our own pid, but a start time that is not ours
    write_lock(lock, host=chunk_lock.HOST, boot_id=chunk_lock.BOOT_ID, pid=os.getpid(), pid_start="12")
    assert lock.try_acquire() is None
    lock.release()


def test_lock_of_another_host_is_kept_while_its_heartbeat_is_fresh(tmp_path):
    lock = ChunkLock(tmp_path / "m_chunk_000.json", stale_s=60)
    write_lock(lock)
    assert lock.try_acquire()["host"] == "other"
    old = time.time() - 120  # no heartbeat for 2 minutes: its node is taken for dead
    os.utime(lock.path, (old, old))
    assert lock.try_acquire() is None and lock.held()
    lock.release()


def test_heartbeat_keeps_the_lock_fresh_and_a_lost_lock_is_noticed(tmp_path):
    lock = ChunkLock(tmp_path / "m_chunk_000.json", stale_s=60, heartbeat_s=0.1)
    assert lock.try_acquire() is None
    old = time.time() - 1000
    os.utime(lock.path, (old, old))
    time.sleep(0.5)
    assert time.time() - lock.path.stat().st_mtime < 5
    write_lock(lock)  # another node took it over (as if this one had been cut off)
    assert not lock.held()
    lock.release()
    assert json.loads(lock.path.read_text())["owner"] == "someone"  # release leaves another's lock alone


def test_takeover_does_not_remove_a_fresh_lock(tmp_path):
    lock = ChunkLock(tmp_path / "m_chunk_000.json")
    write_lock(lock, owner="stale-one")
    lock._break({"owner": "judged-stale-earlier"})  # the record changed since it was judged stale
    assert lock.path.exists() and not lock.path.with_name(lock.path.name + ".break").exists()
