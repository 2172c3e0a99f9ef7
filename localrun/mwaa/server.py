"""The emulated AWS endpoint of `localrun mwaa`, as its own process: `TemplatePlatform` behind moto's server mode.

    python -m localrun.mwaa.server --cdk-out DIR --stack NAME --port 4566 --state DIR --ready-file FILE
        [--airflow-url URL]   (credentials in LOCALRUN_AIRFLOW_USERNAME / LOCALRUN_AIRFLOW_PASSWORD)

Every service answers on 127.0.0.1:PORT with any credentials, as moto's server does; MWAA's InvokeRestApi
(`POST /restapi/{Name}`, signed for the `airflow` service) is answered too. When the platform is up it writes
FILE (JSON: the endpoint and the resolved resource names). SIGTERM or SIGINT stops it: the buckets' objects
are saved to the state folder (and put back on the next start), the warehouse lives in a DuckDB file there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..platform import AirflowAccess, TemplatePlatform
from ..template import REGION, Template, TemplateError, find_template

log = logging.getLogger("localrun.mwaa.server")


def mwaa_middleware(platform: TemplatePlatform, app: Any) -> Any:
    """WSGI: requests signed for MWAA's `airflow` service to /restapi/{Name} go to the platform, the rest to moto."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/restapi/") and "/airflow/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            status, headers, text = platform.invoke_rest_api(path.removeprefix("/restapi/"), body)
            payload = text.encode("utf-8")
            start_response(
                f"{status} {'OK' if status == 200 else 'Error'}",
                [*headers.items(), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        return app(environ, start_response)

    return middleware


def stop_spark() -> None:
    """The Glue engine's Spark session (a JVM child of this process), if a job started one."""
    from .. import data_platform

    if data_platform._SPARK is not None:
        with contextlib.suppress(Exception):  # a JVM already gone (SIGKILL of the group) has nothing to stop
            data_platform._SPARK.stop()
        data_platform._SPARK = None


def serve(
    assembly: Path,
    stack: str | None,
    port: int,
    state: Path,
    ready_file: Path,
    airflow: AirflowAccess | None,
    stop: threading.Event,
) -> None:
    """Run the endpoint until `stop` is set."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    name, body = find_template(assembly, "AWS::MWAA::Environment", stack)
    state.mkdir(parents=True, exist_ok=True)
    with TemplatePlatform(
        Template(body, name), assembly, airflow, warehouse_path=state / "warehouse.duckdb"
    ) as platform:
        restored = platform.load_objects(state / "s3")
        app = mwaa_middleware(platform, DomainDispatcherApplication(create_backend_app))
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
        thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
        thread.start()
        try:
            ready = {
                "aws_endpoint_url": f"http://127.0.0.1:{server.server_port}",
                "region": REGION,
                "restored_objects": restored,
                **platform.describe(),
            }
            staging = ready_file.with_suffix(".tmp")
            staging.write_text(json.dumps(ready, indent=2) + "\n")
            staging.replace(ready_file)
            log.warning("endpoint ready on %s (%d objects restored)", ready["aws_endpoint_url"], restored)
            stop.wait()
        finally:
            platform.stop_background()
            server.shutdown()
            thread.join(timeout=5)
            saved = platform.save_objects(state / "s3")
            log.warning("stopped: %d objects saved to %s", saved, state / "s3")
    stop_spark()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localrun.mwaa.server", description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    parser.add_argument("--stack")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state", type=Path, required=True, help="folder for the saved objects and the warehouse")
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--airflow-url")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    airflow = None
    if args.airflow_url:
        airflow = AirflowAccess(
            args.airflow_url, os.environ["LOCALRUN_AIRFLOW_USERNAME"], os.environ["LOCALRUN_AIRFLOW_PASSWORD"]
        )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        serve(args.cdk_out, args.stack, args.port, args.state, args.ready_file, airflow, stop)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
