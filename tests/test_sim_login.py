"""The simulated site's login as a real browser sees it: the form, the cookies a
signed-in browser gets, the captcha step, logging out, and a browser's page loads
passing the strict bot protection (the embedded login window signs in here)."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import requests

from tray_app.simulator.hh import HHSimulator
from tray_app.simulator.hh_web import (
    CAPTCHA_ERROR,
    CAPTCHA_PROMPT,
    DDOS_GUARD_PAGE,
    LOGIN_ERROR,
    LOGIN_PATH,
    LOGIN_TITLE,
    LOGOUT_PATH,
    SIM_CAPTCHA_ANSWER,
    SIM_PASSWORD,
    SIM_USERNAME,
    WebAccount,
)

LIST = "/applicant/resumes"
# WebKitGTK's User-Agent: no "Chrome/", no Sec-Ch-Ua
WEBKIT_UA = (
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Safari/605.1.15"
)
DOCUMENT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Form(HTMLParser):
    """The inputs and the text of a page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.action: str | None = None
        self.buttons: list[str] = []
        self._in_button = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name"):
            self.inputs[str(attributes["name"])] = attributes
        elif tag == "form":
            self.action = attributes.get("action")
        elif tag == "button":
            self._in_button = True

    def handle_endtag(self, tag: str) -> None:
        self._in_button = self._in_button and tag != "button"

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.buttons.append(data)

    def value(self, name: str) -> str:
        return str(self.inputs[name].get("value") or "")


def browser() -> requests.Session:
    """A plain ``requests`` session behaving like a browser's page loads."""
    session = requests.Session()
    session.trust_env = False
    session.headers.update({"User-Agent": WEBKIT_UA, "Accept": DOCUMENT_ACCEPT})
    return session


def page_state(answer: requests.Response) -> dict[str, Any]:
    found = re.search(r'<template id="HH-Lux-InitialState">(.*?)</template>', answer.text, re.S)
    assert found, answer.text
    state: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return state


