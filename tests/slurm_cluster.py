#!/usr/bin/env python3
"""A real single-node Slurm for the tests: munged, slurmctld and slurmd of their own, in one folder.

``python3 tests/slurm_cluster.py install`` (``make slurm-deps``, run by ``make test``) installs
Debian's ``slurmctld``, ``slurmd``, ``slurm-client`` and ``munge`` with apt-get where they are
missing and this runs as root; elsewhere it says why not and does nothing (the Slurm tests then
skip, or fail where ``CI=true``). ``python3 tests/slurm_cluster.py up DIR`` starts a cluster by
hand and prints the ``SLURM_CONF`` to export; Ctrl-C stops it.

``start(folder)`` writes everything the daemons need under ``folder`` (a munge key, a
``slurm.conf`` and ``gres.conf``, state, spool and log folders), starts ``munged``,
``slurmctld`` and ``slurmd`` in the foreground as child processes, and waits until the node is
idle. The cluster touches nothing of the system's own Slurm or munge: its own munge socket
(``AuthInfo=socket=...``), its own free ports, its own pid and state files; clients reach it
through ``SLURM_CONF`` (``Cluster.env``). ``Cluster.stop()`` ends the three daemons by pid.

The node is declared bigger than the machine (``SlurmdParameters=config_overrides``): 16 CPUs,
128 GiB and 8 GPUs (``Gres=gpu:8``, ``gres.conf`` with ``AutoDetect=off``), so
the scripts' ``--gres=gpu:1``, ``--exclusive`` and ``--mem`` schedule as on a GPU node, and a
task sees ``CUDA_VISIBLE_DEVICES`` as there (slurmd wants the ``File=`` paths to be character
devices: they are links to ``/dev/null``; plain files are refused, and no device is opened).
``ProctrackType=proctrack/linuxproc`` and ``TaskPlugin=task/none``: no cgroups; no accounting
(job states come from ``scontrol``, kept ``MinJobAge`` seconds after the end). ``cred_expire=10``
lets a requeued job start again 11 s after its requeue (120 s by default).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")
NODE = "cftnode"
PARTITION = "debug"
CPUS, MEMORY_MB, GPUS = 16, 131072, 8
MIN_JOB_AGE_S = 900  # finished jobs stay in scontrol this long (no accounting to ask later)
KILL_WAIT_S = 30  # SIGTERM to SIGKILL on scancel, requeue, a time limit (Slurm's default)


def absent() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None]


def missing() -> str | None:
    """Why a cluster cannot start here (one line), or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return "not root: slurmd must start jobs as their user (run as root, e.g. in CI)"
    if absent():
        return (f"{', '.join(absent())} not installed (make slurm-deps installs {' '.join(PACKAGES)} as root with "
                "apt-get)")
    return None


def install() -> int:
    """apt-get install the packages where they are missing and this can: root with apt-get. Never fails."""
    if not absent():
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"slurm-deps: {'no apt-get' if os.geteuid() == 0 else 'not root'}: {' '.join(PACKAGES)} not "
              "installed; the Slurm tests will be skipped (and fail where CI=true)", file=sys.stderr)
        return 0
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    # the packages' install scripts would start the system's munged, slurmctld and slurmd: a policy-rc.d that
    # denies every start (exit 101), for the install only, where the system has none
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# tests/slurm_cluster.py install: no service starts meanwhile\nexit 101\n")
        policy.chmod(0o755)
    try:
        for attempt in range(2):  # a fresh container may have no package lists yet
            if attempt:
                subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, check=False)
            t0 = time.monotonic()
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if r.returncode == 0:
                print(f"slurm-deps: installed {' '.join(PACKAGES)} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
                return 0
    finally:
        if ours:
            policy.unlink()
    print(f"slurm-deps: apt-get install {' '.join(PACKAGES)} failed; the Slurm tests will be skipped (and fail "
          f"where CI=true):\n{r.stderr.strip()[-2000:]}", file=sys.stderr)
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    folder: Path
    conf: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """This process's environment for Slurm's clients: ``SLURM_CONF`` ours, no ``SLURM_*`` of an outer job."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        return {**env, "SLURM_CONF": str(self.conf)}

    @property
    def logs(self) -> dict[str, Path]:
        return {name: self.folder / "log" / f"{name}.log" for name in ("munged", "slurmctld", "slurmd")}

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster."""
        r = subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, check=False)
        if check and r.returncode:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
        return r

    def node_state(self) -> str:
        r = self.run("sinfo", "-h", "-N", "-o", "%T", check=False)
        return r.stdout.strip() if r.returncode == 0 else f"(sinfo: {r.stderr.strip()})"

    def stop(self) -> None:
        """Cancel every job (a job's slurmstepd outlives slurmd), then end the daemons by pid: slurmd,
        slurmctld, munged (SIGTERM, then SIGKILL after 10 s)."""
        if all(p.poll() is None for p in self.procs.values()) and len(self.procs) == 3:
            self.run("scancel", "--user", "root", check=False)
            end = time.monotonic() + KILL_WAIT_S + 15
            while self.run("squeue", "-h", "-t", "RUNNING,COMPLETING", check=False).stdout.strip():
                if time.monotonic() > end:
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def tail(self, lines: int = 15) -> str:
        out = []
        for path in sorted((self.folder / "log").glob("*")):
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else ["(no log)"]
            out.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(out)


