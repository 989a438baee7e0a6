"""A scripted SMTP relay on 127.0.0.1 for timing faults aiosmtpd cannot
stage: a late reply to the end of DATA for chosen messages, or a pause
before every reply.  Records each connection's commands and every message
it accepted."""

import socket
import threading
import time


class Relay:
    def __init__(self, late=None, late_reply="250 2.0.0 Ok", line_delay=0.0):
        """late: {n: seconds} delays the reply to the end of DATA of the
        n-th message (from 1) and answers it with late_reply."""
        self.late = dict(late or {})
        self.late_reply = late_reply
        self.line_delay = line_delay
        self.lock = threading.Lock()
        self.sessions = []      # per connection: the commands it saw
        self.messages = []      # (connection index, bytes) accepted
        self.count = 0          # ends of DATA seen
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopping = False

    def start(self):
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.stopping = True
        self.sock.close()

    def received(self):
        with self.lock:
            return list(self.messages)

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.sessions.append([])
                index = len(self.sessions) - 1
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()

    def _reply(self, f, text):
        if self.line_delay:
            time.sleep(self.line_delay)
        f.write(text.encode() + b"\r\n")
        f.flush()

    def _serve(self, conn, index):
        f = conn.makefile("rwb")
        try:
            self._reply(f, "220 relay ESMTP")
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line.split(b" ")[0].strip().upper().decode(errors="replace")
                with self.lock:
                    self.sessions[index].append(verb)
                if verb == "EHLO":
                    self._reply(f, "250-relay\r\n250 8BITMIME")
                elif verb == "DATA":
                    self._reply(f, "354 go ahead")
                    body = []
                    while True:
                        data = f.readline()
                        if not data or data == b".\r\n":
                            break
                        body.append(data)
                    with self.lock:
                        self.count += 1
                        n = self.count
                        self.sessions[index].append("END")
                    if n in self.late:
                        time.sleep(self.late[n])
                        if not self.late_reply.startswith("250"):
                            self._reply(f, self.late_reply)
                            continue
                    with self.lock:
                        self.messages.append((index, b"".join(body)))
                    self._reply(f, "250 2.0.0 Ok")
                elif verb == "QUIT":
                    self._reply(f, "221 bye")
                    return
                else:
                    self._reply(f, "250 Ok")
        except OSError:
            return
        finally:
            conn.close()
