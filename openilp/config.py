"""Settings from ``OPENILP_*`` environment variables, optionally from a TOML file.

Precedence: environment variable > TOML file named by ``OPENILP_CONFIG`` > default.
Every setting is documented in ``docs/configuration.md``; a test checks that the two agree.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

import platformdirs

__all__ = ["ENGINES", "Settings", "get_settings", "SETTING_DOCS"]

#: Engines the heavy analyses can run on (``docs/scale.md``).
ENGINES = ("local", "spark")

#: One line of documentation per setting; ``docs/configuration.md`` must list each of them.
SETTING_DOCS: dict[str, str] = {
    "data_dir": "Folder for the embedded SQLite database and other local state.",
    "database_url": "SQLAlchemy URL of the store; empty means SQLite in the data folder. "
    "PostgreSQL: postgresql+pg8000://user@host:5432/dbname.",
    "database_pool_size": "PostgreSQL connections each process keeps open (as many again may open under a burst); "
    "the web server opens them at start.",
    "secret_key": "Key that signs session cookies and printable links; empty means a random key generated "
    "on first run into <data_dir>/secret_key.",
    "session_max_age_s": "Seconds of inactivity after which a signed-in session expires.",
    "session_absolute_max_s": "Seconds after sign-in after which a session expires however active it is.",
    "audit_key": "Key of the audit log's hash chain (HMAC-SHA-256); empty means a random key generated on "
    "first run into <data_dir>/audit_key. Keep it off the database server: with it, a forged entry "
    "could be hashed correctly.",
    "audit_anchor_file": "File the signed anchors of the audit chain's head are appended to; empty means "
    "<data_dir>/audit_anchors.jsonl. Point it at write-once storage or a mounted log host.",
    "audit_anchor_syslog": "Optional syslog address for anchors too: a Unix socket such as /dev/log, "
    "or host:port (UDP).",
    "audit_anchor_interval_s": "Seconds between anchors written by the web app while the audit log grows; 0 turns "
    "the schedule off (then run 'openilp audit anchor' from cron).",
    "default_agency": "Agency code analyses use when a command names none and the store holds several agencies.",
    "totp_key": "Key that encrypts TOTP secrets in the database; empty means derived from secret_key "
    "(then changing secret_key forces everyone to enrol their authenticator again).",
    "tile_url": (
        "Optional map tile URL template ({z}/{x}/{y}) for the web maps and the product maps; "
        "empty means boundaries only (offline)."
    ),
    "tile_attribution": "Attribution shown with the tile layer when tile_url is set.",
    "max_map_points": "Largest number of incidents one map request returns.",
    "public_rate_per_s": "Anonymous writes (tip submissions and follow-ups, sign-in attempts) allowed per second, "
    "all visitors together; more are answered 429.",
    "public_burst": "How many anonymous writes may arrive at once before the rate limit applies.",
    "max_body_bytes": "Largest request body accepted, in bytes (uploads excepted); larger ones are answered 413 "
    "before they are read.",
    "max_upload_bytes": "Largest multipart/form-data request (the tip form with its photos), in bytes.",
    "page_wait_ms": "Milliseconds a page waits for a long analysis before it shows a progress bar instead "
    "(the analysis goes on in the background and the page reloads when it is done).",
    "engine": "Where the heavy analyses run: 'local' (numpy in this process, the default) or 'spark' "
    "(grid and polygon counts for Gi*, Knox pair counts, backtests and entity resolution on Apache Spark).",
    "spark_master": "Spark master URL when engine is 'spark': local[N], spark://host:7077 or k8s://https://host:443.",
    "spark_executor_memory": "JVM heap of each Spark executor (e.g. 4g); empty means Spark's default.",
    "spark_driver_memory": "JVM heap of the Spark driver in this process (e.g. 4g); empty means Spark's default.",
    "spark_shuffle_partitions": "Spark shuffle partitions (spark.sql.shuffle.partitions); 0 means two per local "
    "core, or 16 on a cluster.",
    "deconfliction_rules": "Reach of each deconfliction event type, written type=metres:hours separated by commas "
    "(e.g. surveillance=500:4,undercover_buy=400:3); every type not named keeps 304.8 m (1,000 ft) and 2 h.",
    "deconfliction_purge_after_h": "Hours after a deconfliction event ends after which its location (centre, "
    "polygon, address) is purged.",
    "federation_name": "Name this instance gives itself in federated answers and notices (e.g. the agency or "
    "fusion centre); empty means 'OpenILP'.",
    "federation_key_file": "File of this instance's Ed25519 private key for signed calls to partner instances; "
    "empty means <data_dir>/federation_ed25519.pem ('openilp federation keygen' writes it, mode 0600).",
    "federation_clock_skew_s": "Seconds a signed request's date may differ from this instance's clock; a request "
    "outside the window is refused, and its nonce is remembered that long to refuse a replay.",
    "federation_timeout_ms": "Milliseconds a federated search or check waits for each partner before answering "
    "without it (the answer names who did not answer).",
    "federation_delivery_interval_s": "Seconds between the web app's sends of pending correction and purge notices "
    "to partner instances (retried with backoff); 0 turns the schedule off (then run 'openilp federation deliver').",
    "products_folder": "Folder the web app's Send (folder channel) writes products to; {agency} in it is replaced "
    "by the agency code (e.g. /srv/products/{agency}); a missing folder is created with its parents (mode 0o750) "
    "at the first sending, and a failure to create it names this setting; empty means the web app sends "
    "by e-mail only. A request never names a folder.",
    "host": "Address the web server listens on.",
    "port": "Port the web server listens on.",
}


def _default_data_dir() -> str:
    return platformdirs.user_data_dir("openilp", appauthor=False)


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Build with :func:`get_settings`; tests build them directly."""

    data_dir: str = field(default_factory=_default_data_dir)
    database_url: str = ""
    database_pool_size: int = 10
    secret_key: str = ""
    session_max_age_s: int = 1800
    session_absolute_max_s: int = 43200
    totp_key: str = ""
    audit_key: str = ""
    audit_anchor_file: str = ""
    audit_anchor_syslog: str = ""
    audit_anchor_interval_s: int = 900
    default_agency: str = ""
    tile_url: str = ""
    tile_attribution: str = ""
    max_map_points: int = 20000
    public_rate_per_s: int = 100
    public_burst: int = 200
    max_body_bytes: int = 4 * 1024 * 1024
    max_upload_bytes: int = 16 * 1024 * 1024
    page_wait_ms: int = 1500
    engine: str = "local"
    spark_master: str = "local[2]"
    spark_executor_memory: str = ""
    spark_driver_memory: str = ""
    spark_shuffle_partitions: int = 0
    deconfliction_rules: str = ""
    deconfliction_purge_after_h: int = 72
    federation_name: str = ""
    federation_key_file: str = ""
    federation_clock_skew_s: int = 300
    federation_timeout_ms: int = 3000
    federation_delivery_interval_s: int = 30
    host: str = "127.0.0.1"
    port: int = 8000
    products_template_dir: str = ""
    products_contact: str = ""
    products_folder: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = ""

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<data_dir>/openilp.sqlite3``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir) / 'openilp.sqlite3'}"


