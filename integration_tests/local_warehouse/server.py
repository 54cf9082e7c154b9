"""Start the local warehouse: moto S3, Sail reading it, and the Thrift-over-HTTP front door."""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass

HTTP_PATH = "sql/1.0/warehouses/local"
BUCKET = "airbyte-staging"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AZURITE = os.path.join(ROOT, "node_modules", ".bin", "azurite-blob")
AZURE_ACCOUNT = "devstoreaccount1"  # Azurite's well-known development account and key
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURE_CONTAINER = "airbyte-staging"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Details:
    """What a connector config needs to reach this warehouse and its S3 store."""

    hostname: str
    port: int
    http_path: str
    token: str
    s3_endpoint: str
    s3_bucket: str
    s3_access_key_id: str
    s3_secret_access_key: str
    s3_region: str
    azure_endpoint: str = ""  # "" when Azurite is not installed (npm install)
    azure_account: str = ""
    azure_container: str = ""
    azure_sas_token: str = ""
    client_id: str = ""  # a service principal the warehouse knows (OAuth M2M)
    client_secret: str = ""
    volume_root: str = ""  # the local folder that holds the Unity Catalog volumes
    managed_root: str = ""  # the local folder that holds managed tables
    zerobus_endpoint: str = ""  # its Zerobus Ingest server (plaintext gRPC: http://127.0.0.1:port)

    def as_dict(self) -> dict:
        return asdict(self)


