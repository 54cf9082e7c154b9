"""`python -m integration_tests.local_warehouse`: start the local warehouse, print its connection details.

Prints one JSON line (hostname, port, http_path, token, a service principal's client id and secret,
S3 endpoint, bucket and keys, Azurite account and SAS token, volume and managed-table folders), then serves
until stdin closes or the process is stopped. Everything listens on 127.0.0.1 only.
"""
import argparse
import json
import os
import signal
import sys
import threading

from .server import LocalWarehouse


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m integration_tests.local_warehouse")
    parser.add_argument("--port", type=int, default=0, help="Thrift HTTP port (default: any free one)")
    parser.add_argument("--token", default=None, help="the access token to accept (default: a random one)")
    parser.add_argument("--token-seconds", type=int, default=3600,
                        help="lifetime of the OAuth access tokens it issues (default: an hour)")
    parser.add_argument("--statement-seconds", type=float,
                        default=float(os.environ.get("LOCAL_WAREHOUSE_STATEMENT_SECONDS") or 0),
                        help="wait this long before each statement and Files API call, as a real warehouse does "
                             "(about 1 s); concurrent ones overlap (default 0, env LOCAL_WAREHOUSE_STATEMENT_SECONDS)")
    args = parser.parse_args()
    warehouse = LocalWarehouse(port=args.port, token=args.token, token_seconds=args.token_seconds,
                               statement_seconds=args.statement_seconds)
    details = warehouse.start()
    print(json.dumps(details.as_dict()), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin():
        try:
            while sys.stdin.read(1):
                pass
        except Exception:
            pass
        done.set()

    if not sys.stdin.isatty():
        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    warehouse.stop()
    sys.stdout.flush()
    os._exit(0)  # the Spark Connect client keeps retry threads alive that would delay a normal exit


if __name__ == "__main__":
    main()
