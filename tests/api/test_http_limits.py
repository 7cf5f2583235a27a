"""`python -m service serve` bounds every client: an idle connection, a slow head or body, an oversized
head and too many connections are cut off in the documented time or answered 4xx/503, while a slow
handler and keep-alive are left alone."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import jsonschema_rs
import psycopg

from tests.conftest import AUTH, make_settings, running_server

TIMEOUT_S = 2  # HTTP_REQUEST_TIMEOUT_S and HTTP_KEEP_ALIVE_TIMEOUT_S of these servers
MARGIN_S = 6  # generous: a loaded machine may be slow to schedule the server's timer
MAX_HEAD = 4096


@contextmanager
def served(redis_url: str, **limits: int) -> Iterator[tuple[str, int]]:
    """The real server with short timeouts and a small head bound; yields (host, port)."""
    settings = make_settings(
        redis_url, http_request_timeout_s=TIMEOUT_S, http_keep_alive_timeout_s=TIMEOUT_S,
        http_max_header_bytes=MAX_HEAD, **limits,
    )  # fmt: skip
    with running_server(settings) as (base_url, _):
        host, port = base_url.removeprefix("http://").split(":")
        yield host, int(port)


def _until_closed(sock: socket.socket, trickle: bytes = b"", every_s: float = 0.5) -> tuple[float, bytes]:
    """Seconds until the server closes the connection (sending trickle meanwhile), and what it sent."""
    started, received = time.monotonic(), b""
    sock.settimeout(every_s)
    while time.monotonic() - started < TIMEOUT_S + MARGIN_S + 5:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if trickle:
                try:
                    sock.sendall(trickle)
                except OSError:  # closed while we were sending
                    break
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return time.monotonic() - started, received


def test_idle_slow_head_and_slow_body_clients_are_dropped_in_time(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    with served(redis_url) as address:
        idle = socket.create_connection(address)
        waited, sent = _until_closed(idle)
        assert waited < TIMEOUT_S + MARGIN_S and sent == b""  # never sent a byte: keep-alive timeout

        slowloris = socket.create_connection(address)
        slowloris.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        waited, sent = _until_closed(slowloris, trickle=b"X-Slow: 1\r\n")  # a header every 0.5 s
        assert waited < TIMEOUT_S + MARGIN_S
        assert sent.startswith(b"HTTP/1.1 408 "), sent
        _assert_problem(sent, 408)
        _assert_documented(address, sent, 408)

        garbage = socket.create_connection(address)
        garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        _, sent = _until_closed(garbage)
        assert sent.startswith(b"HTTP/1.1 400 "), sent
        _assert_problem(sent, 400)

        crawling = socket.create_connection(address)
        auth = "Basic " + base64.b64encode(":".join(AUTH).encode()).decode()
        crawling.sendall(
            b"POST /popular HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: " + auth.encode() + b"\r\nContent-Length: 100\r\n\r\n{"
        )
        waited, sent = _until_closed(crawling, trickle=b" ")  # a byte of body every 0.5 s
        assert waited < TIMEOUT_S + MARGIN_S and b" 200 " not in sent


def test_an_oversized_head_is_a_431_and_a_fitting_one_is_served_on_a_kept_connection(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    with served(redis_url) as address:
        huge = socket.create_connection(address)  # 1 MB of one header, streamed
        huge.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            for _ in range(64):
                huge.sendall(b"a" * 16384)
        except OSError:
            pass  # the server answered and closed while we were still sending
        _, sent = _until_closed(huge)
        assert sent.startswith(b"HTTP/1.1 431 "), sent[:100]
        _assert_problem(sent, 431)
        _assert_documented(address, sent, 431)

        in_one_read = socket.create_connection(address)
        in_one_read.sendall(
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD + 100) + b"\r\n\r\n"
        )
        _, sent = _until_closed(in_one_read)
        assert sent.startswith(b"HTTP/1.1 431 "), sent[:100]

        with httpx.Client(base_url=f"http://{address[0]}:{address[1]}") as client:
            for _ in range(2):  # one connection, kept alive between the two
                response = client.get("/health", headers={"x-fits": "a" * (MAX_HEAD // 2)})
                assert response.status_code == 200
            assert "server" not in response.headers


def test_a_slow_handler_is_not_cut_and_too_many_connections_get_503(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    _, recs = databases
    user = uuid.uuid4()
    with served(redis_url, http_limit_concurrency=4) as address:
        base_url = f"http://{address[0]}:{address[1]}"
        put = httpx.put(f"{base_url}/user-profile/{user}", json={"gender": "f"}, auth=AUTH)
        assert put.status_code == 200

        # The row is locked for longer than the request timeout: the PUT waits in the handler.
        locked, release = threading.Event(), threading.Event()

        def hold_the_row() -> None:
            with recs.transaction():
                recs.execute(
                    "SELECT 1 FROM recs.user_demographics d JOIN recs.users u USING (user_key) "
                    "WHERE u.user_id = %s FOR UPDATE",
                    (user,),
                )
                locked.set()
                release.wait(TIMEOUT_S + 1.5)

        holder = threading.Thread(target=hold_the_row)
        holder.start()
        try:
            assert locked.wait(10)
            started = time.monotonic()
            slow = httpx.put(f"{base_url}/user-profile/{user}", json={"gender": "m"}, auth=AUTH, timeout=30)
            assert slow.status_code == 200 and time.monotonic() - started > TIMEOUT_S
        finally:
            release.set()
            holder.join()

        # 3 open connections and this request make 4: the limit.
        others = [socket.create_connection(address) for _ in range(3)]
        try:
            refused = httpx.get(f"{base_url}/health")
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["retry-after"] == "5" and refused.headers["x-request-id"]
            assert refused.json()["status"] == 503
        finally:
            for other in others:
                other.close()
        time.sleep(0.5)  # the server notices the closes
        assert httpx.get(f"{base_url}/health").status_code == 200
        # The schema lists this answer of GET /health, so a generated client decodes it as a Problem.
        document = httpx.get(f"{base_url}/docs/openapi.json").json()
        declared = document["paths"]["/health"]["get"]["responses"]["503"]
        assert refused.headers["content-type"] in declared["content"] and "Retry-After" in declared["headers"]


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response of a kept connection: its head and its body (by content-length)."""
    sock.settimeout(TIMEOUT_S + MARGIN_S)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, body
        body += chunk
    assert len(body) == length  # nothing more: a request is answered once
    return head, body


