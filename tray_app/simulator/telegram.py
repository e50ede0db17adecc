"""A Telegram Bot API simulator: a real HTTP server on 127.0.0.1 for tests and the demo.

Modelled on the Bot API reference (core.telegram.org/bots/api): ``/bot<token>/<method>``,
``{"ok": false, "error_code": ..,
"parameters": {"retry_after": ..}}``, 401 for an unknown token, 400 ``chat not
found`` for a chat that never wrote to the bot, 403 for a chat that blocked it, the
4096-character limit, HTML entity parsing, long-polling ``getUpdates`` with offsets
(a newer poll ends an older one with 409, as Telegram does), and injected faults
(429 with ``retry_after``, 401, 403, 400, 5xx, timeouts, dropped connections, and
connection refusal by not listening at all: :meth:`go_offline`).

Messages carry what the Bot API's ``Message`` carries: ``from`` (a ``User`` with
``id``, ``first_name``, ``username``), ``chat`` (``id`` and ``type``: ``private``,
``group``, ``supergroup``) and ``date`` (Unix time); :meth:`TelegramSimulator.user_says`
writes as the user in a private chat, as a stranger, or as a member of a group. The
server has a clock of its own (``clock_offset`` from the real one) that stamps every
message's ``date`` and every answer's ``Date`` header.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlparse

from tray_app.simulator.server import LocalServer, SimHandler

SIM_BOT_TOKEN = "123456789:SIMULATED-telegram-bot-token_xyz"
SIM_BOT_USERNAME = "hh_raiser_sim_bot"
MAX_RECORDED = 5_000
MESSAGE_LIMIT = 4096
_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
}
_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)([^<>]*)>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[<>&]")
_ENTITIES = {"lt", "gt", "amp", "quot"}


@dataclass
class SentMessage:
    chat_id: int
    text: str  # as sent (HTML)
    parse_mode: str | None
    silent: bool
    real_at: float
    message_id: int

    @property
    def plain(self) -> str:
        """The text as the user sees it: tags dropped, entities decoded."""
        return html.unescape(re.sub(r"<[^<>]+>", "", self.text))


@dataclass
class TgFault:
    kind: str  # 429 401 403 400 500 timeout drop
    method: str | None = None
    times: int = 1
    retry_after: int = 1
    seconds: float = 0.0
    text_contains: str | None = None  # only for messages containing this


@dataclass
class TgRequest:
    real_at: float
    method: str
    params: dict[str, Any]
    status: int = 0


CHAT_TYPES = ("private", "group", "supergroup")  # Bot API ``Chat.type`` (and "channel")


@dataclass
class _Chat:
    id: int
    username: str
    type: str = "private"
    title: str = ""
    blocked: bool = False

    def as_json(self) -> dict[str, Any]:
        """The Bot API's ``Chat``: a private chat shows its user's names, a group its
        title."""
        if self.type == "private":
            return {"id": self.id, "type": self.type, "username": self.username}
        return {"id": self.id, "type": self.type, "title": self.title}


@dataclass
class TelegramSimulator(LocalServer):
    """State and controls; :meth:`start` serves it on an ephemeral port."""

    token: str = SIM_BOT_TOKEN
    bot_username: str = SIM_BOT_USERNAME
    lock: threading.Condition = field(default_factory=threading.Condition)
    chats: dict[int, _Chat] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    messages: deque[SentMessage] = field(default_factory=lambda: deque(maxlen=MAX_RECORDED))
    requests: deque[TgRequest] = field(default_factory=lambda: deque(maxlen=MAX_RECORDED))
    faults: list[TgFault] = field(default_factory=list)
    on_message: Callable[[SentMessage], None] | None = None  # the demo's stand-in phone
    clock_offset: float = 0.0  # Telegram's clock minus the real clock, seconds
    _next_update_id: int = 1000
    _next_message_id: int = 1
    _poll_generation: int = 0

    def __post_init__(self) -> None:
        LocalServer.__init__(self)

    # ---- controls for tests and the demo --------------------------------------------

    def now(self) -> datetime:
        """Telegram's clock: what ``date`` and the ``Date`` header say."""
        return datetime.fromtimestamp(time.time() + self.clock_offset, UTC)

    def user_says(
        self,
        chat_id: int,
        text: str,
        *,
        username: str = "user",
        ago: float = 0,
        user_id: int | None = None,
        first_name: str | None = None,
        chat_type: str = "private",
        title: str = "",
    ) -> int:
        """Someone writes to the bot (the chat becomes known); returns the update id.

        By default the user of the private chat ``chat_id``; ``user_id`` another
        person: a member of the group ``chat_id`` (``chat_type`` ``group`` or
        ``supergroup``). ``ago``: the message was sent that many seconds ago (by
        Telegram's clock, while nobody polled)."""
        sender = chat_id if user_id is None else user_id
        # Bot API (core.telegram.org/bots/api#chat): a private chat's id is its user's
        # id; group and supergroup ids are negative
        if chat_type not in CHAT_TYPES:
            raise ValueError(f"unknown chat type {chat_type!r}")
        if chat_type == "private" and sender != chat_id:
            raise ValueError("in a private chat only its user writes (chat id = user id)")
        if (chat_type == "private") != (chat_id > 0):
            raise ValueError("private chats have positive ids, groups negative ones")
        with self.lock:
            chat = self.chats.setdefault(
                chat_id, _Chat(chat_id, username, chat_type, title or f"group {-chat_id}")
            )
            chat.blocked = False
            if chat_type == "private":
                chat.username = username  # a private chat shows its user's current name
            update_id = self._next_update_id
            self._next_update_id += 1
            # Bot API Message: message_id, from (User: id, is_bot, first_name,
            # username), date (Unix time), chat (Chat), text
            self.updates.append(
                {
                    "update_id": update_id,
                    "message": {
                        "message_id": update_id,
                        "from": {
                            "id": sender,
                            "is_bot": False,
                            "first_name": first_name or username.capitalize(),
                            "username": username,
                        },
                        "date": int(self.now().timestamp() - ago),
                        "chat": chat.as_json(),
                        "text": text,
                    },
                }
            )
            self.lock.notify_all()
            return update_id

    def block(self, chat_id: int) -> None:
        with self.lock:
            self.chats[chat_id].blocked = True

    def inject(
        self,
        kind: str,
        method: str | None = None,
        *,
        times: int = 1,
        retry_after: int = 1,
        seconds: float = 0.0,
        text_contains: str | None = None,
    ) -> None:
        with self.lock:
            self.faults.append(TgFault(kind, method, times, retry_after, seconds, text_contains))

    def go_offline(self) -> None:
        """Connections are refused (nothing listens) until :meth:`go_online`."""
        self.stop()

    def go_online(self) -> None:
        self.start()

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        with self.lock:
            return [m for m in self.messages if chat_id in (None, m.chat_id)]

    def calls(self, method: str) -> list[TgRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == method]

    def wait_for(self, count: int, timeout: float, chat_id: int | None = None) -> list[SentMessage]:
        """Waits until at least ``count`` messages were sent; returns them all."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.sent(chat_id)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.lock.wait(remaining)
            return self.sent(chat_id)

    # ---- the model ------------------------------------------------------------------

    def _take_fault(self, method: str, params: dict[str, Any]) -> TgFault | None:
        with self.lock:
            for fault in self.faults:
                if fault.text_contains is not None and fault.text_contains not in str(
                    params.get("text", "")
                ):
                    continue
                if fault.method in (None, method):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, _ok({"id": 123456789, "is_bot": True, "username": self.bot_username})
        if method == "getUpdates":
            return self._get_updates(params)
        if method == "getChat":
            chat = self._chat(params.get("chat_id"))
            if chat is None:
                return _error(400, "Bad Request: chat not found")
            return 200, _ok(chat.as_json())
        if method == "sendMessage":
            return self._send_message(params)
        return _error(404, "Not Found: method not found")

    def _chat(self, raw: Any) -> _Chat | None:
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            return None
        with self.lock:
            return self.chats.get(chat_id)

    def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self.lock:
            self._poll_generation += 1
            generation = self._poll_generation
            if offset:
                # confirming: everything before the offset is forgotten for good
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                if generation != self._poll_generation:
                    return _error(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                if self.updates or time.monotonic() >= deadline or self._server is None:
                    return 200, _ok(list(self.updates[:100]))
                self.lock.wait(min(0.2, max(deadline - time.monotonic(), 0.01)))

    def _send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat = self._chat(params.get("chat_id"))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        if chat.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode")
        if parse_mode == "HTML":
            problem = html_problem(text)
            if problem:
                return _error(400, f"Bad Request: can't parse entities: {problem}")
            visible = html.unescape(re.sub(r"<[^<>]+>", "", text))
        else:
            visible = text
        if not visible.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(visible.encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
            return _error(400, "Bad Request: message is too long")
        with self.lock:
            message = SentMessage(
                chat.id,
                text,
                parse_mode,
                bool(params.get("disable_notification")),
                time.time(),
                self._next_message_id,
            )
            self._next_message_id += 1
            self.messages.append(message)
            self.lock.notify_all()
        if self.on_message is not None:
            self.on_message(message)
        return 200, _ok({"message_id": message.message_id, "chat": {"id": chat.id}})


def html_problem(text: str) -> str | None:
    """What Telegram's HTML parser would refuse in ``text``, or None."""
    stack: list[str] = []
    for match in _TOKEN.finditer(text):
        closing, tag, _attrs, entity = match.group(1, 2, 3, 4)
        if tag is not None:
            tag = tag.lower()
            if tag not in _ALLOWED_TAGS:
                return f"unsupported start tag {tag!r} at byte offset {match.start()}"
            if closing:
                if not stack or stack.pop() != tag:
                    return f"unmatched end tag {tag!r} at byte offset {match.start()}"
            else:
                stack.append(tag)
        elif entity is not None:
            if not entity.startswith("#") and entity not in _ENTITIES:
                return f"unsupported entity &{entity}; at byte offset {match.start()}"
        else:
            return f"unescaped {match.group(0)!r} at byte offset {match.start()}"
    if stack:
        return f"can't find end tag corresponding to start tag {stack[-1]!r}"
    return None


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


