"""A stand-in for every vendor host: Chromium's --host-resolver-rules sends them all here (HTTPS, a throwaway
self-signed certificate). Any path but /collect and /beacon answers with a tag that records that it ran, sets a first-party cookie
and keeps sending beacons (images and fetches) to its own host, as real tags do; anything else answers 204."""
import http.server
import ssl
import sys
import threading

TAG = b"""(function () {
  var s = document.currentScript, host = s ? new URL(s.src).hostname : "unknown";
  var first = (window.dataLayer || [])[0];
  (window.__vendorLoads = window.__vendorLoads || []).push({ host: host, first: first ? Array.prototype.slice.call(first, 0, 2) : null });
  document.cookie = "_v_" + host.replace(/[^a-z0-9]/g, "_") + "=1; Path=/";
  var n = 0, timer = setInterval(function () {
    n += 1;
    new Image().src = "https://" + host + "/collect?n=" + n;
    fetch("https://" + host + "/beacon?n=" + n, { mode: "no-cors" }).catch(function () {});
    if (n > 400) clearInterval(timer);
  }, 200);
})();
"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if not self.path.startswith(("/collect", "/beacon")):
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(TAG)))
            self.end_headers()
            self.wfile.write(TAG)
        else:
            self.send_response(204)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    context: ssl.SSLContext

    def finish_request(self, request, client_address):
        # The handshake happens on the connection's own thread: a browser's unused preconnect must not stall the rest.
        request.settimeout(10)
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def serve(cert: str, key: str) -> tuple[http.server.ThreadingHTTPServer, int]:
    server = TLSServer(("127.0.0.1", 0), Handler)
    server.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.context.load_cert_chain(cert, key)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


if __name__ == "__main__":
    srv, port = serve(sys.argv[1], sys.argv[2])
    print(port, flush=True)
    threading.Event().wait()
