"""A small MJPEG-over-HTTP server on 127.0.0.1 (multipart/x-mixed-replace, what IP cameras send):
a live source for yolact-run's tests and its live benchmark, serving frames the caller made."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

BOUNDARY = b"yolactframe"


def _jpeg(frame: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("cannot encode a frame as JPEG")
    return data.tobytes()


@contextmanager
def mjpeg_server(frames: Sequence[np.ndarray], fps: float, count: int | None = None,
                 die_mid_frame: bool = False) -> Iterator[str]:
    """Serve `count` frames (default: len(frames), cycling through them) at `fps` to each client, then
    drop the connection (die_mid_frame: after half of one more frame, as a crashing camera would).
    Yields the stream's URL."""
    parts = [_jpeg(frame) for frame in frames]
    total = len(parts) if count is None else count

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
            self.end_headers()
            start = time.perf_counter()
            try:
                for index in range(total):
                    time.sleep(max(0.0, start + index / fps - time.perf_counter()))
                    self._part(parts[index % len(parts)])
                if die_mid_frame:
                    data = parts[total % len(parts)]
                    self.wfile.write(self._header(data) + data[: len(data) // 2])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client went away
                return
            self.connection.shutdown(socket.SHUT_RDWR)  # the camera dies: no clean end of the multipart

        def _header(self, data: bytes) -> bytes:
            return b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data)

        def _part(self, data: bytes) -> None:
            self.wfile.write(self._header(data) + data + b"\r\n")
            self.wfile.flush()

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="mjpeg-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    finally:
        server.shutdown()
        server.server_close()
