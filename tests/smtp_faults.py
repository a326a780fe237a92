"""A misbehaving SMTP server on 127.0.0.1, written on raw sockets for the faults aiosmtpd hides.

``FaultyServer(mode)`` speaks just enough SMTP to take messages, and misbehaves:

* ``"refuse"``: greets every connection with 554 and hangs up;
* ``"drop-after-data"``: stores the first message it is sent, then drops the
  connection without answering the end of DATA; after that it hangs up on every
  connection until ``heal()`` (a server that fell over);
* ``"stall"``: greets, then never answers anything.

``stored`` is every message stored, as raw bytes; ``heal()`` makes it an honest
server that stores and answers 250, so a second sending run can be counted at
the same address.
"""

from __future__ import annotations

import socket
import threading


class FaultyServer:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stored: list[bytes] = []
        self.healthy = False
        self.fallen = False
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def heal(self) -> None:
        self.healthy = True

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FaultyServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(0.2)
            reader = _Lines(connection, self._stop)
            if not self.healthy:
                if self.mode == "refuse":
                    connection.sendall(b"554 5.3.2 no service here\r\n")
                    return
                if self.mode == "drop-after-data" and self.fallen:
                    return  # hang up at once: the server has fallen over
                if self.mode == "stall":
                    connection.sendall(b"220 127.0.0.1 ESMTP slow\r\n")
                    while not self._stop.is_set() and reader.line() is not None:
                        pass  # read, never answer
                    return
            connection.sendall(b"220 127.0.0.1 ESMTP faulty\r\n")
            while True:
                line = reader.line()
                if line is None:
                    return
                verb = line.split(b" ", 1)[0].split(b":", 1)[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    connection.sendall(b"250 127.0.0.1\r\n")
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    connection.sendall(b"250 OK\r\n")
                elif verb == b"DATA":
                    connection.sendall(b"354 go ahead\r\n")
                    body = []
                    while (part := reader.line()) is not None and part != b".":
                        body.append(part[1:] if part.startswith(b"..") else part)
                    self.stored.append(b"\r\n".join(body) + b"\r\n")
                    if self.mode == "drop-after-data" and not self.healthy:
                        self.fallen = True
                        return  # stored, and gone without a word
                    connection.sendall(b"250 stored\r\n")
                elif verb == b"QUIT":
                    connection.sendall(b"221 bye\r\n")
                    return
                else:
                    connection.sendall(b"502 not here\r\n")


class _Lines:
    """CRLF lines from a socket, giving up when the server stops or the client goes."""

    def __init__(self, connection: socket.socket, stop: threading.Event) -> None:
        self.connection, self.stop, self.buffer = connection, stop, b""

    def line(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            if self.stop.is_set():
                return None
            try:
                chunk = self.connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line
