#!/usr/bin/python3
"""Serve MP4 clips as RTSP cameras on 127.0.0.1, H.264 passed through untouched.

    /usr/bin/python3 scripts/rtsp_server.py --port 8554 \\
        --mount cam-a=demo-data/clips/cam-a.mp4 --mount cam-b=... [--loop]

Each clip is served at rtsp://127.0.0.1:PORT/<name>. Without --loop every client
gets its own playback of the clip from the first frame, in real time, ending at
the clip's end. With --loop a mount behaves like a live camera: one shared
stream that restarts the clip at its end, and a client joins wherever it is.
With --once each mount is played to its first client only and then withdrawn
(later requests get 404), like a camera that went away: a recorded walk is seen
exactly once however often the client reconnects.

Prints "ready rtsp://127.0.0.1:PORT" once listening (use --port 0 for any free
port). Runs under the system Python, which has GStreamer's bindings
(scripts/install-rtsp-deps installs them). Stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as exc:
    sys.exit(f"rtsp_server: GStreamer RTSP bindings are missing ({exc}); run scripts/install-rtsp-deps")

HOST = "127.0.0.1"
MOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
# Passing the encoded stream through: no decoder, no encoder, the camera's own bits.
# h264parse repeats SPS/PPS before every keyframe (whole access units) so a client
# can join at any keyframe; the payloader must not do it again per slice, which
# splits a multi-slice picture in two for the client's parser.
PARSER = "h264parse config-interval=-1"
PAYLOADER = "rtph264pay name=pay0 pt=96"


def _quoted(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


class LoopingFeed:
    """Reads one clip in real time, over and over, into a shared live media's appsrc."""

    def __init__(self, clip: Path, appsrc: Gst.Element):
        self.appsrc = appsrc
        self.last_stamp: int | None = None
        self.reader = Gst.parse_launch(
            f"filesrc location={_quoted(clip)} ! qtdemux ! {PARSER} "
            "! video/x-h264,stream-format=byte-stream,alignment=au "
            "! appsink name=sink sync=true emit-signals=true max-buffers=8"
        )
        self.reader.get_by_name("sink").connect("new-sample", self._on_sample)
        bus = self.reader.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_message)
        self.reader.set_state(Gst.State.PLAYING)

    def _on_sample(self, sink: Gst.Element) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        if self.appsrc.get_property("caps") is None:
            self.appsrc.set_property("caps", sample.get_caps())
        buffer = sample.get_buffer().copy()
        buffer.pts = buffer.dts = self._arrival_time()
        result = self.appsrc.emit("push-buffer", buffer)
        return Gst.FlowReturn.OK if result in (Gst.FlowReturn.OK, Gst.FlowReturn.FLUSHING) else result

    def _arrival_time(self) -> int:
        """The media's running time now, so the clock runs on unbroken across every restart of the file.

        appsrc's own do-timestamp stamps a buffer that arrives while the media is
        still pausing with the bare clock time (hours), and the media's sink then
        waits for that time: the stream never starts. Before the media plays the
        first buffers get 0; stamps never go backwards.
        """
        clock = self.appsrc.get_clock()
        playing = self.appsrc.get_state(0)[1] == Gst.State.PLAYING
        now = clock.get_time() - self.appsrc.get_base_time() if clock is not None and playing else 0
        self.last_stamp = max(now, self.last_stamp + 1) if self.last_stamp is not None else now
        return self.last_stamp

    def _on_message(self, _bus: Gst.Bus, message: Gst.Message) -> None:
        if message.type == Gst.MessageType.EOS:
            self.reader.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        elif message.type == Gst.MessageType.ERROR:
            error, _ = message.parse_error()
            print(f"rtsp_server: reading clip failed: {error.message}", file=sys.stderr, flush=True)
            self.stop()

    def stop(self) -> None:
        self.reader.set_state(Gst.State.NULL)
        self.reader.get_bus().remove_signal_watch()


class Server:
    def __init__(self, port: int, mounts: dict[str, Path], loop: bool, once: bool = False):
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(HOST)
        self.server.set_service(str(port))
        self.feeds: set[LoopingFeed] = set()
        points = self.server.get_mount_points()
        for name, clip in mounts.items():
            factory = self._looping(clip) if loop else self._once(clip)
            if once:  # withdrawn when its first playback ends, so a reconnect finds it gone
                factory.connect("media-configure", lambda _f, media, path=f"/{name}": media.connect(
                    "unprepared", lambda _m: points.remove_factory(path)))
            points.add_factory(f"/{name}", factory)

    def _once(self, clip: Path) -> GstRtspServer.RTSPMediaFactory:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( filesrc location={_quoted(clip)} ! qtdemux ! {PARSER} ! {PAYLOADER} )")
        factory.set_shared(False)  # each client its own playback from the start
        return factory

    def _looping(self, clip: Path) -> GstRtspServer.RTSPMediaFactory:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            "( appsrc name=src is-live=true format=time "
            f"! {PARSER} ! {PAYLOADER} )"
        )
        factory.set_shared(True)  # one live stream that every client joins
        factory.connect("media-configure", lambda _f, media: self._start_feed(clip, media))
        return factory

    def _start_feed(self, clip: Path, media: GstRtspServer.RTSPMedia) -> None:
        feed = LoopingFeed(clip, media.get_element().get_by_name("src"))
        self.feeds.add(feed)

        def unprepared(_media: GstRtspServer.RTSPMedia) -> None:
            feed.stop()
            self.feeds.discard(feed)

        media.connect("unprepared", unprepared)

    def start(self) -> int:
        """Listen; returns the bound port."""
        if self.server.attach(None) == 0:
            raise OSError(f"cannot listen on {HOST}:{self.server.get_service()}")
        return self.server.get_bound_port()

    def stop(self) -> None:
        for feed in list(self.feeds):
            feed.stop()
        self.feeds.clear()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve MP4 clips as RTSP cameras on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8554, help="TCP port (0: any free port)")
    parser.add_argument("--mount", action="append", default=[], metavar="NAME=CLIP.mp4", help="serve CLIP at /NAME")
    parser.add_argument("--loop", action="store_true", help="one shared live stream per mount, restarting at the end")
    parser.add_argument("--once", action="store_true", help="play each mount to its first client only, then withdraw it")
    args = parser.parse_args(argv)
    if not args.mount:
        parser.error("give at least one --mount NAME=CLIP.mp4")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a TCP port")
    mounts: dict[str, Path] = {}
    for spec in args.mount:
        name, sep, path = spec.partition("=")
        if not sep or not MOUNT_NAME.match(name):
            parser.error(f"--mount {spec!r}: expected NAME=CLIP.mp4 with NAME of letters, digits, '-' or '_'")
        if name in mounts:
            parser.error(f"--mount {name!r} is given twice")
        clip = Path(path).resolve()
        if not clip.is_file():
            parser.error(f"--mount {name}: no such file {path}")
        mounts[name] = clip
    args.mounts = mounts
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    Gst.init(None)
    server = Server(args.port, args.mounts, args.loop, args.once)
    try:
        port = server.start()
    except OSError as exc:
        print(f"rtsp_server: {exc}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"ready rtsp://{HOST}:{port}", flush=True)
    try:
        loop.run()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
