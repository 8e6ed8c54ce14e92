"""A small OTLP/HTTP receiver on 127.0.0.1: keeps every request's raw body, its path and its
decoded protobuf (opentelemetry-proto), for metrics, traces and logs.

A request is decoded by the end of its path (``.../v1/metrics``), so an exporter given a full
URL under a prefix (as Flowise's ``METRICS_OPEN_TELEMETRY_METRIC_ENDPOINT`` is) is received
too; ``paths`` says where each request went."""

from __future__ import annotations

import gzip
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

_KINDS: dict[str, tuple[Any, Any]] = {
    "/v1/metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
    "/v1/traces": (
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/logs": (
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
    ),
}


@dataclass
class Received:
    """What arrived: raw (decompressed) bodies and decoded requests, per path."""

    raw: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    requests: dict[str, list[Any]] = field(default_factory=lambda: {p: [] for p in _KINDS})
    lock: threading.Lock = field(default_factory=threading.Lock)


class OTLPReceiver:
    """Serve ``/v1/metrics``, ``/v1/traces`` and ``/v1/logs`` on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                suffix = next((p for p in _KINDS if self.path.endswith(p)), None)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if suffix is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                request_type, response_type = _KINDS[suffix]
                request = request_type()
                request.ParseFromString(body)
                with received.lock:
                    received.raw.append(body)
                    received.paths.append(self.path)
                    received.requests[suffix].append(request)
                payload = response_type().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
