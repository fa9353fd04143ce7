#!/usr/bin/env python3
"""Prints the Stripe-Signature header value the official `stripe` library computes for a payload.

Usage: sign.py SECRET [PAYLOAD_FILE] [--timestamp UNIX_SECONDS]

The payload is read as raw bytes from PAYLOAD_FILE, or from stdin when it is absent or `-`, and
signed exactly as read (no trailing newline is stripped). Without --timestamp the library uses the
current time. Used by crates/ingest/tests/stripe.rs; install the library with install.sh.
"""

import argparse
import sys

import stripe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("secret", help="the endpoint's signing secret, e.g. whsec_...")
    parser.add_argument("payload", nargs="?", default="-", help="JSON payload file (default stdin)")
    parser.add_argument("--timestamp", type=int, default=None, help="unix seconds to sign at")
    args = parser.parse_args()

    if args.payload == "-":
        raw = sys.stdin.buffer.read()
    else:
        with open(args.payload, "rb") as f:
            raw = f.read()
    # The library signs the body as text; it decodes bytes as UTF-8 when verifying, so do the same.
    payload = raw.decode("utf-8")

    header = stripe.WebhookSignature.generate_signature_header(
        payload, args.secret, timestamp=args.timestamp
    )
    # Double-check through the library's own verification path (signature only: tolerance=None
    # skips the age check, so a fixed past --timestamp verifies too).
    stripe.WebhookSignature.verify_header(raw, header, args.secret, tolerance=None)
    if args.timestamp is None:
        stripe.WebhookSignature.verify_header(raw, header, args.secret, tolerance=300)

    sys.stdout.write(header + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