def slurm_conf(folder: Path, ctld_port: int, slurmd_port: int) -> str:
    host = socket.gethostname().split(".")[0]
    return f"""\
# A single-node test cluster (tests/slurm_cluster.py); everything it keeps is under {folder}.
ClusterName=cfttest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={folder}/munge/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation={folder}/ctld
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/run/slurmctld.pid
SlurmdPidFile={folder}/run/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
PlugStackConfig={folder}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge={MIN_JOB_AGE_S}
DefMemPerCPU=1024
KillWait={KILL_WAIT_S}
GresTypes=gpu
NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={CPUS} RealMemory={MEMORY_MB} Gres=gpu:{GPUS} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""


def start(folder: Path, timeout: float = 60.0) -> Cluster:
    """Write the cluster's files under ``folder``, start its daemons and wait for the node to be idle."""
    why = missing()
    if why:
        raise RuntimeError(why)
    folder = Path(folder).resolve()
    for sub in ("munge", "ctld", "spool", "run", "log", "gres"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(folder / "munge", 0o700)
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(128))
    os.chmod(key, 0o600)
    for g in range(GPUS):  # the GPUs gres.conf names: slurmd wants character devices; none is opened (task/none)
        with contextlib.suppress(FileNotFoundError):
            (folder / "gres" / f"gpu{g}").unlink()
        (folder / "gres" / f"gpu{g}").symlink_to("/dev/null")
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, free_port(), free_port()))
    (folder / "gres.conf").write_text(f"AutoDetect=off\nName=gpu File={folder}/gres/gpu[0-{GPUS - 1}]\n")
    (folder / "plugstack.conf").write_text("")
    cluster = Cluster(folder, conf)
    logs = cluster.logs
    daemons = {
        "munged": ["munged", "-F", "--force", f"--key-file={key}", f"--socket={folder}/munge/munge.socket",
                   f"--pid-file={folder}/run/munged.pid", f"--log-file={logs['munged']}",
                   f"--seed-file={folder}/munge/munged.seed"],
        "slurmctld": ["slurmctld", "-D", "-c", "-i", "-f", str(conf)],
        "slurmd": ["slurmd", "-D", "-f", str(conf), "-N", NODE],
    }
    try:
        for name, cmd in daemons.items():
            out = open(folder / "log" / f"{name}.out", "wb")  # noqa: SIM115 (the daemon keeps it)
            cluster.procs[name] = subprocess.Popen(cmd, env=cluster.env, stdout=out, stderr=subprocess.STDOUT,
                                                   stdin=subprocess.DEVNULL, start_new_session=True)
            out.close()
            if name == "munged":
                _wait(lambda: (folder / "munge" / "munge.socket").exists(), cluster, name, timeout)
        _wait(lambda: cluster.node_state() == "idle", cluster, "the node to be idle", timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait(ready, cluster: Cluster, what: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not ready():
        dead = [n for n, p in cluster.procs.items() if p.poll() is not None]
        if dead or time.monotonic() > end:
            why = f"{', '.join(dead)} exited" if dead else f"no {what} in {timeout:.0f} s"
            raise RuntimeError(f"the test Slurm did not start: {why} (node: {cluster.node_state()})\n{cluster.tail()}")
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        return install()
    if argv[:1] == ["up"] and len(argv) == 2:
        cluster = start(Path(argv[1]))
        print(f"export SLURM_CONF={cluster.conf}   # Ctrl-C or SIGTERM stops the cluster", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            cluster.stop()
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
