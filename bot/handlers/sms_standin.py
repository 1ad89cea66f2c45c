"""A Twilio stand-in for people and tests: sign and post an inbound SMS as Twilio does."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bot.handlers.sms import INBOUND_PATH


def new_message_sid() -> str:
    """A fresh SMS SID, shaped like Twilio's ('SM' + 32 hex digits)."""
    return "SM" + secrets.token_hex(16)


def signed_post(
    url: str, params: Mapping[str, str], auth_token: str, signed_url: str | None = None
) -> tuple[dict[str, str], bytes]:
    """The headers and body of a form post signed as Twilio signs it (for `signed_url`)."""
    signature = RequestValidator(auth_token).compute_signature(signed_url or url, dict(params))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Twilio-Signature": signature,
    }
    return headers, urlencode(params).encode("utf-8")


def send_as_twilio(
    base_url: str,
    auth_token: str,
    sender: str,
    text: str,
    *,
    to: str,
    account_sid: str,
    public_url: str | None = None,
    message_sid: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, str]:
    """Post one inbound SMS to a running carebot as Twilio would; returns (status, body)."""
    params = {
        "MessageSid": message_sid or new_message_sid(),
        "SmsSid": "",
        "AccountSid": account_sid,
        "From": sender,
        "To": to,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    params["SmsSid"] = params["MessageSid"]
    url = base_url.rstrip("/") + INBOUND_PATH
    signed_url = (public_url or base_url).rstrip("/") + INBOUND_PATH
    headers, body = signed_post(url, params, auth_token, signed_url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")
