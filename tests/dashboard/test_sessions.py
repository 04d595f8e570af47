"""Sessions derived from API tokens: what a cookie must hold to be accepted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from offload import App
from offload.dashboard.sessions import FormSigner, Session, cookie_name, open_session, signed_in
from offload.errors import AuthenticationFailed, ConfigurationError
from offload.service import TokenService


@pytest.fixture
def tokens(tmp_path: Path):
    app = App(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield TokenService(app)
    app.close()


def test_a_session_of_a_valid_token_signs_in(tokens: TokenService) -> None:
    record, secret = tokens.create("ada")
    cookie = open_session(secret, 3600).cookie_value(record.id)
    principal, session = signed_in(tokens, cookie)
    assert (principal.user, principal.admin, session.token) == ("ada", False, secret)


def test_a_moved_expiry_a_foreign_signature_or_an_ended_session_is_refused(tokens: TokenService) -> None:
    record, secret = tokens.create("ada")
    session = open_session(secret, 3600)
    good = session.cookie_value(record.id)
    token, expires, signature = good.rsplit(".", 2)
    later = f"{token}.{int(expires) + 86400}.{signature}"
    unsigned = f"{token}.{expires}.{Session(secret, session.expires).signature(None)}"  # without the stored id
    for cookie in (later, unsigned, f"{token}.{expires}.", "garbage", "", None, "x" * 5000):
        with pytest.raises(AuthenticationFailed):
            signed_in(tokens, cookie)
    with pytest.raises(AuthenticationFailed, match="ended"):
        signed_in(tokens, good, now=session.expires + 1)


def test_revoking_the_token_ends_its_sessions(tokens: TokenService) -> None:
    record, secret = tokens.create("ada")
    cookie = open_session(secret, 3600).cookie_value(record.id)
    tokens.revoke(record.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        signed_in(tokens, cookie)


def test_a_session_in_use_is_renewed_past_half_time() -> None:
    now = time.time()
    s = open_session("off_x", 1000, now)
    assert s.renewed(1000, now + 400) is None
    renewed = s.renewed(1000, now + 600)
    assert renewed is not None and renewed.expires == int(now + 1600)
    assert renewed.csrf("id") == s.csrf("id")  # forms of pages opened earlier still work


def test_form_tokens_are_bound_to_the_nonce_and_the_user() -> None:
    signer = FormSigner("a secret")
    nonce = FormSigner.nonce()
    assert signer.token(nonce, "ada") == FormSigner("a secret").token(nonce, "ada")
    assert signer.token(nonce, "ada") != signer.token(nonce, "bob")
    assert signer.token(nonce, "ada") != signer.token(FormSigner.nonce(), "ada")
    assert signer.token(nonce, "ada") != FormSigner("another").token(nonce, "ada")
    with pytest.raises(ConfigurationError):
        FormSigner("")


def test_cookie_names_carry_the_port() -> None:
    assert cookie_name("offload_session", "127.0.0.1:8000") == "offload_session_8000"
    assert cookie_name("offload_session", "jobs.example.com") == "offload_session"
    assert cookie_name("offload_session", "[::1]:8000") == "offload_session"
    assert cookie_name("offload_session", None) == "offload_session"
