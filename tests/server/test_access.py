"""Who may talk to the server: a token off loopback, loopback Host names on loopback.

The checks are create_app(access=...) settings, so they are tested in process with TestClient
and hand-set Host, Authorization, Cookie and Origin headers.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import compresslens as cl
from compresslens.errors import InvalidTokenError
from compresslens.server.access import TOKEN_COOKIE, Access, host_name, is_loopback
from compresslens.server.app import create_app

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def loopback(workspace: cl.Workspace) -> TestClient:
    return TestClient(create_app(workspace, access=Access.for_host("127.0.0.1")))


@pytest.fixture
def networked(workspace: cl.Workspace) -> TestClient:
    app = create_app(workspace, access=Access.for_host("0.0.0.0", token=TOKEN))
    return TestClient(app, base_url="http://192.168.1.20:8765")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_is_loopback_knows_the_loopback_addresses(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8765", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]:8765", "::1"),
        ("[::1]", "::1"),
        ("Evil.Example:80", "evil.example"),
    ],
)
def test_host_name_drops_the_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_off_loopback_a_token_is_generated_when_none_is_given() -> None:
    first, second = Access.for_host("0.0.0.0"), Access.for_host("0.0.0.0")
    assert first.token and second.token and first.token != second.token
    assert len(first.token) >= 32
    assert not first.loopback_hosts_only
    assert Access.for_host("127.0.0.1") == Access(token=None, loopback_hosts_only=True)


@pytest.mark.parametrize(
    "host", ["localhost:8765", "127.0.0.1:8765", "[::1]:8765", "localhost", "127.0.0.2:8765"]
)
def test_on_loopback_loopback_host_names_are_answered(loopback: TestClient, host: str) -> None:
    assert loopback.get("/api/models", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "192.168.1.20:8765", "localhost.evil.example", ""]
)
def test_on_loopback_other_host_names_get_403(loopback: TestClient, host: str) -> None:
    response = loopback.get("/api/models", headers={"Host": host})
    assert response.status_code == 403
    assert "not a loopback name" in response.json()["detail"]


def test_a_cross_site_post_is_refused_and_a_same_origin_post_passes(loopback: TestClient) -> None:
    url = "/api/robustness?models=ghost&dataset=imgs"
    headers = {"Host": "127.0.0.1:8765"}
    evil = loopback.post(url, headers={**headers, "Origin": "http://evil.example"})
    assert evil.status_code == 403 and "cross-site" in evil.json()["detail"]
    own = loopback.post(url, headers={**headers, "Origin": "http://127.0.0.1:8765"})
    assert own.status_code == 404  # reached the route: an unknown model


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Cookie": "x=1"}],
)
def test_off_loopback_a_request_without_the_token_gets_401(
    networked: TestClient, headers: dict[str, str]
) -> None:
    response = networked.get("/api/models", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["detail"]
    assert TOKEN not in response.text


def test_off_loopback_the_bearer_token_is_answered_with_any_host(networked: TestClient) -> None:
    response = networked.get("/api/models", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200


def test_opening_the_page_with_the_token_sets_a_cookie_the_browser_then_sends(
    networked: TestClient,
) -> None:
    opened = networked.get(f"/api/models?token={TOKEN}")
    assert opened.status_code == 200
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # the client keeps the cookie: later requests pass without the query parameter
    assert networked.get("/api/datasets").status_code == 200
    networked.cookies.clear()
    assert networked.get("/api/datasets").status_code == 401


def test_a_wrong_query_token_sets_no_cookie(networked: TestClient) -> None:
    response = networked.get("/api/models?token=nope")
    assert response.status_code == 401 and "set-cookie" not in response.headers


def test_on_loopback_a_given_token_is_required_too(workspace: cl.Workspace) -> None:
    client = TestClient(create_app(workspace, access=Access.for_host("localhost", token=TOKEN)))
    host = {"Host": "localhost:8765"}
    assert client.get("/api/models", headers=host).status_code == 401
    authorized = {**host, "Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/models", headers=authorized).status_code == 200


def test_without_access_settings_the_in_process_app_answers_everyone(
    workspace: cl.Workspace,
) -> None:
    assert TestClient(create_app(workspace)).get("/api/models").status_code == 200


def _served(
    monkeypatch: pytest.MonkeyPatch, workspace: cl.Workspace, host: str, **kwargs: object
) -> TestClient:
    """run_server without a socket: the app uvicorn would have served."""
    from compresslens.server import app as server_app

    served = {}
    monkeypatch.setattr(server_app.uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.setattr(server_app.gc, "freeze", lambda: None)
    server_app.run_server(workspace, host=host, port=8765, **kwargs)  # type: ignore[arg-type]
    assert served["host"] == host
    return TestClient(served["app"], base_url="http://192.168.1.20:8765")


def test_serving_off_loopback_prints_a_warning_and_the_url_with_a_new_token(
    monkeypatch: pytest.MonkeyPatch, workspace: cl.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COMPRESSLENS_TOKEN", raising=False)
    client = _served(monkeypatch, workspace, "0.0.0.0")
    out = capsys.readouterr().out
    assert "warning" in out and "reachable from the network" in out
    token = out.split("?token=")[1].split()[0]
    assert "http://0.0.0.0:8765/?token=" in out
    assert client.get("/api/models").status_code == 401
    assert (
        client.get("/api/models", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def test_serving_takes_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, workspace: cl.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMPRESSLENS_TOKEN", TOKEN)
    client = _served(monkeypatch, workspace, "0.0.0.0")
    assert f"?token={TOKEN}" in capsys.readouterr().out
    assert (
        client.get("/api/models", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    )


def test_serving_on_loopback_checks_the_host_and_prints_no_warning(
    monkeypatch: pytest.MonkeyPatch, workspace: cl.Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COMPRESSLENS_TOKEN", raising=False)
    client = _served(monkeypatch, workspace, "127.0.0.1")
    out = capsys.readouterr().out
    assert "warning" not in out and "token" not in out
    assert client.get("/api/models").status_code == 403  # Host 192.168.1.20: rebinding
    assert client.get("/api/models", headers={"Host": "127.0.0.1:8765"}).status_code == 200


@pytest.mark.parametrize(
    "token", ["short", "x" * 15, "has space in it here", "semi;colon-0123456789", "é" * 20]
)
def test_a_given_token_that_a_url_or_cookie_would_mangle_is_refused(token: str) -> None:
    with pytest.raises(InvalidTokenError, match="16-512 characters"):
        Access.for_host("0.0.0.0", token=token)
