"""What an OAuth sign-in's steps and results say to the user: the CLI and the settings
window present the same use-case (:func:`tray_app.adapters.usecases.sign_in_oauth`)
with the same words."""

from __future__ import annotations

from tray_app.adapters.usecases import (
    OAuthFailure,
    OAuthSignIn,
    OAuthStep,
    OpenAuthorizeUrl,
    PortBusy,
    WaitingForRedirect,
)
from tray_app.i18n import t
from tray_app.i18n.text import error_text


def step_text(step: OAuthStep, language: str) -> str:
    """A sign-in's progress, for the user."""
    if isinstance(step, PortBusy):
        return t("login.port_busy", language, port=step.port, detail=step.detail)
    if isinstance(step, OpenAuthorizeUrl):
        return t("login.open", language, url=step.url)
    if isinstance(step, WaitingForRedirect):
        return t("login.waiting", language, redirect=step.redirect, timeout=int(step.timeout))
    return t("login.timeout", language)


def failure_text(result: OAuthSignIn, language: str) -> str:
    """Why a sign-in stored no tokens, for the user."""
    if result.error is not None:
        return error_text(result.error, language)
    if result.failure == OAuthFailure.NO_CLIENT_ID:
        return t("login.need_client", language)
    if result.failure == OAuthFailure.NO_CLIENT_SECRET:
        return t("login.need_secret", language)
    if result.failure == OAuthFailure.FOREIGN_STATE:
        return t("login.state", language)
    if result.failure == OAuthFailure.NO_REDIRECT:
        return t("login.timeout", language)
    if result.failure == OAuthFailure.PORT_BUSY:
        return t("login.port_taken", language, port=result.port, detail=result.detail)
    return t("login.denied", language, detail=result.detail)


def result_text(result: OAuthSignIn, backend: str, language: str) -> str:
    """A sign-in's result in one text (the settings window's status line)."""
    if not result.ok:
        return failure_text(result, language)
    done = t("login.done", language, backend=backend)
    return f"{done} {t('login.api_closed', language)}" if result.api_closed else done
