"""The website's HTTP client against real servers on 127.0.0.1: what goes out on the
wire (headers, cookies, multipart, Chrome's TLS ClientHello), retries counted on the
server, errors, the server clock and proxies."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tray_app.core.clock import ServerClock
from tray_app.core.errors import ConnectionDropped, ConnectionFailed, RequestTimeout
from tray_app.transports.browser import BrowserClient, WebResponse

from .conftest import FakeClock
from .proxies import RecordingProxy, Socks5Proxy

DROP = "drop"  # close the connection without answering, as DDoS-Guard does
HANG = "hang"  # answer nothing until the test ends


@dataclass
class Answer:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b"ok"


@dataclass
class Seen:
    method: str
    path: str
    headers: Message
    body: bytes


class Site:
    """A tiny website that answers from a queue (then 200 "ok") and records requests."""

    def __init__(self, port: int = 0) -> None:
        self.answers: deque[Answer | str] = deque()
        self.seen: list[Seen] = []
        self.date: str | None = None  # a Date header instead of the real time
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a browser expects

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                return site.date or super().date_time_string(timestamp)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                site.seen.append(Seen(self.command, self.path, self.headers, body))
                answer = site.answers.popleft() if site.answers else Answer()
                if answer == HANG:
                    site.release.wait(10)
                if isinstance(answer, str):
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_HEAD = _serve

        return Handler

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own proxy must not carry the requests to 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def server_clock() -> ServerClock:
    return ServerClock()


@pytest.fixture
def make_client(
    sleeps: list[float], server_clock: ServerClock
) -> Iterator[Callable[..., BrowserClient]]:
    clients: list[BrowserClient] = []

    def make(**kwargs: Any) -> BrowserClient:
        kwargs.setdefault("timeout", (2.0, 3.0))
        kwargs.setdefault("sleep", sleeps.append)
        client = BrowserClient(clock=FakeClock(), server_clock=server_clock, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., BrowserClient]) -> BrowserClient:
    return make_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- what goes out --------------------------------------------------------------------


def test_our_headers_override_chrome_defaults_and_none_removes_one(
    client: BrowserClient, site: Site
) -> None:
    client.request(
        "GET",
        f"{site.url}/applicant/resumes",
        headers={
            "User-Agent": "Mozilla/5.0 test",
            "Accept": "application/json",
            "X-Requested-With": "XMLHttpRequest",
            "Upgrade-Insecure-Requests": None,
        },
    )
    headers = site.seen[-1].headers
    assert headers.get_all("User-Agent") == ["Mozilla/5.0 test"]
    assert headers.get_all("Accept") == ["application/json"]
    assert headers["X-Requested-With"] == "XMLHttpRequest"
    assert "Upgrade-Insecure-Requests" not in headers
    # what we did not name is Chrome's: the impersonation is on
    assert "Google Chrome" in headers["Sec-Ch-Ua"]
    assert headers["Sec-Fetch-Mode"] == "navigate"


def test_cookie_header_is_exactly_ours_even_after_the_site_set_cookies(
    client: BrowserClient, site: Site
) -> None:
    set_both = [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/; HttpOnly")]
    site.answers.extend([Answer(headers=set_both), Answer(headers=set_both)])
    first = client.request("GET", f"{site.url}/", headers={"Cookie": "z=1"})
    client.request("POST", f"{site.url}/touch", headers={"Cookie": "z=2"})
    client.request("GET", f"{site.url}/", headers={})
    client.request("GET", f"{site.url}/", headers={"Cookie": "z=3; hhtoken=x"})
    assert first.set_cookies == ("a=1; Path=/", "b=2; Path=/; HttpOnly")
    assert [s.headers.get_all("Cookie") for s in site.seen] == [
        ["z=1"],
        ["z=2"],
        None,
        ["z=3; hhtoken=x"],
    ]


def test_multipart_fields_arrive_as_form_data(client: BrowserClient, site: Site) -> None:
    client.request(
        "POST",
        f"{site.url}/applicant/resumes/touch",
        headers={"X-Xsrftoken": "t0ken"},
        multipart={"resume": "a1b2c3", "undirectable": "true"},
    )
    seen = site.seen[-1]
    assert seen.method == "POST"
    assert seen.headers.get_content_type() == "multipart/form-data"
    form = BytesParser().parsebytes(
        f"Content-Type: {seen.headers['Content-Type']}\r\n\r\n".encode() + seen.body
    )
    fields = {
        part.get_param("name", header="content-disposition"): part.get_payload()
        for part in form.walk()
        if not part.is_multipart()
    }
    assert fields == {"resume": "a1b2c3", "undirectable": "true"}


def test_redirects_are_not_followed(client: BrowserClient, site: Site) -> None:
    site.answers.append(Answer(302, [("Location", "/account/login?backurl=%2F")], b""))
    response = client.request("POST", f"{site.url}/applicant/resumes/touch", headers={})
    assert response.status_code == 302
    assert response.headers["location"] == "/account/login?backurl=%2F"
    assert response.url == f"{site.url}/applicant/resumes/touch"
    assert len(site.seen) == 1


def test_response_carries_status_headers_body_and_decodes_text(
    client: BrowserClient, site: Site
) -> None:
    body = "Мои резюме".encode("cp1251")
    site.answers.append(Answer(200, [("Content-Type", "text/html; charset=windows-1251")], body))
    response = client.request("GET", f"{site.url}/applicant/resumes?role=applicant", headers={})
    assert (response.status_code, response.content) == (200, body)
    assert response.headers["CONTENT-TYPE"] == "text/html; charset=windows-1251"
    assert response.text == "Мои резюме"
    assert response.set_cookies == ()
    assert client.description.startswith("curl_cffi 0.17.")
    assert "impersonating chrome" in client.description


def test_text_falls_back_to_utf8() -> None:
    def text(content_type: str | None, body: bytes) -> str:
        headers = {"Content-Type": content_type} if content_type else {}
        return WebResponse(200, headers, (), body, "http://x/").text

    assert text(None, "ok ✓".encode()) == "ok ✓"
    assert text("application/json", b"\xff{}") == "\ufffd{}"
    assert text("text/html; charset=no-such-charset", "ё".encode()) == "ё"


# --- retries ---------------------------------------------------------------------------


def test_get_is_retried_after_a_502_and_the_last_answer_is_returned(
    client: BrowserClient, site: Site, sleeps: list[float]
) -> None:
    site.answers.extend([Answer(502), Answer(200, body=b"page")])
    assert client.request("GET", f"{site.url}/p", headers={}).content == b"page"
    assert (len(site.seen), sleeps) == (2, [0.5])

    site.answers.extend([Answer(503), Answer(504), Answer(500)])
    assert client.request("GET", f"{site.url}/p", headers={}).status_code == 500
    assert (len(site.seen), sleeps) == (5, [0.5, 0.5, 1.0])


def test_get_is_retried_after_a_dropped_connection(
    client: BrowserClient, site: Site, sleeps: list[float]
) -> None:
    site.answers.extend([DROP, Answer(body=b"page")])
    assert client.request("GET", f"{site.url}/p", headers={}).content == b"page"
    assert (len(site.seen), sleeps) == (2, [0.5])


def test_post_is_not_resent_after_a_502(
    client: BrowserClient, site: Site, sleeps: list[float]
) -> None:
    site.answers.append(Answer(502))
    assert client.request("POST", f"{site.url}/touch", headers={}).status_code == 502
    assert (len(site.seen), sleeps) == (1, [])


def test_post_is_not_resent_after_a_drop_even_on_a_kept_alive_connection(
    client: BrowserClient, site: Site, sleeps: list[float]
) -> None:
    """libcurl itself resends a request whose reused connection died unanswered; the
    client puts a POST on a new connection so that cannot happen."""
    client.request("GET", f"{site.url}/applicant/resumes", headers={})
    site.answers.append(DROP)
    with pytest.raises(ConnectionDropped) as caught:
        client.request(
            "POST", f"{site.url}/applicant/resumes/touch?secret=s3cr3t", headers={"Cookie": "k=v"}
        )
    assert caught.value.reached_server
    message = "POST /applicant/resumes/touch: connection dropped without an answer"
    assert str(caught.value) == message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert [s.method for s in site.seen] == ["GET", "POST"]
    assert sleeps == []


def test_a_get_dropped_every_time_raises_connection_dropped(
    client: BrowserClient, site: Site, sleeps: list[float]
) -> None:
    site.answers.extend([DROP, DROP, DROP])
    with pytest.raises(ConnectionDropped, match=r"^GET /p: connection dropped"):
        client.request("GET", f"{site.url}/p", headers={})
    assert (len(site.seen), sleeps) == (3, [0.5, 1.0])


def test_post_is_retried_when_the_connection_was_refused(
    make_client: Callable[..., BrowserClient],
) -> None:
    port = free_port()
    started: list[Site] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # the site comes up while we wait
        sleeps.append(seconds)
        if not started:
            started.append(Site(port))

    client = make_client(sleep=sleep)
    try:
        response = client.request(
            "POST", f"http://127.0.0.1:{port}/touch", headers={}, multipart={"resume": "r1"}
        )
        assert response.status_code == 200
        assert sleeps == [0.5]
        assert [(s.method, s.path) for s in started[0].seen] == [("POST", "/touch")]
        assert b'name="resume"' in started[0].seen[0].body
    finally:
        for server in started:
            server.stop()


def test_refused_everywhere_raises_connection_failed_that_never_reached_the_server(
    client: BrowserClient, sleeps: list[float]
) -> None:
    with pytest.raises(ConnectionFailed) as caught:
        client.request("POST", f"http://127.0.0.1:{free_port()}/touch?x=1", headers={})
    assert type(caught.value) is ConnectionFailed
    assert not caught.value.reached_server
    assert str(caught.value) == "POST /touch: connection failed"
    assert sleeps == [0.5, 1.0]


def test_a_connect_timeout_counts_as_never_sent(
    make_client: Callable[..., BrowserClient], sleeps: list[float]
) -> None:
    """A listener whose accept queue is full drops our SYNs: the connect times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        client = make_client(timeout=(0.2, 0.5))
        with pytest.raises(ConnectionFailed) as caught:
            client.request("POST", f"http://127.0.0.1:{port}/touch", headers={})
        assert not caught.value.reached_server
        assert sleeps == [0.5, 1.0]  # a POST that never left may go again
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def test_no_answer_in_time_raises_request_timeout(
    make_client: Callable[..., BrowserClient], site: Site, sleeps: list[float]
) -> None:
    site.answers.append(HANG)
    client = make_client(timeout=(0.5, 0.3))
    with pytest.raises(RequestTimeout, match=r"^POST /touch: no answer in time$"):
        client.request("POST", f"{site.url}/touch", headers={})
    assert (len(site.seen), sleeps) == (1, [])


