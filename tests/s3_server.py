"""A throwaway S3-compatible server for tests (fixtures `s3_server`, `s3_url`): moto's server
mode in a thread of the test process, bound to 127.0.0.1 on a free port, so nothing else can
reach it and nothing leaves the machine. Its buckets live in memory and vanish with it.

Where moto or s3fs is missing (they come with the dev extra) the tests that need it skip.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Fake credentials: moto accepts any; set so botocore never looks for real ones elsewhere.
TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/compresslens-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/compresslens-test-aws-credentials",
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:<port>

    def filesystem(self) -> Any:
        """An s3fs file system talking to this server (no listings cache)."""
        import s3fs

        return s3fs.S3FileSystem(
            endpoint_url=self.endpoint,
            key=TEST_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
            secret=TEST_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
            use_listings_cache=False,
            skip_instance_cache=True,
        )

    def create_bucket(self, name: str) -> None:
        self.filesystem().mkdir(name)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A local S3 server for the session, stopped at its end."""
    pytest.importorskip("s3fs", reason="s3fs (the s3 extra) is not installed")
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(endpoint=f"http://{host}:{port}")
    finally:
        server.stop()


_buckets = itertools.count()


@pytest.fixture
def s3_url(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """`s3://<a new bucket>/artifacts`, with the server's endpoint and test credentials in
    the environment (as a user sets $COMPRESSLENS_S3_ENDPOINT and AWS_*)."""
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COMPRESSLENS_S3_ENDPOINT", s3_server.endpoint)
    bucket = f"compresslens-test-{next(_buckets)}"
    s3_server.create_bucket(bucket)
    return f"s3://{bucket}/artifacts"
