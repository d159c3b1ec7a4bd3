#!/usr/bin/env python3
"""A fake Hugging Face hub on 127.0.0.1 for the hub client's tests (standard library only).

Every folder under --root is served as the repository ORG/<folder> (ORG is --org). It answers
/{repo}/resolve/{revision}/{path} as huggingface.co does:
  - regular files: 200 with ETag "<git blob sha1>", X-Repo-Commit, Content-Length;
  - LFS files (*.safetensors, *.bin, ...): 302 to an absolute CDN URL on --cdn-host, with X-Linked-Etag
    "<sha256>", X-Linked-Size, X-Repo-Commit, and an ETag of the pointer file (which a client must not use);
  - 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound (+ X-Repo-Commit), 401 when a token
    is required and missing or wrong;
  - a renamed repository (--rename OLD=NEW) answers with a relative 307 to the new name.
Revisions: "main", the tag "v1" and the commit hash itself.

It prints the port on the first line of stdout. It exits when its stdin closes (the test that started it is
gone) or after --lifetime seconds, so it can never outlive a test run.

With --state DIR it appends every request to DIR/log.json (method, path, file, range, auth) and, before each
request, reads DIR/control.json, whose keys switch failures on:
  drop_halfway: N     the next N CDN downloads send half of the body, then close the connection (-1: all)
  corrupt: true       CDN bodies have one byte changed (same length, wrong sha256)
  stall: true         CDN answers send their headers, then nothing (the connection stays open and silent)
  stall_after: N      CDN answers send the file's bytes before offset N, then nothing (as `stall`); a request
                      for the bytes from N on gets its headers only
  cdn_status: N       CDN requests answer HTTP N
  omit_headers: [..]  header names left out of /resolve/ answers (a proxy that strips them)
  ignore_range: true  CDN requests with a Range get the whole file with 200
  require_token: "T"  /resolve/ requests need "Authorization: Bearer T"
  status: N           /resolve/ requests answer HTTP N (a hub outage)
  commit_salt: "S"    changes the commit hash of every repository (main moved)
  body_delay_ms: N    CDN bodies start after N milliseconds
  drip_ms: N          CDN bodies are sent one byte at a time, N milliseconds apart
  stall_ms: N         CDN answers send their headers, then nothing for N ms, then the body, unless the client
                      hangs up first; the log entry gets "hung_up_ms": the ms from just before the headers
                      were sent to the hang-up (absent when the body was sent)
  claim_size: {F: N}  /resolve/ answers for file F claim N bytes (X-Linked-Size, or a HEAD's Content-Length)
  error_message: "T"  the X-Error-Message of the answers `status` and `cdn_status` ask for (raw, as given)
  error_body: "T"     their body, instead of a JSON object (raw, as given)
"""

import argparse
import hashlib
import json
import os
import select
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".safetensors", ".bin", ".npz", ".pt", ".h5", ".msgpack")