# --- server clock, proxies, lifecycle --------------------------------------------------


def test_date_header_moves_the_server_clock(
    client: BrowserClient, site: Site, server_clock: ServerClock
) -> None:
    site.date = "Fri, 27 Nov 2026 09:01:00 GMT"  # FakeClock says 09:00:00
    client.request("GET", f"{site.url}/", headers={})
    assert server_clock.offset == 60.0
    assert server_clock.uncertainty == 1.0


def test_upper_case_http_proxy_is_used_and_no_proxy_bypasses_it(
    client: BrowserClient, site: Site, proxy_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    client.request("GET", f"{site.url}/via/proxy?q=1", headers={"Cookie": "z=1"})
    assert RecordingProxy.seen == [f"GET {site.url}/via/proxy?q=1"]
    assert site.seen[-1].headers["Cookie"] == "z=1"

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client.request("GET", f"{site.url}/direct", headers={})
    assert RecordingProxy.seen == [f"GET {site.url}/via/proxy?q=1"]
    assert [s.path for s in site.seen] == ["/via/proxy?q=1", "/direct"]


def test_socks5h_proxy_from_all_proxy(
    client: BrowserClient, site: Site, socks_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", socks_url.replace("socks5://", "socks5h://"))
    response = client.request("GET", f"{site.url}/via/socks", headers={})
    assert response.status_code == 200
    assert Socks5Proxy.seen == [f"127.0.0.1:{site.port}"]
    assert [s.path for s in site.seen] == ["/via/socks"]


def test_close_twice_is_safe(site: Site, server_clock: ServerClock) -> None:
    client = BrowserClient(clock=FakeClock(), server_clock=server_clock)
    client.request("HEAD", f"{site.url}/", headers={})
    client.close()
    client.close()
    assert [s.method for s in site.seen] == ["HEAD"]


# --- the TLS fingerprint ---------------------------------------------------------------


@dataclass
class ClientHello:
    version: int
    cipher_suites: list[int]
    extension_types: list[int]
    alpn: list[bytes]


def parse_client_hello(record: bytes) -> ClientHello:
    """Parses one TLS record holding a ClientHello (RFC 8446 §4.1.2)."""
    content_type, _, length = struct.unpack("!BHH", record[:5])
    assert content_type == 22, "not a handshake record"
    handshake = record[5 : 5 + length]
    assert handshake[0] == 1, "not a ClientHello"
    body_length = int.from_bytes(handshake[1:4], "big")
    body = handshake[4 : 4 + body_length]
    (version,) = struct.unpack("!H", body[:2])
    at = 2 + 32  # version, random
    at += 1 + body[at]  # session id
    (suites_length,) = struct.unpack("!H", body[at : at + 2])
    suites = list(struct.unpack(f"!{suites_length // 2}H", body[at + 2 : at + 2 + suites_length]))
    at += 2 + suites_length
    at += 1 + body[at]  # compression methods
    (extensions_length,) = struct.unpack("!H", body[at : at + 2])
    at += 2
    end = at + extensions_length
    types: list[int] = []
    alpn: list[bytes] = []
    while at < end:
        kind, size = struct.unpack("!HH", body[at : at + 4])
        data = body[at + 4 : at + 4 + size]
        types.append(kind)
        if kind == 16:  # application_layer_protocol_negotiation
            position = 2
            while position < len(data):
                name_length = data[position]
                alpn.append(data[position + 1 : position + 1 + name_length])
                position += 1 + name_length
        at += 4 + size
    assert at == end, "extensions overrun"
    return ClientHello(version, suites, types, alpn)


def capture_client_hello(send: Callable[[str], object]) -> ClientHello:
    """Accepts one connection, reads the first TLS record and hangs up; ``send`` is
    given the https URL and its error, which hanging up causes, is ignored."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)
    records: list[bytes] = []

    def accept() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(5)
            data = b""
            while len(data) < 5 or len(data) < 5 + struct.unpack("!H", data[3:5])[0]:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                data += chunk
            records.append(data)
        listener.close()  # any retry is refused

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    with contextlib.suppress(ConnectionFailed, requests.RequestException):
        send(f"https://127.0.0.1:{listener.getsockname()[1]}/")
    thread.join(5)
    listener.close()
    assert records, "no ClientHello arrived"
    return parse_client_hello(records[0])


def is_grease(value: int) -> bool:
    """RFC 8701's reserved values: 0x0a0a, 0x1a1a, ..., 0xfafa."""
    return (value & 0x0F0F) == 0x0A0A and value >> 8 == value & 0xFF


def test_tls_client_hello_is_chromes(client: BrowserClient) -> None:
    hello = capture_client_hello(lambda url: client.request("GET", url, headers={}))
    assert any(is_grease(suite) for suite in hello.cipher_suites)
    assert any(is_grease(kind) for kind in hello.extension_types)
    assert hello.alpn == [b"h2", b"http/1.1"]
    assert {17513, 17613} & set(hello.extension_types), "no ALPS (application_settings)"


def test_plain_requests_sends_no_grease_so_the_test_above_can_fail() -> None:
    def send(url: str) -> None:
        session = requests.Session()
        session.trust_env = False
        try:
            session.get(url, timeout=5)
        finally:
            session.close()

    hello = capture_client_hello(send)
    assert hello.cipher_suites and hello.extension_types
    assert not any(is_grease(suite) for suite in hello.cipher_suites)
    assert not any(is_grease(kind) for kind in hello.extension_types)
    assert not {17513, 17613} & set(hello.extension_types)
    assert hello.alpn != [b"h2", b"http/1.1"]