def open_login(sim: HHSimulator, client: requests.Session, query: str = "") -> Form:
    answer = client.get(f"{sim.url}{LOGIN_PATH}{query}", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    return Form(answer.text)


def submit(
    sim: HHSimulator, client: requests.Session, form: Form, **fields: str
) -> requests.Response:
    """Posts ``form`` as a browser does: its hidden fields and what was typed."""
    data = {name: form.value(name) for name, a in form.inputs.items() if a["type"] == "hidden"}
    return client.post(f"{sim.url}{LOGIN_PATH}", data={**data, **fields}, timeout=5)


def sign_in(
    sim: HHSimulator, client: requests.Session, username: str, password: str
) -> requests.Response:
    return submit(sim, client, open_login(sim, client), username=username, password=password)


def set_cookies(answer: requests.Response) -> list[str]:
    return list(answer.raw.headers.getlist("Set-Cookie"))


def test_the_login_page_is_a_plain_form_with_the_username_focused(sim: HHSimulator) -> None:
    client = browser()
    answer = client.get(f"{sim.url}{LOGIN_PATH}?backurl=/applicant/resumes", timeout=5)
    assert f"<title>{LOGIN_TITLE}</title>" in answer.text
    form = Form(answer.text)
    assert form.action == LOGIN_PATH and form.buttons == ["Войти"]
    assert "autofocus" in form.inputs["username"] and form.inputs["username"]["id"] == "username"
    assert form.inputs["password"]["type"] == "password"
    assert "autofocus" not in form.inputs["password"]
    # the hidden _xsrf is the visitor's session's, which the page handed out as a cookie
    assert form.value("_xsrf") == client.cookies["_xsrf"]
    assert sim.web.sessions[client.cookies["hhtoken"]].user_type == "anonymous"
    assert form.value("backurl") == LIST
    assert page_state(answer)["userType"] == "anonymous"


def test_the_right_password_signs_the_browser_in_and_lands_on_the_resume_list(
    sim: HHSimulator,
) -> None:
    client = browser()
    form = open_login(sim, client, "?backurl=%2Fapplicant%2Fresumes")
    anonymous = client.cookies["hhtoken"]
    answer = submit(sim, client, form, username=SIM_USERNAME, password=SIM_PASSWORD)

    redirect = answer.history[0]
    assert redirect.status_code == 302 and redirect.headers["Location"] == LIST
    headers = {line.split("=", 1)[0]: line for line in set_cookies(redirect)}
    assert set(headers) == {"hhtoken", "_xsrf", "crypted_id", "hhuid", "hhrole"}
    assert all("Path=/" in line for line in headers.values())
    assert "HttpOnly" in headers["hhtoken"] and "HttpOnly" in headers["crypted_id"]
    assert "HttpOnly" not in headers["_xsrf"]  # the page echoes it as X-Xsrftoken
    jar = {cookie.name: cookie for cookie in client.cookies}
    assert jar["hhtoken"].has_nonstandard_attr("HttpOnly")
    assert jar["hhrole"].value == "applicant"
    assert jar["hhtoken"].value != anonymous and jar["_xsrf"].value != form.value("_xsrf")

    # the browser landed on the list page, an HTML page with the logged-in state
    assert answer.status_code == 200 and answer.url == f"{sim.url}{LIST}"
    state = page_state(answer)
    assert state["userType"] == "applicant"
    assert [r["_attributes"]["hash"] for r in state["applicantResumes"]] == list(sim.resumes)

    # the anonymous hhtoken died: with it the list sends the visitor to the login
    assert not sim.web.is_live(anonymous)
    old = requests.get(
        f"{sim.url}{LIST}",
        headers={"Accept": DOCUMENT_ACCEPT, "Cookie": f"hhtoken={anonymous}"},
        allow_redirects=False,
        timeout=5,
    )
    assert old.status_code == 302 and old.headers["Location"].startswith(LOGIN_PATH)

    [session] = sim.web.logged_in_sessions()
    assert session.hhtoken == jar["hhtoken"].value and session.username == SIM_USERNAME
    sign_in_seen = sim.web.last_sign_in
    assert sign_in_seen is not None
    assert (sign_in_seen.outcome, sign_in_seen.user_type) == ("logged_in", "applicant")
    # signed in already: the login page sends the browser straight on
    again = client.get(f"{sim.url}{LOGIN_PATH}?backurl=/applicant/resumes", timeout=5)
    assert again.url == f"{sim.url}{LIST}" and page_state(again)["userType"] == "applicant"


def test_an_employer_signs_in_as_an_employer(sim: HHSimulator) -> None:
    sim.web.config.accounts["hr@example.com"] = WebAccount("hr secret", user_type="employer")
    client = browser()
    answer = sign_in(sim, client, "HR@example.com", "hr secret")
    assert page_state(answer)["userType"] == "employer"
    assert client.cookies["hhrole"] == "employer"
    assert [s.user_type for s in sim.web.logged_in_sessions()] == ["employer"]


@pytest.mark.parametrize(
    ("username", "password"),
    [(SIM_USERNAME, "wrong horse"), ("nobody@example.com", SIM_PASSWORD), (SIM_USERNAME, "")],
)
def test_a_wrong_password_shows_the_error_and_signs_nobody_in(
    sim: HHSimulator, username: str, password: str
) -> None:
    client = browser()
    form = open_login(sim, client)
    answer = submit(sim, client, form, username=username, password=password)
    assert answer.status_code == 200 and not answer.history
    assert LOGIN_ERROR in answer.text and 'role="alert"' in answer.text
    again = Form(answer.text)
    assert "autofocus" in again.inputs["username"] and again.value("_xsrf") == form.value("_xsrf")
    assert "crypted_id" not in client.cookies and sim.web.logged_in_sessions() == []
    assert sim.web.last_sign_in is not None and sim.web.last_sign_in.outcome == "wrong_password"


def test_a_captcha_step_follows_the_right_password(sim: HHSimulator) -> None:
    sim.web.config.accounts[SIM_USERNAME].captcha = True
    client = browser()
    answer = sign_in(sim, client, SIM_USERNAME, SIM_PASSWORD)
    assert answer.status_code == 200 and CAPTCHA_PROMPT in answer.text
    captcha = Form(answer.text)
    assert "autofocus" in captcha.inputs["captcha"] and captcha.value("captcha_step")
    assert sim.web.logged_in_sessions() == []

    wrong = submit(sim, client, captcha, captcha="wrong")
    assert wrong.status_code == 200 and CAPTCHA_ERROR in wrong.text
    assert CAPTCHA_PROMPT in wrong.text and sim.web.logged_in_sessions() == []
    retry = Form(wrong.text)
    assert retry.value("captcha_step") != captcha.value("captcha_step")

    # a step token works once: the first one is spent
    spent = submit(sim, client, captcha, captcha=SIM_CAPTCHA_ANSWER)
    assert spent.status_code == 200 and sim.web.logged_in_sessions() == []
    assert "autofocus" in Form(spent.text).inputs["username"]

    done = submit(sim, client, retry, captcha=SIM_CAPTCHA_ANSWER)
    assert done.url == f"{sim.url}{LIST}" and page_state(done)["userType"] == "applicant"
    outcomes = [s.outcome for s in sim.web.sign_ins]
    assert outcomes == ["captcha_asked", "captcha_wrong", "step_expired", "logged_in"]


@pytest.mark.parametrize("xsrf", [None, "", "forged-0123456789"])
def test_a_post_without_the_sessions_xsrf_is_refused(sim: HHSimulator, xsrf: str | None) -> None:
    client = browser()
    form = open_login(sim, client)
    fields = {"username": SIM_USERNAME, "password": SIM_PASSWORD, "backurl": LIST}
    if xsrf is not None:
        fields["_xsrf"] = xsrf
    answer = client.post(f"{sim.url}{LOGIN_PATH}", data=fields, timeout=5)
    assert answer.status_code == 403 and not answer.history
    assert sim.web.logged_in_sessions() == [] and form.value("_xsrf")


def test_only_a_path_on_the_site_is_a_backurl(sim: HHSimulator) -> None:
    client = browser()
    form = open_login(sim, client, "?backurl=%2F%2Fevil.example%2F")
    assert form.value("backurl") == LIST
    answer = submit(sim, client, form, username=SIM_USERNAME, password=SIM_PASSWORD)
    assert answer.url == f"{sim.url}{LIST}"
    other = browser()
    form = open_login(sim, other, "?backurl=/applicant/my_resumes")
    answer = submit(sim, other, form, username=SIM_USERNAME, password=SIM_PASSWORD)
    assert answer.url == f"{sim.url}/applicant/my_resumes"


def test_logging_out_ends_the_session(sim: HHSimulator) -> None:
    client = browser()
    sign_in(sim, client, SIM_USERNAME, SIM_PASSWORD)
    signed_in = client.cookies["hhtoken"]
    answer = client.get(f"{sim.url}{LOGOUT_PATH}", timeout=5)
    assert answer.history[0].status_code == 302 and answer.history[0].headers["Location"] == "/"
    assert not sim.web.is_live(signed_in) and sim.web.logged_in_sessions() == []
    assert "crypted_id" not in client.cookies and "hhrole" not in client.cookies
    assert sim.web.sessions[client.cookies["hhtoken"]].user_type == "anonymous"
    assert sim.web.home_page_loads == 0  # an anonymous visit, not a cold load
    to_list = client.get(f"{sim.url}{LIST}", allow_redirects=False, timeout=5)
    assert to_list.status_code == 302 and to_list.headers["Location"].startswith(LOGIN_PATH)


def test_a_browsers_page_load_passes_the_strict_checks_but_a_bare_xhr_does_not(
    sim: HHSimulator,
) -> None:
    """A real browser passes DDoS-Guard's challenge whatever its User-Agent; a client
    that is neither a browser's page load nor the page's own XHR still meets it."""
    assert sim.web.config.strict
    client = browser()
    page = sign_in(sim, client, SIM_USERNAME, SIM_PASSWORD)
    assert page.status_code == 200 and page_state(page)["userType"] == "applicant"
    assert sim.web.violations == [] and f"GET {LIST}" in sim.web.navigations

    bare = client.get(
        f"{sim.url}{LIST}",
        headers={"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"},
        timeout=5,
    )
    assert bare.status_code == 403 and bare.headers["Server"] == "ddos-guard"
    assert bare.content == DDOS_GUARD_PAGE
    assert len(sim.web.violations) == 1 and "not Chrome" in sim.web.violations[0]
    # a page load is a GET: a POST with an HTML Accept is no page load
    touch = client.post(f"{sim.url}/applicant/resumes/touch", timeout=5)
    assert touch.status_code == 403 and len(sim.web.violations) == 2
    sim.web.violations.clear()  # seen: the fixture's own check must not fail on it