def get_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) and the optional TOML file."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    config_file = env.get("OPENILP_CONFIG")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise FileNotFoundError(f"OPENILP_CONFIG names {path}, which does not exist")
        with path.open("rb") as handle:
            values.update(tomllib.load(handle))
    for setting in fields(Settings):
        key = f"OPENILP_{setting.name.upper()}"
        if key in env:
            values[setting.name] = env[key]
    unknown = set(values) - {f.name for f in fields(Settings)}
    if unknown:
        raise ValueError(f"unknown setting(s) in {config_file}: {', '.join(sorted(unknown))}")
    for setting in fields(Settings):
        if setting.name in values and setting.type in ("int", int):
            try:
                values[setting.name] = int(str(values[setting.name]))
            except ValueError as exc:
                raise ValueError(
                    f"setting {setting.name} must be a whole number, got {values[setting.name]!r}"
                ) from exc
    if int(values.get("database_pool_size", 1)) < 1:  # type: ignore[call-overload]
        raise ValueError(f"setting database_pool_size must be at least 1, got {values['database_pool_size']!r}")
    if values.get("engine", "local") not in ENGINES:
        raise ValueError(f"setting engine must be one of {', '.join(ENGINES)}, got {values['engine']!r}")
    return Settings(**values)  # type: ignore[arg-type]
