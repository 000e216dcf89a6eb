"""Serve the repository on 127.0.0.1 for the browser demo (examples/web/) and print its address.

Cross-origin isolation headers (COOP/COEP) let ONNX Runtime Web use wasm threads; nothing is cached,
so a re-exported model is picked up on reload. `make web-demo` runs it; tests/test_web_runtime.py too.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = "/examples/web/"


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet: the address is all we print
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    port = parser.parse_args().port
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Handler, directory=str(ROOT)))
    except OSError as error:
        print(f"web-demo: cannot listen on 127.0.0.1:{port} ({error.strerror or error}); try PORT=0", file=sys.stderr)
        return 1
    print(f"yolact web demo: http://127.0.0.1:{server.server_address[1]}{DEMO}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
