"""tinykv: a one-process key-value server over HTTP, the system of docs/systems.md's "Test your
own system" example (tests/examples/tinykv.py plugs it into raftquake). Standard library
only. Durable: every write is appended to a log and fsynced before it is acknowledged,
and the log is replayed on start, so a kill -9 loses nothing that was acknowledged.

    python3 tinykv_server.py --id n1 --listen 0.0.0.0:8000 --data-dir /data/node

GET /kv/K -> {"value": V} (null when absent); PUT /kv/K {"value": V}; POST /cas/K
{"expected": E, "new": N} -> 200, or 409 when the value is not E; GET /status.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Store:
    def __init__(self, data_dir: str):
        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(data_dir, "kv.log")
        self.values: dict[str, object] = {}
        self.lock = threading.Lock()  # one operation at a time: linearizable by design
        if os.path.exists(self.path):
            with open(self.path) as fh:
                for line in fh:
                    if line.endswith("\n"):  # a torn last line was never acknowledged
                        key, value = json.loads(line)
                        self.values[key] = value
        self.log = open(self.path, "a")

    def write(self, key: str, value: object) -> None:
        self.log.write(json.dumps([key, value]) + "\n")
        self.log.flush()
        os.fsync(self.log.fileno())
        self.values[key] = value


def handler(store: Store, node_id: str):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: one line per request is noise here
            pass

        def reply(self, code: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def do_GET(self):
            if self.path == "/status":
                status = {"id": node_id, "role": "leader", "term": 1, "leader": node_id}
                return self.reply(200, status)
            key = self.path.removeprefix("/kv/")
            with store.lock:
                return self.reply(200, {"value": store.values.get(key)})

        def do_PUT(self):
            key, value = self.path.removeprefix("/kv/"), self.body()["value"]
            with store.lock:
                store.write(key, value)
            self.reply(200, {"value": value})

        def do_POST(self):
            key, req = self.path.removeprefix("/cas/"), self.body()
            with store.lock:
                current = store.values.get(key)
                if current != req["expected"]:
                    return self.reply(409, {"value": current})
                store.write(key, req["new"])
            self.reply(200, {"value": req["new"]})

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--id", required=True)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--data-dir", required=True)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), handler(Store(args.data_dir), args.id))
    print(f"tinykv {args.id} listening on {args.listen}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
