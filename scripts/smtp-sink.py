#!/usr/bin/env python3
"""A local SMTP sink for the tests (aiosmtpd): writes each message to DIR as <n>.eml with its envelope.

usage: smtp-sink.py DIR PORT [--starttls CERT KEY --user USER --password PASSWORD [--login-only]] [--refuse ADDRESS]
--refuse ADDRESS answers 550 to that recipient (a message refused for good).
PORT 0 picks a free port. Prints "ready PORT" once listening on 127.0.0.1:PORT; stops when its standard input closes.
"""
import os
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, refused=None):
        self.directory = directory
        self.count = 0
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refused and address == self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.directory, "%d.eml" % self.count)
        with open(path + ".tmp", "wb") as out:
            out.write(("X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-Authenticated: %s\r\nX-Helo: %s\r\n"
                       % (envelope.mail_from, ",".join(envelope.rcpt_tos), session.authenticated, session.host_name)).encode())
            out.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    kwargs = {}
    if "--starttls" in sys.argv:
        index = sys.argv.index("--starttls")
        cert, key = sys.argv[index + 1], sys.argv[index + 2]
        user = sys.argv[sys.argv.index("--user") + 1]
        password = sys.argv[sys.argv.index("--password") + 1]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok)

        kwargs = dict(tls_context=context, require_starttls=True, authenticator=authenticator, auth_require_tls=True)
        if "--login-only" in sys.argv:
            kwargs["auth_exclude_mechanism"] = ["PLAIN"]
    for attempt in range(20):
        chosen = port or free_port()
        refused = sys.argv[sys.argv.index("--refuse") + 1] if "--refuse" in sys.argv else None
        controller = Controller(Sink(directory, refused), hostname="127.0.0.1", port=chosen, **kwargs)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            # Taken meanwhile (an ephemeral port of another connection): draw again, unless a port was given.
            if port:
                raise
    else:
        raise SystemExit("no free port")
    print("ready %d" % chosen, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
