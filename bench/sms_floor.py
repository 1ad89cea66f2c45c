"""The SMS floor: a bare Starlette + uvicorn endpoint that checks Twilio's signature.

`python -m bench.sms_floor --port P [--public-url URL]`. POST /sms/inbound reads the form,
checks X-Twilio-Signature with twilio's RequestValidator and answers empty TwiML (403 when
the signature is wrong); GET /healthz answers ok. It runs on the same server stack as
`carebot run` (uvicorn with httptools, on uvloop), so the inbound benchmark can say how much
of the webhook's cost is carebot's own work.
"""

from __future__ import annotations

import argparse
import asyncio
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.fakes.twilio import AUTH_TOKEN

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def build(public_url: str) -> Starlette:
    """The floor's app, checking signatures made for `public_url`."""
    validator = RequestValidator(AUTH_TOKEN)

    async def inbound(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        signature = request.headers.get("x-twilio-signature", "")
        if not validator.validate(public_url + "/sms/inbound", form, signature):
            return PlainTextResponse("invalid signature", 403)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def health(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/sms/inbound", inbound, methods=["POST"]), Route("/healthz", health)]
    )


def main() -> int:
    """Serve the floor until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--public-url", help="the URL signatures are made for")
    args = parser.parse_args()
    url = args.public_url or f"http://127.0.0.1:{args.port}"
    config = uvicorn.Config(
        build(url), host="127.0.0.1", port=args.port, log_level="warning", http="httptools"
    )
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(uvicorn.Server(config).serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