def test_a_request_offering_h2c_is_served_as_http_1_1_with_its_body(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    """Java's HttpClient (the generated Java client's) and curl --http2 offer an upgrade to h2c in a
    request's head: the service declines and serves the request, its body included (llhttp stops at
    the head of such a request: the app got an empty body, a 422), and the connection goes on."""
    user = uuid.uuid4()
    credentials = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    head = (
        f"Host: x\r\nAuthorization: Basic {credentials}\r\nContent-Type: application/json\r\n"
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
    ).encode()
    with served(redis_url) as address, socket.create_connection(address) as sock:
        body = json.dumps({"gender": "female", "locale": "de"}).encode()
        sock.sendall(
            f"PUT /user-profile/{user} HTTP/1.1\r\n".encode() + head
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )  # fmt: skip
        status, answer = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 200 "), (status, answer)
        assert json.loads(answer)["demographics"]["locale"] == "de"

        # Chunked, the body in a later read than the head, on the same connection.
        sock.sendall(
            f"PATCH /user-profile/{user} HTTP/1.1\r\n".encode() + head + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        time.sleep(0.2)
        patch = json.dumps({"locale": "fr"}).encode()
        sock.sendall(f"{len(patch):x}\r\n".encode() + patch + b"\r\n0\r\n\r\n")
        status, answer = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 200 "), (status, answer)
        demographics = json.loads(answer)["demographics"]
        assert (demographics["gender"], demographics["locale"]) == ("f", "fr")  # a merge patch of it

        # No body, then a plain request: the connection parses on as usual.
        sock.sendall(f"GET /user-profile/{user} HTTP/1.1\r\n".encode() + head + b"\r\n")
        status, answer = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 200 ") and json.loads(answer)["demographics"]["locale"] == "fr"
        plain = f"Host: x\r\nAuthorization: Basic {credentials}\r\n\r\n"
        sock.sendall(f"GET /user-profile/{user} HTTP/1.1\r\n{plain}".encode())
        status, answer = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 200 ") and json.loads(answer)["user_id"] == str(user)

    with served(redis_url) as address, socket.create_connection(address) as sock:
        # A framing the parser refuses (a transfer coding without chunked) is a 400, as without h2c.
        sock.sendall(
            f"PUT /user-profile/{user} HTTP/1.1\r\n".encode() + head + b"Transfer-Encoding: gzip\r\n\r\n"
        )
        status, _ = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 400 "), status


def _assert_documented(address: tuple[str, int], sent: bytes, status: int) -> None:
    """Every operation of the served OpenAPI document lists the protocol's answer, whatever the path
    (a generated client then knows the status), and the answer is what its schema allows."""
    problem = json.loads(sent.partition(b"\r\n\r\n")[2])
    with httpx.Client(base_url=f"http://{address[0]}:{address[1]}") as client:
        document = client.get("/docs/openapi.json").raise_for_status().json()
    operations = [operation for item in document["paths"].values() for operation in item.values()]
    assert len(operations) >= 18
    for operation in operations:
        media = operation["responses"][str(status)]["content"]["application/problem+json"]
        validator = jsonschema_rs.Draft202012Validator(
            {**media["schema"], "components": document["components"]}
        )
        assert validator.is_valid(problem), (operation["operationId"], problem)
        assert "headers" not in operation["responses"][str(status)]  # no X-Request-ID: no request yet


def _assert_problem(sent: bytes, status: int) -> None:
    """An answer the protocol wrote itself is problem+json, as the app's errors are."""
    head, _, body = sent.partition(b"\r\n\r\n")
    assert b"\r\ncontent-type: application/problem+json\r\n" in head.lower(), head
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"], problem
