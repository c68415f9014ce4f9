"""Real brokers started by the tests on free 127.0.0.1 ports, with temp configs and data dirs:
Debian's mosquitto, redis-server and rabbitmq-server, and confluent-kafka's mock Kafka cluster in a
helper process. Each can be stopped and started again on the same port and data (fault tests)."""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import IN_CI, free_port, require, require_executable  # noqa: F401 - used by the tests here


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


class BrokerServer:
    """A broker process that can be stopped and restarted on the same port and data folder."""

    def __init__(self, name: str, command: list[str], port: int, env: dict[str, str] | None = None,
                 ready_timeout: float = 20.0, ready: Callable[[], None] | None = None) -> None:
        self.name = name
        self.command = command
        self.port = port
        self.env = env
        self.ready_timeout = ready_timeout
        self.ready = ready
        self.proc: subprocess.Popen | None = None

    def start(self) -> BrokerServer:
        log = open(Path(f"/tmp/vistream-test-{self.name}-{self.port}.log"), "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **(self.env or {})})
        log.close()
        wait_port(self.port, self.ready_timeout, self.proc, self.name)
        if self.ready is not None:
            self.ready()
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        # The group outlives its leader for a while (RabbitMQ's Erlang VM shuts down after its
        # start script): wait until every process of it is gone.
        deadline = time.monotonic() + 20
        while True:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            if time.monotonic() > deadline:
                os.killpg(self.proc.pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
            time.sleep(0.05)
        self.proc = None
        # wait until the port is free again (restart binds it)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    time.sleep(0.05)
            except OSError:
                return


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory) -> Iterator[BrokerServer]:
    exe = require_executable("mosquitto")
    folder = tmp_path_factory.mktemp("mosquitto")
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(textwrap.dedent(f"""\
        listener {port} 127.0.0.1
        user {getpass.getuser()}
        allow_anonymous true
        persistence true
        persistence_location {folder}/
        autosave_interval 1
        max_queued_messages 0
        """))
    # persistence (with ``user`` = us, so a root run can write the temp folder) keeps the consumers'
    # sessions and queued messages across a broker restart
    server = BrokerServer("mosquitto", [exe, "-c", str(conf)], port).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[BrokerServer]:
    exe = require_executable("redis-server")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    command = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--appendonly", "yes",
               "--appendfsync", "always", "--save", "", "--daemonize", "no"]
    server = BrokerServer("redis", command, port).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory) -> Iterator[BrokerServer]:
    exe = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    require(Path(exe).is_file(), "rabbitmq-server (Debian package rabbitmq-server)")
    require_executable("epmd")
    folder = tmp_path_factory.mktemp("rabbitmq")
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    (folder / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n")
    (folder / "enabled_plugins").write_text("[].\n")
    env = {
        "RABBITMQ_NODENAME": f"vistream{port}@localhost", "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist_port), "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"), "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(folder / "pid"), "HOME": str(folder),
    }
    server = BrokerServer("rabbitmq", [exe], port, env=env, ready_timeout=60)
    server.start()
    yield server
    server.stop()
    # Erlang's port mapper daemon was started for this node only: end it too.
    subprocess.run(["epmd", "-port", str(epmd_port), "-kill"], capture_output=True, timeout=10,
                   env={**os.environ, "ERL_EPMD_PORT": str(epmd_port)})


_KAFKA_HELPER = """
import sys, confluent_kafka
producer = confluent_kafka.Producer({"test.mock.num.brokers": 1, "log_level": 0})
broker = list(producer.list_topics(timeout=10).brokers.values())[0]
print(f"{broker.host}:{broker.port}", flush=True)
sys.stdin.read()  # the cluster lives until the test closes our stdin
"""


@pytest.fixture(scope="session")
def kafka_helper() -> Iterator[tuple[str, subprocess.Popen]]:
    """(bootstrap address, helper process) of a mock Kafka cluster (confluent-kafka's bundled
    librdkafka); SIGSTOP / SIGCONT on the process freezes and resumes the broker."""
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        require(False, "confluent-kafka (the kafka extra)")
    proc = subprocess.Popen([sys.executable, "-c", _KAFKA_HELPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().strip()
    assert line, "the mock Kafka cluster did not start"
    yield line, proc
    os.kill(proc.pid, signal.SIGCONT)
    proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def kafka_cluster(kafka_helper) -> str:
    """Bootstrap address of the mock Kafka cluster."""
    return kafka_helper[0]