class Hub:
    def __init__(self, args):
        self.root = os.path.abspath(args.root)
        self.org = args.org
        self.state = args.state
        self.cdn_host = args.cdn_host
        self.renames = dict(r.split("=", 1) for r in args.rename)
        self.lock = threading.Lock()
        self.log = []
        self.drops_done = 0
        self.hashes = {}  # (path, mtime, size) -> (sha1 of git blob, sha256)
        self.by_sha256 = {}  # sha256 -> absolute path
        self.port = 0
        self.stop = threading.Event()

    def control(self):
        if not self.state:
            return {}
        try:
            with open(os.path.join(self.state, "control.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def record(self, entry=None):
        """Appends a request (with the status and headers of its answer) to the log; None: rewrites the log
        after an entry changed."""
        with self.lock:
            if entry is not None:
                self.log.append(entry)
            if self.state:
                # Written before the answer is sent, atomically, so a test that has its answer sees the entry.
                tmp = os.path.join(self.state, "log.json.tmp")
                with open(tmp, "w") as f:
                    json.dump(self.log, f, indent=1)
                os.replace(tmp, os.path.join(self.state, "log.json"))

    def repo_dir(self, repo_id):
        org, _, name = repo_id.partition("/")
        if org != self.org or not name or "/" in name or name.startswith("."):
            return None
        path = os.path.join(self.root, name)
        return path if os.path.isdir(path) else None

    def files(self, repo_dir):
        out = []
        for base, _, names in os.walk(repo_dir):
            for n in names:
                full = os.path.join(base, n)
                out.append(os.path.relpath(full, repo_dir).replace(os.sep, "/"))
        return sorted(out)

    def commit(self, repo_id, repo_dir, salt):
        h = hashlib.sha1(f"{repo_id}\n{salt}\n".encode())
        for rel in self.files(repo_dir):
            h.update(f"{rel} {os.path.getsize(os.path.join(repo_dir, rel))}\n".encode())
        return h.hexdigest()

    def digests(self, path):
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        with self.lock:
            if key in self.hashes:
                return self.hashes[key]
        with open(path, "rb") as f:
            data = f.read()
        git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        sha = hashlib.sha256(data).hexdigest()
        with self.lock:
            self.hashes[key] = (git, sha)
            self.by_sha256[sha] = path
        return git, sha


def parse_range(header, size):
    """(start, end) inclusive for "bytes=N-" or "bytes=N-M"; None without a header; "bad" when unsatisfiable."""
    if not header or not header.startswith("bytes="):
        return None
    first, _, last = header[len("bytes="):].partition("-")
    try:
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "bad"
    return start, min(end, size - 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real hub; every answer carries Content-Length
    hub = None

    def log_message(self, *args):  # quiet: the tests read log.json instead
        pass

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    # --- answers -------------------------------------------------------------------------------------------
    def reply(self, status, headers, body=b"", head=False, claimed_length=None):
        omit = {h.lower() for h in self.control.get("omit_headers", [])}
        headers = {k: v for k, v in headers.items() if k.lower() not in omit}
        self.answered(status, headers)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        length = claimed_length if head and claimed_length is not None else len(body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, status, code, message, head, extra=None, raw=False):
        """An error answer; with `raw`, error_message and error_body from control.json replace the text."""
        if raw and "error_message" in self.control:
            message = self.control["error_message"]
        body = json.dumps({"error": message}).encode()
        if raw and "error_body" in self.control:
            body = self.control["error_body"].encode("utf-8", "surrogateescape")
        headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
        if code is None:
            del headers["X-Error-Code"]
        headers.update(extra or {})
        self.reply(status, headers, body, head)

    def answered(self, status, headers):
        self.entry["status"] = status
        self.entry["headers"] = headers
        self.hub.record(self.entry)

    # --- routing -------------------------------------------------------------------------------------------
    def handle_any(self, head):
        hub = self.hub
        control = self.control = hub.control()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        entry = self.entry = {
            "method": self.command,
            "path": path,
            "file": query.get("file", [None])[0],
            "range": self.headers.get("Range"),
            "auth": self.headers.get("Authorization"),
        }
        if path.startswith("/cdn/"):
            entry["file"] = entry["file"] or path
            return self.cdn(path[len("/cdn/"):], control, head)
        parts = path.lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self.error(404, None, "Not Found", head)
        repo_id = parts[0] + "/" + parts[1]
        revision = urllib.parse.unquote(parts[3])
        filename = urllib.parse.unquote("/".join(parts[4:]))
        entry["file"] = filename
        entry["repo"] = repo_id
        entry["revision"] = revision
        if repo_id in hub.renames:
            new = hub.renames[repo_id]
            return self.reply(307, {"Location": f"/{new}/resolve/{parts[3]}/{'/'.join(parts[4:])}"}, b"", head)
        return self.resolve(repo_id, revision, filename, control, head)

    def resolve(self, repo_id, revision, filename, control, head):
        hub = self.hub
        token = control.get("require_token")
        if token:
            auth = self.headers.get("Authorization")
            if auth is None:
                return self.error(401, "RepoNotFound", "Invalid username or password.", head)
            if auth != f"Bearer {token}":
                return self.error(401, None, "Invalid credentials in Authorization header", head)
        if control.get("status"):
            return self.error(int(control["status"]), None, "Service unavailable (test outage)", head, raw=True)
        repo_dir = hub.repo_dir(repo_id)
        if repo_dir is None:
            return self.error(404, "RepoNotFound", "Repository not found", head)
        commit = hub.commit(repo_id, repo_dir, control.get("commit_salt", ""))
        if revision not in ("main", "v1", commit):
            return self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
        full = os.path.normpath(os.path.join(repo_dir, filename))
        if not full.startswith(repo_dir + os.sep) or not os.path.isfile(full):
            return self.error(404, "EntryNotFound", "Entry not found", head, {"X-Repo-Commit": commit})
        git_sha1, sha256 = hub.digests(full)
        size = os.path.getsize(full)
        claimed = control.get("claim_size", {}).get(filename)
        if filename.endswith(LFS_SUFFIXES):
            q = urllib.parse.urlencode({"file": filename, "X-Amz-Signature": "fake"})
            location = f"http://{hub.cdn_host}:{hub.port}/cdn/{sha256}?{q}"
            headers = {
                "Location": location,
                "X-Repo-Commit": commit,
                "X-Linked-Etag": f'"{sha256}"',
                "X-Linked-Size": str(claimed if claimed is not None else size),
                # The pointer file's ETag: a client that prefers it over X-Linked-Etag names the blob wrongly.
                "ETag": f'"{hashlib.sha1(sha256.encode()).hexdigest()}"',
            }
            return self.reply(302, headers, f"Found. Redirecting to {location}".encode(), head)
        with open(full, "rb") as f:
            data = f.read()
        headers = {"ETag": f'"{git_sha1}"', "X-Repo-Commit": commit, "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        rng = parse_range(self.headers.get("Range"), len(data))
        if rng == "bad":
            return self.reply(416, {"Content-Range": f"bytes */{len(data)}"}, b"", head)
        if rng is not None:
            headers["Content-Range"] = f"bytes {rng[0]}-{rng[1]}/{len(data)}"
            return self.reply(206, headers, data[rng[0]:rng[1] + 1], head)
        return self.reply(200, headers, data, head, claimed_length=claimed)

    def stall_then_send(self, data, seconds, since):
        """Silent until `since` + `seconds`, then the body; a client that hangs up before has its hang-up
        time recorded (measured here, it can only come out later than the client's own measure)."""
        remaining = since + seconds - time.monotonic()
        readable, _, _ = select.select([self.connection], [], [], max(0.0, remaining))
        if readable:  # the request was read whole, so the only thing left to read is the end of the stream
            try:
                closed = self.connection.recv(1, socket.MSG_PEEK) == b""
            except ConnectionError:
                closed = True
            if closed:
                self.entry["hung_up_ms"] = (time.monotonic() - since) * 1000
                self.hub.record()
                self.close_connection = True
                return
        self.wfile.write(data)

    def cdn(self, sha256, control, head):
        hub = self.hub
        path = hub.by_sha256.get(sha256)
        if path is None:
            return self.error(404, None, "NoSuchKey", head)
        if control.get("cdn_status"):
            return self.error(int(control["cdn_status"]), None, "CDN failure (test)", head, raw=True)
        with open(path, "rb") as f:
            data = f.read()
        status, headers = 200, {"ETag": f'"{sha256}"', "Accept-Ranges": "bytes",
                                "Content-Type": "application/octet-stream"}
        rng = None if control.get("ignore_range") else parse_range(self.headers.get("Range"), len(data))
        if rng == "bad":
            return self.reply(416, {"Content-Range": f"bytes */{len(data)}"}, b"", head)
        first = 0  # the offset in the file of data[0]
        if rng is not None:
            status = 206
            headers["Content-Range"] = f"bytes {rng[0]}-{rng[1]}/{len(data)}"
            first = rng[0]
            data = data[rng[0]:rng[1] + 1]
        if control.get("corrupt") and data:
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        if head:
            return self.reply(status, headers, data, head=True)

        drop = False
        with hub.lock:
            limit = int(control.get("drop_halfway", 0))
            if limit < 0 or hub.drops_done < limit:
                hub.drops_done += 1
                drop = True
        headers["Content-Length"] = str(len(data))
        self.entry["dropped"] = drop
        self.answered(status, headers)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        before_headers = time.monotonic()  # no earlier than the client's last byte before the silence
        self.end_headers()
        if control.get("stall_ms") is not None:
            return self.stall_then_send(data, int(control["stall_ms"]) / 1000, before_headers)
        if control.get("body_delay_ms"):
            time.sleep(int(control["body_delay_ms"]) / 1000)
        if control.get("stall") or control.get("stall_after") is not None:
            self.wfile.write(data[:max(0, int(control.get("stall_after", 0)) - first)])
            self.wfile.flush()
            hub.stop.wait(60)  # silent until the client gives up and the test ends
            self.close_connection = True
            return
        if control.get("drip_ms"):
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                if hub.stop.wait(int(control["drip_ms"]) / 1000):
                    return
            return
        if drop:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up mid-body is what several tests do on purpose; anything else is a bug to show.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="folder whose subfolders are served as repositories")
    parser.add_argument("--org", default="visbone-test")
    parser.add_argument("--state", help="folder for log.json (written) and control.json (read)")
    parser.add_argument("--cdn-host", default="localhost",
                        help="host name in LFS redirects; differs from 127.0.0.1 so the token must not follow")
    parser.add_argument("--rename", action="append", default=[], help="OLD_ORG/OLD=NEW_ORG/NEW")
    parser.add_argument("--lifetime", type=float, default=300)
    args = parser.parse_args()

    hub = Hub(args)
    Handler.hub = hub
    server = Server(("127.0.0.1", 0), Handler)
    hub.port = server.server_address[1]

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print(hub.port, flush=True)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