class _Handler(SimHandler):
    server_version = "telegram-sim/1.0"
    # one request per connection: after go_offline no kept-alive socket still answers

    sim: TelegramSimulator

    def date_time_string(self, timestamp: float | None = None) -> str:
        """``Date`` by the simulated Telegram's clock, whole seconds (RFC 7231 section
        7.1.1.2: an origin server with a clock sends it in every response)."""
        return formatdate(self.sim.now().timestamp(), usegmt=True)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    def _handle(self) -> None:
        sim = self.sim
        parsed = urlparse(self.path)
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", parsed.path)
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if raw:
            if "json" in (self.headers.get("Content-Type") or ""):
                with contextlib.suppress(ValueError):
                    params.update(json.loads(raw))
            else:
                params.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        if match is None:
            self._reply(*_error(404, "Not Found"))
            return
        token, method = match.groups()
        record = TgRequest(time.time(), method, params)
        with sim.lock:
            sim.requests.append(record)
        fault = sim._take_fault(method, params)
        if fault is not None and self._apply_fault(fault, record):
            return
        status, body = (
            _error(401, "Unauthorized") if token != sim.token else sim.handle(method, params)
        )
        record.status = status
        self._reply(status, body)

    def _apply_fault(self, fault: TgFault, record: TgRequest) -> bool:
        kind = fault.kind
        if self._no_answer(kind, fault.seconds):
            return True
        answers = {
            "429": _error(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                retry_after=fault.retry_after,
            ),
            "401": _error(401, "Unauthorized"),
            "403": _error(403, "Forbidden: bot was blocked by the user"),
            "400": _error(400, "Bad Request: chat not found"),
            "409": _error(409, "Conflict: terminated by other getUpdates request"),
            "500": _error(500, "Internal Server Error"),
        }
        if kind not in answers:
            raise ValueError(f"unknown fault {kind!r}")
        record.status = answers[kind][0]
        self._reply(*answers[kind])
        return True


TelegramSimulator.handler = _Handler
