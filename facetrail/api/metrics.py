"""Prometheus metrics, read fresh from the stores at every scrape.

/metrics carries counts only (no names, no ids of people), behind a token of an
operator or auditor. Counts of sightings cover only the watch-lists the caller's
role may see (config watchlist.lists), so they are collected per request.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from facetrail.api.context import ApiContext
from facetrail.api.live import AlertFanout
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import AUDITOR, OPERATOR
from facetrail.bus.base import LagReporting
from facetrail.bus.channels import SIGHTINGS, TRAJECTORY_GROUP
from facetrail.storage.reachability import DatabaseLink

router = APIRouter(tags=["operations"])


class StoreCollector:
    def __init__(self, ctx: ApiContext, fanout: AlertFanout, database: DatabaseLink | None = None):
        self._ctx, self._fanout, self._database = ctx, fanout, database
        self._lag_consumer = None

    def collect(self):
        if self._database is not None:
            # While the database is away /metrics answers 503 (its login is checked there); afterwards this counts
            # the outages this process met, so a scrape shows they happened.
            outages = CounterMetricFamily("facetrail_database_outages", "database outages this API process met")
            outages.add_metric([], self._database.outages)
            yield outages
        yield from self._camera_metrics()
        alerts = CounterMetricFamily("facetrail_live_alerts", "alerts pushed to browsers by this API process")
        alerts.add_metric([], self._fanout.delivered)
        yield alerts
        dropped = CounterMetricFamily("facetrail_live_alerts_dropped", "alerts not pushed to a stalled browser")
        dropped.add_metric([], self._fanout.dropped)
        yield dropped
        yield GaugeMetricFamily("facetrail_live_clients", "browsers connected to the alert stream", value=self._fanout.subscribers)
        lag = self._bus_lag()
        if lag is not None:
            yield GaugeMetricFamily("facetrail_bus_lag_messages", "sightings published but not yet stitched", value=lag)

    def _camera_metrics(self):
        fps = GaugeMetricFamily("facetrail_camera_analysed_fps", "frames analysed per second", labels=["camera"])
        lag = GaugeMetricFamily("facetrail_camera_lag_seconds", "how far analysis trails the stream", labels=["camera"])
        up = GaugeMetricFamily("facetrail_camera_up", "1 while the camera reports state 'running'", labels=["camera"])
        age = GaugeMetricFamily("facetrail_camera_report_age_seconds", "seconds since the last health report", labels=["camera"])
        detect = GaugeMetricFamily("facetrail_camera_detection_seconds", "mean detector time per analysed frame", labels=["camera"])
        embed = GaugeMetricFamily("facetrail_camera_embedding_seconds", "mean embedding time per face", labels=["camera"])
        counts = {name: CounterMetricFamily(f"facetrail_camera_{name}", help_, labels=["camera"]) for name, help_ in (
            ("faces_detected", "faces detected"), ("matched_passes", "passes matched to the watch-list"),
            ("unmatched_passes", "passes that matched nobody (counted only)"), ("reconnects", "stream reconnects"))}
        now = time.time()
        for report in self._ctx.health.all():
            labels = [report.camera_id]
            fps.add_metric(labels, report.analysed_fps)
            lag.add_metric(labels, report.lag_s)
            up.add_metric(labels, 1.0 if report.state == "running" else 0.0)
            age.add_metric(labels, max(0.0, now - report.reported_at.timestamp()))
            detect.add_metric(labels, report.detection_ms / 1000.0)
            embed.add_metric(labels, report.embedding_ms / 1000.0)
            for name, family in counts.items():
                family.add_metric(labels, getattr(report, name))
        yield from (fps, lag, up, age, detect, embed, *counts.values())

    def _bus_lag(self) -> int | None:
        if self._ctx.bus is None:
            return None
        if self._lag_consumer is None:
            self._lag_consumer = SIGHTINGS.consumer(self._ctx.bus, TRAJECTORY_GROUP)
        # the SQLite bus knows its lag; Kafka reports it itself
        return self._lag_consumer.lag() if isinstance(self._lag_consumer, LagReporting) else None


class SightingCounts:
    """Stored sightings by review status, of the watch-lists one role may see."""

    def __init__(self, ctx: ApiContext, role: str):
        self._ctx, self._role = ctx, role

    def collect(self):
        sightings = GaugeMetricFamily("facetrail_sightings", "stored sightings by review status", labels=["status"])
        for status, count in self._ctx.sightings.count_by_status(self._ctx.visible_lists(self._role)).items():
            sightings.add_metric([status], count)
        yield sightings


class RequestMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter("facetrail_http_requests", "API requests", ["route", "status"], registry=registry)
        self.latency = Histogram("facetrail_http_request_seconds", "API request latency", ["route"], registry=registry)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request, principal: Principal = Depends(require_roles(OPERATOR, AUDITOR))) -> Response:
    """Counts only, but still behind a login: every route checks the caller's role."""
    caller = CollectorRegistry()
    caller.register(SightingCounts(request.app.state.ctx, principal.role))
    return Response(generate_latest(request.app.state.registry) + generate_latest(caller), media_type=CONTENT_TYPE_LATEST)