class LocalWarehouse:
    def __init__(self, port: int = 0, token: str | None = None, token_seconds: int = 3600, statement_seconds: float = 0.0):
        """``token_seconds``: the lifetime of OAuth access tokens it issues (tests make them short);
        ``statement_seconds``: the wait before each statement and Files API call (benchmarks: 1, as a real warehouse)."""
        self.statement_seconds = statement_seconds
        from .workspace import Auth

        self.port = port
        self.auth = Auth(token=token or "dapi" + secrets.token_hex(16), client_id=str(uuid.uuid4()),
                         client_secret="dose" + secrets.token_hex(16), token_seconds=token_seconds)
        self._stoppers = []
        self._azure = None  # Azurite's BlobServiceClient, when Azurite is installed

    def start(self) -> Details:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 request otherwise

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        self._stoppers.append(moto.stop)
        _, s3_port = moto.get_host_and_port()
        endpoint = f"http://127.0.0.1:{s3_port}"
        key_id, secret = "local-key-id", "local-secret-key"
        # Sail reads S3 through these; they must be set before the engine starts.
        os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret,
                          AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
        os.environ["SAIL_CATALOG__LIST"] = (
            '[{name="hive_metastore", type="memory", initial_database=["default"]},'
            ' {name="main", type="memory", initial_database=["default"]}]')
        os.environ["SAIL_CATALOG__DEFAULT_CATALOG"] = "hive_metastore"
        import boto3

        self._s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                                region_name="us-east-1")
        self._s3.create_bucket(Bucket=BUCKET)

        azure = self._start_azurite()

        from pysail.spark import SparkConnectServer
        from pyspark.sql import SparkSession

        sail = SparkConnectServer(ip="127.0.0.1", port=0)
        sail.start(background=True)
        self._stoppers.append(sail.stop)
        host, sail_port = sail.listening_address
        self._spark = SparkSession.builder.remote(f"sc://{host}:{sail_port}").getOrCreate()
        # Managed tables (CREATE TABLE without LOCATION) live in the warehouse's own storage: a local folder.
        root = tempfile.mkdtemp(prefix="local-warehouse-")
        self._stoppers.append(lambda: shutil.rmtree(root, ignore_errors=True))
        self._managed_root, self._volume_root = os.path.join(root, "managed"), os.path.join(root, "volumes")
        os.makedirs(self._volume_root)
        self._spark.conf.set("spark.sql.warehouse.dir", self._managed_root)

        from .thrift_service import ThriftHttpServer

        self.http = ThriftHttpServer(("127.0.0.1", self.port), *self._furnished())
        self.http.reset = self.reset
        self.auth.issuer = f"{self.http.base_url}/oidc"
        import threading

        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self._stoppers.append(self.http.shutdown)
        from .zerobus import Appender, ZerobusServer

        self.zerobus = ZerobusServer(Appender(self._spark, self.service.lock),
                                     lambda header: self.auth.check(header, "zerobus") is None, self._table_exists)
        self._stoppers.append(self.zerobus.stop)
        self.http.zerobus = self.zerobus
        return Details(hostname="http://127.0.0.1", port=self.http.server_address[1], http_path=HTTP_PATH,
                       token=self.auth.token, s3_endpoint=endpoint, s3_bucket=BUCKET, s3_access_key_id=key_id,
                       s3_secret_access_key=secret, s3_region="us-east-1", client_id=self.auth.client_id,
                       client_secret=self.auth.client_secret, volume_root=self._volume_root,
                       managed_root=self._managed_root, zerobus_endpoint=self.zerobus.endpoint, **azure)

    def _furnished(self, lock=None) -> tuple:
        """A statement service with its volumes and Vector Search, and the sign-in rules: (service, auth, volumes)."""
        from .thrift_service import WarehouseService
        from .vector_search import VectorSearch
        from .workspace import Volumes

        self.service = WarehouseService(self._spark, statement_seconds=self.statement_seconds, lock=lock)
        volumes = Volumes(self._volume_root, self.service.run_sql)
        self.service.volumes = volumes
        self.service.vector_search = VectorSearch(self.service.run_sql, lambda: self.http.base_url)
        return self.service, self.auth, volumes

    def _table_exists(self, name: str) -> bool:
        try:
            self.service.run_sql(f"SELECT * FROM {'.'.join(f'`{part}`' for part in name.split('.'))} LIMIT 0")
            return True
        except Exception:
            return False

    def reset(self) -> None:
        """Empty the warehouse as if it had just started, its connection details unchanged: every table and schema
        dropped, volumes, managed tables, S3 objects and blobs gone, and every count, hook and token forgotten.
        A statement still on its way to the service being replaced is refused."""
        old = self.service
        with old.lock:
            old.retired = True
            for catalog in ("hive_metastore", "main"):
                for schema in self._spark.sql(f"SHOW SCHEMAS IN {catalog}").toArrow().column("name").to_pylist():
                    tables = self._spark.sql(f"SHOW TABLES IN {catalog}.`{schema}`").toArrow()
                    for table in tables.column("tableName").to_pylist():
                        self._spark.sql(f"DROP TABLE IF EXISTS {catalog}.`{schema}`.`{table}`").collect()
                    if schema != "default":
                        self._spark.sql(f"DROP SCHEMA IF EXISTS {catalog}.`{schema}` CASCADE").collect()
            for folder in (self._managed_root, self._volume_root):
                shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(self._volume_root)
        import requests

        requests.post(self._s3.meta.endpoint_url + "/moto-api/reset", timeout=30).raise_for_status()
        self._s3.create_bucket(Bucket=BUCKET)
        if self._azure is not None:  # the containers tests made go; the warehouse's own is emptied
            for container in list(self._azure.list_containers()):
                if container.name != AZURE_CONTAINER:
                    self._azure.delete_container(container.name)
            own = self._azure.get_container_client(AZURE_CONTAINER)
            for blob in list(own.list_blobs()):
                own.delete_blob(blob.name)
        auth = self.auth
        self.auth = type(auth)(token=auth.token, client_id=auth.client_id, client_secret=auth.client_secret,
                               token_seconds=auth.token_seconds, issuer=auth.issuer)
        self.http.serve(*self._furnished(lock=old.lock))
        self.zerobus.set_faults({})
        self.zerobus.counts = type(self.zerobus.counts)()

    def _start_azurite(self) -> dict:
        """Azurite on a free port, a container, and a container SAS token; the engine reads it as an emulator."""
        import datetime as dt
        import subprocess
        import time

        if not os.path.exists(AZURITE):
            return {}
        port = _free_port()
        proc = subprocess.Popen([AZURITE, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                                 "--skipApiVersionCheck", "--loose", "--disableTelemetry"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._stoppers.append(lambda: (proc.terminate(), proc.wait(10)))
        endpoint = f"http://127.0.0.1:{port}"
        os.environ["AZURE_STORAGE_USE_EMULATOR"] = "true"
        os.environ["AZURITE_BLOB_STORAGE_URL"] = endpoint
        import socket

        from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

        for _ in range(200):  # wait until Azurite listens (node starts in about a second)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        service = BlobServiceClient(f"{endpoint}/{AZURE_ACCOUNT}", credential={"account_name": AZURE_ACCOUNT, "account_key": AZURE_KEY})
        service.create_container(AZURE_CONTAINER)
        self._azure = service
        sas = generate_container_sas(AZURE_ACCOUNT, AZURE_CONTAINER, account_key=AZURE_KEY,
                                     permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True,
                                                                        add=True, create=True),
                                     expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12))
        return {"azure_endpoint": endpoint, "azure_account": AZURE_ACCOUNT, "azure_container": AZURE_CONTAINER,
                "azure_sas_token": sas}

    def stop(self) -> None:
        for stop in reversed(self._stoppers):
            try:
                stop()
            except Exception:
                pass
