"""8. API memory under maximal enrolment uploads: 16 concurrent 6300x6300 PNGs (under api.max_image_pixels).

A flat PNG of 40 megapixels is a few kilobytes on the wire and 119 MB decoded. The API (`facetrail api` in its own
process, SQLite, the face models loaded by a warm-up upload) takes 16 of them at once from two enrollers (8 each,
inside the 12-photo shelf); its resident memory is sampled every 10 ms. The baseline is the same server with the
decode budget lifted, which is what the API did before it had one.
"""

from __future__ import annotations

import concurrent.futures
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

from bench.report import Figure, Section
from facetrail.auth.accounts import Accounts
from facetrail.storage.database import Database
from facetrail.storage.user_store import UserStore

PASSWORD = "correct horse battery staple"
SIDE = 6300
UPLOADS = 16
TARGET_BYTES = 2**30


def _maximal_png(side: int) -> bytes:
    plan = np.full((side, side, 3), 235, np.uint8)
    cv2.rectangle(plan, (side // 8, side // 8), (side - side // 8, side - side // 8), (40, 40, 40), 9)
    return cv2.imencode(".png", plan, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Sampler:
    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss(self.pid))
            time.sleep(0.01)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _site(root: Path) -> Path:
    config = root / "facetrail.yaml"
    config.write_text('database: {url: "sqlite:///facetrail.db"}\nbus: {kind: sqlite, path: bus.db}\n'
                      'objects: {kind: local, path: evidence}\n')
    db = Database(f"sqlite:///{root / 'facetrail.db'}")
    for name in ("enroller1", "enroller2"):
        Accounts(UserStore(db)).create_user(name, "enroller", PASSWORD)
    db.dispose()
    return config


def _measure(config: Path, budget: int, png: bytes, uploads: int) -> tuple[int, int, list[int], float]:
    """(resident bytes after warm-up, peak during the uploads, answers' status codes, seconds)."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.upload_server", str(config), str(port), str(budget)],
                              cwd=Path(__file__).resolve().parent.parent)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API did not start")
                time.sleep(0.2)
        tokens = [httpx.post(f"{base}/login", json={"username": n, "password": PASSWORD}).json()["access_token"]
                  for n in ("enroller1", "enroller2")]
        small = cv2.imencode(".png", np.full((480, 640, 3), 200, np.uint8))[1].tobytes()
        warm = httpx.post(f"{base}/enrolment/photos", content=small, timeout=120,
                          headers={"Authorization": f"Bearer {tokens[0]}", "Content-Type": "image/png"})
        warm.raise_for_status()
        httpx.delete(f"{base}/enrolment/photos/{warm.json()['upload_id']}", headers={"Authorization": f"Bearer {tokens[0]}"})
        time.sleep(0.5)
        settled = _rss(server.pid)
        sampler = Sampler(server.pid)
        started = time.monotonic()

        def upload(i: int) -> int:
            headers = {"Authorization": f"Bearer {tokens[i % 2]}", "Content-Type": "image/png"}
            return httpx.post(f"{base}/enrolment/photos", content=png, headers=headers, timeout=300).status_code

        with concurrent.futures.ThreadPoolExecutor(uploads) as pool:
            codes = list(pool.map(upload, range(uploads)))
        seconds = time.monotonic() - started
        return settled, sampler.stop(), codes, seconds
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(section: Section, quick: bool) -> None:
    side, uploads = (2000, 4) if quick else (SIDE, UPLOADS)
    png = _maximal_png(side)
    from facetrail.api.images import DecodeBudget

    budget = DecodeBudget.sized_from_memory(40_000_000).limit_bytes
    results = {}
    for label, limit in (("budget", budget), ("unbounded", 0)):
        with tempfile.TemporaryDirectory() as folder:
            results[label] = _measure(_site(Path(folder)), limit, png, uploads)
    settled, peak, codes, seconds = results["budget"]
    _, base_peak, base_codes, base_seconds = results["unbounded"]
    mb = 2**20
    section.add(Figure(f"API peak resident memory, {uploads} concurrent {side}x{side} PNG uploads ({len(png) // 1024} KB each)",
                       round(peak / mb), "MB", baseline=round(base_peak / mb), baseline_label="no decode budget",
                       target="< 1024 MB", met=peak < TARGET_BYTES, higher_is_better=False))
    section.add(Figure("API resident memory before the uploads (face models loaded)", round(settled / mb), "MB",
                       higher_is_better=False))
    section.add(Figure(f"time for the {uploads} uploads", round(seconds, 1), "s", baseline=round(base_seconds, 1),
                       baseline_label="no decode budget", higher_is_better=False))
    section.note(f"Decode budget {budget // mb} MB (min of 384 MB and an eighth of this machine's memory): "
                 f"{budget // DecodeBudget.cost(side, side)} such image(s) decoded at once, the rest wait up to 60 s, then "
                 f"503 with Retry-After. Answers with the budget: {_counted(codes)}; without: {_counted(base_codes)} "
                 "(201: the photo's faces listed).")


def _counted(codes: list[int]) -> str:
    return ", ".join(f"{codes.count(code)} x {code}" for code in sorted(set(codes)))
