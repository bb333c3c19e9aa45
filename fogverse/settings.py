"""Every setting Siaga reads from the environment, in one place.

Names and defaults follow the thesis seeds (``ANALYZER_CONSUMER_TOPIC``, ``DEPLOY_DELAY`` ...).
Each process builds the one settings object it needs with ``XxxSettings.from_env()``; a bad
value raises :class:`ConfigError` naming the variable, so the process stops at start.

Where a seed gave every app its own bootstrap variable (``ANALYZER_CONSUMER_SERVERS``,
``CRAWLER_ANALYZER_SERVERS`` ...), that variable still wins, and ``KAFKA_BOOTSTRAP_SERVERS``
is the shared fallback, so one variable points the whole system at a broker.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, TypeVar

T = TypeVar("T")

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_TEMPORAL = "127.0.0.1:7233"


class ConfigError(ValueError):
    """An environment variable holds a value Siaga cannot use."""


class _Env:
    """Typed reads of one environment mapping; every error names the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ

    def _note(self, name: str, default, rule: str = "", also: tuple[str, ...] = ()) -> None:
        if isinstance(self.environ, VariableCatalog):
            self.environ.note(name, default, rule, also)

    def raw(self, name: str) -> str | None:
        if isinstance(self.environ, VariableCatalog) and name not in self.environ.variables:
            self._note(name, None)  # read directly, by a settings class's own parser
        value = self.environ.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def str(self, name: str, default: str | None, *fallbacks: str) -> str | None:
        self._note(name, default, also=fallbacks)
        for candidate in (name, *fallbacks):
            value = self.raw(candidate)
            if value is not None:
                return value
        return default

    def secret(self, name: str) -> str | None:
        """A secret, as given (a password may begin or end with a space); unset or empty ▸ None."""
        self._note(name, None, "a secret")
        value = self.environ.get(name)
        return value if value else None

    def file(self, name: str) -> Path | None:
        """A path to a file this process must be able to read; unset ▸ None."""
        self._note(name, None, "a readable file")
        value = self.raw(name)
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_file():
            raise ConfigError(f"{name}={value} does not exist or is not a file")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"{name}={value} is not readable by this process")
        return path.resolve()

    def required(self, name: str, why: str) -> str:
        self._note(name, REQUIRED, why)
        value = self.raw(name)
        if value is None and isinstance(self.environ, VariableCatalog):
            return ""  # listing the variables, not running: go on to the next
        if value is None:
            raise ConfigError(f"{name} is not set: {why}")
        return value

    def _convert(self, name: str, default: T, convert: Callable[[str], T], kind: str) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return convert(value)
        except ValueError:
            raise ConfigError(f"{name} must be {kind}, got {value!r}") from None

    def int(self, name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        self._note(name, default, _range("an integer", minimum, maximum))
        value = self._convert(name, default, int, "an integer")
        self._check_range(name, value, minimum, maximum)
        return value

    def float(self, name: str, default: float, minimum: float | None = None, maximum: float | None = None) -> float:
        self._note(name, default, _range("a number", minimum, maximum))
        value = self._convert(name, default, float, "a number")
        self._check_range(name, value, minimum, maximum)
        return value

    def bool(self, name: str, default: bool) -> bool:
        self._note(name, default, "true or false")
        def convert(text: str) -> bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)

        return self._convert(name, default, convert, "true or false")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        self._note(name, default, "one of " + ", ".join(choices))
        value = self.raw(name) or default
        normalized = value.lower() if all(c == c.lower() for c in choices) else value.upper()
        if normalized not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return normalized

    def pattern(self, name: str, default: str, regex: str, kind: str) -> str:
        self._note(name, default, kind)
        value = self.raw(name) or default
        if not re.fullmatch(regex, value):
            raise ConfigError(f"{name} must be {kind}, got {value!r}")
        return value

    def list(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """A comma-separated list; also accepts the seeds' JSON-ish ``["a","b"]`` form."""
        self._note(name, ",".join(default), "a comma-separated list")
        value = self.raw(name)
        if value is None:
            return default
        value = value.strip().removeprefix("[").removesuffix("]")
        items = (item.strip().strip("'\"") for item in value.split(","))
        return tuple(item for item in items if item)

    @staticmethod
    def _check_range(name: str, value, minimum, maximum) -> None:
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name} must be at most {maximum}, got {value}")


REQUIRED = object()  # the default of a variable that must be set


def _range(kind: str, minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{kind} ≥ {minimum:g}"
    return f"{kind} ≤ {maximum:g}" if maximum is not None else kind


@dataclass
class Variable:
    """One environment variable a settings class reads, as ``--help`` lists it."""

    name: str
    defaults: list = field(default_factory=list)  # distinct defaults, in the order the reads gave them
    rule: str = ""
    also: tuple[str, ...] = ()  # read after it when it is unset (a seed's older name)

    def line(self, width: int) -> str:
        shown = []
        for default in self.defaults:
            shown.append("required" if default is REQUIRED else "unset" if default in (None, "") else
                         str(default).lower() if isinstance(default, bool) else
                         f"{default:g}" if isinstance(default, float) else str(default))
        text = f"  {self.name.ljust(width)}  {' or '.join(shown) or 'unset'}"
        notes = [n for n in (self.rule, f"else {', '.join(self.also)}" if self.also else "") if n]
        return text + (f"  ({'; '.join(notes)})" if notes else "")


class VariableCatalog(dict):
    """An empty environment that notes each variable a settings class reads, with its default
    and rule: ``--help`` lists what a command reads from the settings classes themselves."""

    def __init__(self):
        super().__init__()
        self.variables: dict[str, Variable] = {}

    def note(self, name: str, default, rule: str, also: tuple[str, ...]) -> None:
        variable = self.variables.setdefault(name, Variable(name, rule=rule, also=also))
        if not any(default is d or (default == d and type(default) is type(d)) for d in variable.defaults):
            variable.defaults.append(default)
        for older in also:  # a fallback is read too: it gets its own line
            self.note(older, default, f"read when {name} is unset", ())


def variables_read(*readers: Callable[[Mapping[str, str]], object]) -> list[Variable]:
    """The variables that ``readers`` (``XxxSettings.from_env`` and the like, given an
    environment) read, in the order they read them; nothing is validated or started."""
    catalog = VariableCatalog()
    for read in readers:
        try:
            read(catalog)
        except ConfigError:
            pass  # a cross-field check on the defaults; every variable before it is noted
    return list(catalog.variables.values())


def environment_help(*readers: Callable[[Mapping[str, str]], object]) -> str:
    """The "environment" section of a command's ``--help``: each variable with its default."""
    variables = variables_read(*readers)
    width = max((len(v.name) for v in variables), default=0)
    return "\n".join(["environment variables (default; rule):", *(v.line(width) for v in variables)])


def _default_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _cpu_count() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RuntimeSettings:
    """What every FogVerse-style app shares: broker, observer topic, batching, threads."""

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    observer_topic: str = "observer"
    metrics_interval_s: float = 1.0
    batch_size: int = 256
    worker_threads: int = field(default_factory=_cpu_count)  # WORKER_THREADS' one default
    max_inflight_batches: int = 4
    dlq_suffix: str = ".dlq"
    instance_id: str = field(default_factory=_default_instance_id)
    service_name: str = ""
    max_instance: int = 3
    cloud_provider: str = "LOCAL"
    #: how old a client's view of the topics may get: after partition growth the group's leader
    #: rebalances and producers spread over the new partitions within this (Kafka's default: 300 s)
    metadata_max_age_s: float = 5.0
    #: how long the broker may hold a fetch on a quiet partition before answering empty (aiokafka's
    #: default, 500 ms, is what a message on a quiet topic may wait at every hop on a broker that
    #: does not answer a waiting fetch as soon as data arrives; under load fetches fill regardless)
    fetch_max_wait_ms: int = 20
    #: the variable ``bootstrap_servers`` came from, for errors that name it
    bootstrap_variable: str = "KAFKA_BOOTSTRAP_SERVERS"
    #: the address an app's Prometheus exporter listens on (its port is the app's own setting)
    metrics_host: str = "127.0.0.1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, bootstrap_var: str | None = None,
                 service_name: str = "") -> "RuntimeSettings":
        env = _Env(environ)
        return cls(
            bootstrap_servers=_bootstrap(env, bootstrap_var),
            observer_topic=env.str("OBSERVER_TOPIC", "observer"),
            metrics_interval_s=env.float("METRICS_INTERVAL", 1.0, minimum=0.05),
            batch_size=env.int("BATCH_SIZE", 256, minimum=1, maximum=10_000),
            worker_threads=env.int("WORKER_THREADS", _cpu_count(), minimum=1, maximum=64),
            max_inflight_batches=env.int("MAX_INFLIGHT_BATCHES", 4, minimum=1, maximum=64),
            dlq_suffix=env.str("DLQ_SUFFIX", ".dlq"),
            instance_id=env.str("INSTANCE_ID", None) or _default_instance_id(),
            service_name=env.str("SERVICE_NAME", service_name) or service_name,
            max_instance=env.int("MAX_INSTANCE", 3, minimum=1),
            cloud_provider=env.choice("CLOUD_PROVIDER", "LOCAL", ("LOCAL", "GOOGLE_CLOUD", "AWS")),
            metadata_max_age_s=env.float("METADATA_MAX_AGE", 5.0, minimum=0.5),
            # below the consumer's request timeout (40 s), or a waiting fetch would time out
            fetch_max_wait_ms=env.int("FETCH_MAX_WAIT_MS", 20, minimum=0, maximum=30_000),
            bootstrap_variable=bootstrap_variable(env, bootstrap_var),
            metrics_host=env.str("METRICS_HOST", "127.0.0.1"),
        )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class LogSettings:
    """How every process logs (``fogverse.logs.configure_logging``)."""

    level: str = "INFO"
    format: str = "text"  # text ▸ one readable line per record; json ▸ one JSON object per line

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "LogSettings":
        env = _Env(environ)
        return cls(level=env.choice("LOG_LEVEL", "INFO", LOG_LEVELS),
                   format=env.choice("LOG_FORMAT", "text", LOG_FORMATS))


def _bootstrap(env: _Env, specific: str | None = None) -> str:
    """The seed's own bootstrap variable if set, else the shared ``KAFKA_BOOTSTRAP_SERVERS``."""
    return (specific and env.str(specific, None)) or env.str("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)


def bootstrap_variable(env: _Env, specific: str | None = None) -> str:
    """Which variable :func:`_bootstrap` took the address from (unset: the default's, KAFKA_BOOTSTRAP_SERVERS)."""
    return specific if specific and env.raw(specific) is not None else "KAFKA_BOOTSTRAP_SERVERS"


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSecurity:
    """How every Kafka client encrypts and authenticates (PLAINTEXT on loopback by default).

    ``SSL`` / ``SASL_SSL`` verify the broker against ``ssl_cafile`` (unset: the system's CAs) and
    may present a client certificate; ``SASL_*`` log in with a user name and password.
    """

    #: the variables, in the order the README lists them; SECRETS never leave this machine
    VARIABLES = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD",
                 "KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE")
    SECRETS = ("KAFKA_SASL_PASSWORD",)

    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)  # secret: never logged, never in repr
    ssl_cafile: Path | None = None  # None ▸ the system's trusted CAs
    ssl_certfile: Path | None = None  # a client certificate (mutual TLS); may hold the key too
    ssl_keyfile: Path | None = None  # its unencrypted private key, when not in ssl_certfile

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "KafkaSecurity":
        env = _Env(environ)
        security = cls(
            security_protocol=env.choice("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", SECURITY_PROTOCOLS),
            sasl_mechanism=env.choice("KAFKA_SASL_MECHANISM", "PLAIN", SASL_MECHANISMS),
            sasl_username=env.str("KAFKA_SASL_USERNAME", None),
            sasl_password=env.secret("KAFKA_SASL_PASSWORD"),
            ssl_cafile=env.file("KAFKA_SSL_CAFILE"),
            ssl_certfile=env.file("KAFKA_SSL_CERTFILE"),
            ssl_keyfile=env.file("KAFKA_SSL_KEYFILE"),
        )
        security.validate()
        return security

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def validate(self) -> None:
        """Settings that only make sense together; each error names the variable to fix."""
        protocol = f"KAFKA_SECURITY_PROTOCOL={self.security_protocol}"
        if self.uses_sasl:
            if not self.sasl_username:
                raise ConfigError(f"KAFKA_SASL_USERNAME is not set: {protocol} logs in with a user name and password")
            if not self.sasl_password:
                raise ConfigError(f"KAFKA_SASL_PASSWORD is not set: {protocol} logs in with a user name and password")
        else:
            for name, value in (("KAFKA_SASL_USERNAME", self.sasl_username), ("KAFKA_SASL_PASSWORD", self.sasl_password)):
                if value:
                    raise ConfigError(f"{name} is set but {protocol} does not log in: "
                                      "set KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT), or unset it")
        if not self.uses_tls:
            for name, value in (("KAFKA_SSL_CAFILE", self.ssl_cafile), ("KAFKA_SSL_CERTFILE", self.ssl_certfile),
                                ("KAFKA_SSL_KEYFILE", self.ssl_keyfile)):
                if value:
                    raise ConfigError(f"{name} is set but {protocol} does not use TLS: "
                                      "set KAFKA_SECURITY_PROTOCOL=SSL (or SASL_SSL), or unset it")
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ConfigError("KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE, the certificate it belongs to")

    def ssl_context(self):
        """The TLS context for ``SSL`` / ``SASL_SSL`` (aiokafka's ``create_ssl_context``), None otherwise."""
        if not self.uses_tls:
            return None
        import ssl

        from aiokafka.helpers import create_ssl_context

        try:
            context = create_ssl_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"KAFKA_SSL_CAFILE={self.ssl_cafile} holds no CA certificate in PEM form "
                              f"({exc.__class__.__name__}: {exc})") from None
        if self.ssl_certfile:
            try:
                # a callable password: an encrypted key fails here instead of prompting on a terminal
                context.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile) if self.ssl_keyfile else None,
                                        password=lambda: b"")
            except (ssl.SSLError, OSError) as exc:
                raise ConfigError(f"KAFKA_SSL_CERTFILE={self.ssl_certfile} / KAFKA_SSL_KEYFILE={self.ssl_keyfile} "
                                  "are not a PEM certificate and its unencrypted private key "
                                  f"({exc.__class__.__name__}: {exc})") from None
        return context

    def aiokafka_options(self) -> dict:
        """Keyword arguments for aiokafka's clients and ``aiokafka.conn.create_conn``."""
        options: dict = {"security_protocol": self.security_protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                           sasl_plain_password=self.sasl_password)
        return options


@dataclass(frozen=True)
class StackSettings:
    """The embedded stack started by ``python -m workers up``."""

    state_dir: Path
    kafka_bootstrap: str | None  # set ▸ use that broker, start none
    temporal_address: str | None  # set ▸ use that server, start none
    kafka_port: int
    temporal_port: int
    temporal_ui_port: int
    temporal_namespace: str
    broker: str = "auto"  # auto ▸ Apache Kafka when Java 17+ and its jars are there, else tansu
    kafka_controller_port: int = 9093
    kafka_heap: str = "512m"
    kafka_home: Path = Path(".state/kafka-home")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "StackSettings":
        env = _Env(environ)
        return cls(
            state_dir=Path(env.str("SIAGA_STATE_DIR", ".state")).resolve(),
            kafka_bootstrap=env.str("KAFKA_BOOTSTRAP_SERVERS", None),
            temporal_address=env.str("TEMPORAL_ADDRESS", None),
            kafka_port=env.int("KAFKA_PORT", 9092, minimum=1, maximum=65535),
            temporal_port=env.int("TEMPORAL_PORT", 7233, minimum=1, maximum=65535),
            temporal_ui_port=env.int("TEMPORAL_UI_PORT", 8233, minimum=1, maximum=65535),
            temporal_namespace=env.str("TEMPORAL_NAMESPACE", "default"),
            broker=env.choice("SIAGA_BROKER", "auto", ("auto", "kafka", "tansu")),
            kafka_controller_port=env.int("KAFKA_CONTROLLER_PORT", 9093, minimum=1, maximum=65535),
            kafka_heap=env.pattern("KAFKA_HEAP", "512m", r"[1-9][0-9]*[kKmMgG]", "a JVM heap size such as 512m or 1g"),
            # inside the active environment, so `make clean` removes the jars with it
            kafka_home=Path(env.str("SIAGA_KAFKA_HOME", None) or Path(sys.prefix) / "share" / "siaga-kafka").resolve(),
        )


@dataclass(frozen=True)
class CrawlerSettings:
    """The replay crawler (``python -m apps.crawler``); its command-line flags override these."""

    bootstrap_servers: str
    producer_topic: str
    consumer_group_id: str
    rate: float  # messages per second outside a burst
    use_spam: bool  # the thesis's burst switch: True ▸ the burst profile
    spam_rate: float  # burst rate as a multiple of ``rate``
    spam_duration_s: float
    file: Path | None  # None ▸ the shipped examples
    text_column: str
    profile: str  # constant | ramp | burst
    ramp_from: float  # ramp profile: starting rate, climbing linearly to ``rate``
    ramp_duration_s: float
    spam_start_s: float  # burst profile: seconds of normal rate before the spike
    spam_period_s: float  # burst profile: 0 ▸ one spike; else a spike every this many seconds
    metrics_port: int = 0  # Prometheus /metrics; 0 ▸ off

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "CrawlerSettings":
        env = _Env(environ)
        use_spam = env.bool("USE_SPAM", False)
        file = env.str("CRAWLER_FILE", None)
        return cls(
            bootstrap_servers=_bootstrap(env, "CRAWLER_ANALYZER_SERVERS"),
            producer_topic=env.str("CRAWLER_PRODUCER_TOPIC", "analyze"),
            consumer_group_id=env.str("CRAWLER_CONSUMER_GROUP_ID", "crawler"),
            rate=env.float("CRAWLER_RATE", 20.0, minimum=0.0),
            use_spam=use_spam,
            spam_rate=env.float("SPAM_RATE", 10.0, minimum=1.0),
            spam_duration_s=env.float("SPAM_DURATION", 10.0, minimum=0.0),
            file=Path(file) if file else None,
            text_column=env.str("CRAWLER_TEXT_COLUMN", "text"),
            profile=env.choice("CRAWLER_PROFILE", "burst" if use_spam else "constant", ("constant", "ramp", "burst")),
            ramp_from=env.float("CRAWLER_RAMP_FROM", 0.0, minimum=0.0),
            ramp_duration_s=env.float("CRAWLER_RAMP_DURATION", 60.0, minimum=0.0),
            spam_start_s=env.float("SPAM_START", 10.0, minimum=0.0),
            spam_period_s=env.float("SPAM_PERIOD", 0.0, minimum=0.0),
            metrics_port=env.int("CRAWLER_METRICS_PORT", 0, minimum=0, maximum=65535),
        )


@dataclass(frozen=True)
class AnalyzerSettings:
    bootstrap_servers: str
    consumer_topic: str
    producer_topic: str
    consumer_group_id: str
    analyzer_mode: str  # serial | parallel: how the runtime runs `process`
    model_mode: str  # accurate | fast | cascade
    slow_down_ms: float  # test/demo knob: extra time per message, to overload one instance
    metrics_port: int = 0  # Prometheus /metrics; 0 ▸ off

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "AnalyzerSettings":
        env = _Env(environ)
        return cls(
            bootstrap_servers=_bootstrap(env, "ANALYZER_CONSUMER_SERVERS"),
            consumer_topic=env.str("ANALYZER_CONSUMER_TOPIC", "analyze"),
            producer_topic=env.str("ANALYZER_PRODUCER_TOPIC", "client"),
            consumer_group_id=env.str("ANALYZER_CONSUMER_GROUP_ID", "analyzer"),
            analyzer_mode=env.choice("ANALYZER_MODE", "serial", ("serial", "parallel")),
            model_mode=env.choice("MODEL_MODE", "accurate", ("accurate", "fast", "cascade")),
            slow_down_ms=env.float("ANALYZER_SLOW_DOWN_MS", 0.0, minimum=0.0),
            metrics_port=env.int("ANALYZER_METRICS_PORT", 0, minimum=0, maximum=65535),
        )


@dataclass(frozen=True)
class NotifierSettings:
    """The notifier (``python -m apps.notifier``): incidents, push, and the receiver web app."""

    bootstrap_servers: str
    consumer_topic: str
    consumer_group_id: str
    firebase_key: str | None = field(repr=False)  # path to, or JSON of, a service-account key; secret
    device_tokens: tuple[str, ...]
    http_host: str
    http_port: int
    state_dir: Path  # device registrations persist in ``<state_dir>/notifier/devices.json``
    incident_window_s: float  # reports further apart than this never merge
    incident_similarity: float  # share of a report's keywords an incident must hold to absorb it
    incident_alert_counts: tuple[int, ...]  # an open incident alerts again when its count reaches these
    incident_max: int  # incidents kept in memory; the least recently seen go first
    incident_retention_s: float  # incidents not seen for this long are forgotten
    incident_samples: int  # sample messages kept per incident
    firebase_web_config: dict | None  # the receiver's Firebase web config (public, not a secret)
    fcm_endpoint: str | None  # replaces https://fcm.googleapis.com (a proxy, or a test stand-in)
    push_max_retries: int  # per token, for 429 and 5xx answers
    push_backoff_s: float  # first retry delay; doubles each retry
    push_backoff_max_s: float
    max_devices: int
    device_requests_per_minute: int  # POST/DELETE /api/devices per remote address; 0 ▸ no limit
    sse_keepalive_s: float
    sse_max_clients: int  # live-feed connections at once; more are answered 503
    sse_write_timeout_s: float  # a live-feed client that takes longer to accept a write is dropped

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "NotifierSettings":
        env = _Env(environ)
        return cls(
            bootstrap_servers=_bootstrap(env, "CLIENT_CONSUMER_SERVERS"),
            consumer_topic=env.str("CLIENT_CONSUMER_TOPIC", "client"),
            consumer_group_id=env.str("CLIENT_CONSUMER_GROUP_ID", "client"),
            firebase_key=env.str("FIREBASE_KEY", None),
            device_tokens=env.list("DEVICE_TOKENS"),
            http_host=env.str("NOTIFIER_HOST", "127.0.0.1"),
            http_port=env.int("NOTIFIER_PORT", 8000, minimum=0, maximum=65535),
            state_dir=Path(env.str("SIAGA_STATE_DIR", ".state")).resolve(),
            incident_window_s=env.float("INCIDENT_WINDOW", 600.0, minimum=1.0),
            incident_similarity=env.float("INCIDENT_SIMILARITY", 0.25, minimum=0.0, maximum=1.0),
            incident_alert_counts=cls._positive_ints(env, "INCIDENT_ALERT_COUNTS", (5, 20, 100, 500, 1000, 5000)),
            incident_max=env.int("INCIDENT_MAX", 1000, minimum=1),
            incident_retention_s=env.float("INCIDENT_RETENTION", 86400.0, minimum=1.0),
            incident_samples=env.int("INCIDENT_SAMPLES", 5, minimum=1, maximum=50),
            firebase_web_config=cls._json_object(env, "FIREBASE_WEB_CONFIG"),
            fcm_endpoint=env.str("FCM_ENDPOINT", None),
            push_max_retries=env.int("PUSH_MAX_RETRIES", 5, minimum=0, maximum=20),
            push_backoff_s=env.float("PUSH_BACKOFF", 1.0, minimum=0.0),
            push_backoff_max_s=env.float("PUSH_BACKOFF_MAX", 60.0, minimum=0.0),
            max_devices=env.int("DEVICE_MAX", 10_000, minimum=1),
            device_requests_per_minute=env.int("DEVICE_RATE_LIMIT", 10, minimum=0),
            sse_keepalive_s=env.float("SSE_KEEPALIVE", 15.0, minimum=0.1),
            sse_max_clients=env.int("SSE_MAX_CLIENTS", 500, minimum=1),
            sse_write_timeout_s=env.float("SSE_WRITE_TIMEOUT", 10.0, minimum=0.1),
        )

    @staticmethod
    def _positive_ints(env: _Env, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        items = env.list(name)
        if not items:
            return default
        try:
            values = tuple(sorted({int(item) for item in items}))
        except ValueError:
            raise ConfigError(f"{name} must be comma-separated whole numbers, got {env.raw(name)!r}") from None
        if values[0] < 2:
            raise ConfigError(f"{name} values must be at least 2, got {values[0]}")
        return values

    @staticmethod
    def _json_object(env: _Env, name: str) -> dict | None:
        import json

        value = env.raw(name)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ConfigError(f"{name} must be a JSON object")
        return parsed


@dataclass(frozen=True)
class DiscordSettings:
    token: str = field(repr=False)  # secret
    bootstrap_servers: str
    producer_topic: str
    consumer_group_id: str  # seed name; the incident reader reads without a group, so it only names the reader
    channels: tuple[str, ...] = ()  # channel ids the bot reads; empty ▸ every channel it can see
    publish_timeout_s: float = 10.0
    incidents_topic: str = "client"
    incidents_lookback: int = 5000  # messages per partition of the incidents topic read at start
    incidents_shown: int = 5
    read_dms: bool = False  # direct messages to the bot are reports too
    author_rate: int = 5  # reports per author per minute; more are dropped (0 ▸ no limit)
    metrics_port: int = 0  # Prometheus /metrics; 0 ▸ off

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "DiscordSettings":
        env = _Env(environ)
        return cls(
            token=env.required("TOKEN", "the Discord bot token from the Developer Portal"),
            bootstrap_servers=_bootstrap(env, "DISCORD_ANALYZER_SERVERS"),
            producer_topic=env.str("DISCORD_PRODUCER_TOPIC", "analyze"),
            consumer_group_id=env.str("DISCORD_CONSUMER_GROUP_ID", "crawler"),
            channels=_snowflakes(env, "DISCORD_CHANNELS"),
            publish_timeout_s=env.float("DISCORD_PUBLISH_TIMEOUT", 10.0, minimum=0.1),
            incidents_topic=env.str("DISCORD_INCIDENTS_TOPIC", "client", "CLIENT_CONSUMER_TOPIC"),
            incidents_lookback=env.int("DISCORD_INCIDENTS_LOOKBACK", 5000, minimum=0),
            incidents_shown=env.int("DISCORD_INCIDENTS_SHOWN", 5, minimum=1, maximum=20),
            read_dms=env.bool("DISCORD_READ_DMS", False),
            author_rate=env.int("DISCORD_AUTHOR_RATE", 5, minimum=0, maximum=600),
            metrics_port=env.int("DISCORD_METRICS_PORT", 0, minimum=0, maximum=65535),
        )


def _snowflakes(env: _Env, name: str) -> tuple[str, ...]:
    ids = env.list(name)
    for value in ids:
        if not value.isdigit():
            raise ConfigError(f"{name} must list Discord ids (numbers), got {value!r}")
    return ids


@dataclass(frozen=True)
class LineSettings:
    channel_secret: str = field(repr=False)  # secret
    channel_access_token: str = field(repr=False)  # secret
    bootstrap_servers: str
    producer_topic: str
    client_id: str | None
    port: int
    host: str = "0.0.0.0"
    publish_timeout_s: float = 2.0  # longest a webhook call waits for the broker's ack before answering 503
    api_host: str = "https://api.line.me"
    dedup_size: int = 10_000  # recent webhookEventIds remembered (per process) to publish redeliveries once
    metrics_port: int = 0  # Prometheus /metrics (never on PORT: LINE's webhook is public); 0 ▸ off

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "LineSettings":
        env = _Env(environ)
        return cls(
            channel_secret=env.required("CHANNEL_SECRET", "the LINE channel secret verifies webhook signatures"),
            channel_access_token=env.required("CHANNEL_ACCESS_TOKEN", "the LINE channel access token sends replies"),
            bootstrap_servers=_bootstrap(env, "BOOTSTRAP_SERVERS"),
            producer_topic=env.str("MOKE_PRODUCER_TOPIC", "analyze"),
            client_id=env.str("CLIENT_ID", None),
            port=env.int("PORT", 8080, minimum=0, maximum=65535),
            host=env.str("LINE_HOST", "0.0.0.0"),
            publish_timeout_s=env.float("LINE_PUBLISH_TIMEOUT", 2.0, minimum=0.05, maximum=30.0),
            api_host=env.str("LINE_API_HOST", "https://api.line.me").rstrip("/"),
            dedup_size=env.int("LINE_DEDUP_SIZE", 10_000, minimum=1),
            metrics_port=env.int("LINE_METRICS_PORT", 0, minimum=0, maximum=65535),
        )


@dataclass(frozen=True)
class ProviderSettings:
    """Where and how the controller deploys instances: LOCAL processes, Google Compute, AWS EC2."""

    state_dir: Path  # LOCAL: ``<state_dir>/instances`` holds each instance's pid file and log
    local_service_modules: dict[str, str]  # LOCAL: service ▸ python module (default ``apps.<service>``)
    instance_bootstrap_servers: str  # the broker address deployed instances are given
    instance_env: tuple[str, ...]  # controller variables copied into cloud instances' containers
    image_name: str  # container image; ``{service}`` is replaced by the service name
    cloud_zone: str
    project_name: str
    service_account: str | None
    gce_machine_type: str
    gce_source_image: str  # a Container-Optimized OS image, as ``create-with-container`` uses
    gce_api_endpoint: str | None  # set ▸ talk to this Compute endpoint with anonymous credentials
    aws_region: str
    aws_ami_id: str | None
    aws_instance_type: str
    aws_subnet_id: str | None
    aws_security_group_ids: tuple[str, ...]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ProviderSettings":
        env = _Env(environ)
        machine_type = env.str("MACHINE_TYPE", "e2-standard-2")
        if machine_type.upper() in ("CPU", "GPU"):  # the seeds' deploy class, not a Compute machine type
            machine_type = "e2-standard-2"
        return cls(
            state_dir=Path(env.str("SIAGA_STATE_DIR", ".state")).resolve(),
            local_service_modules=cls._mapping(env, "LOCAL_SERVICE_MODULES"),
            instance_bootstrap_servers=_bootstrap(env, "INSTANCE_KAFKA_BOOTSTRAP_SERVERS"),
            instance_env=cls._instance_env(env),
            image_name=env.str("IMAGE_NAME", "ghcr.io/siaga/siaga:latest"),
            cloud_zone=env.str("CLOUD_ZONE", "asia-southeast2-a"),
            project_name=env.str("PROJECT_NAME", "siaga"),
            service_account=env.str("SERVICE_ACCOUNT", None),
            gce_machine_type=machine_type,
            gce_source_image=env.str("GCE_SOURCE_IMAGE", "projects/cos-cloud/global/images/family/cos-stable"),
            gce_api_endpoint=env.str("GCE_API_ENDPOINT", None),
            aws_region=env.str("AWS_REGION", "ap-southeast-3", "AWS_DEFAULT_REGION"),
            aws_ami_id=env.str("AWS_AMI_ID", None),
            aws_instance_type=env.str("AWS_INSTANCE_TYPE", "t3.medium"),
            aws_subnet_id=env.str("AWS_SUBNET_ID", None),
            aws_security_group_ids=env.list("AWS_SECURITY_GROUP_IDS"),
        )

    @staticmethod
    def _instance_env(env: _Env) -> tuple[str, ...]:
        names = env.list("INSTANCE_ENV", ("OBSERVER_TOPIC", "METRICS_INTERVAL", "BATCH_SIZE", "MODEL_MODE",
                                          "ANALYZER_MODE", "WORKER_THREADS", "LOG_LEVEL", "LOG_FORMAT"))
        for secret in KafkaSecurity.SECRETS:
            if secret in names:
                raise ConfigError(f"INSTANCE_ENV must not list {secret}: cloud instances' metadata and user-data are "
                                  "readable by whoever may view the instance; give them the secret from the "
                                  "cloud's secret store (LOCAL instances get it without being listed)")
        return names

    @staticmethod
    def _mapping(env: _Env, name: str) -> dict[str, str]:
        """``a=x,b=y`` ▸ ``{"a": "x", "b": "y"}``."""
        mapping = {}
        for item in env.list(name):
            key, sep, value = item.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ConfigError(f"{name} must be service=module pairs separated by commas, got {item!r}")
            mapping[key.strip()] = value.strip()
        return mapping


def _controlled_services(names: tuple[str, ...]) -> tuple[str, ...]:
    from fogverse.contracts import check_service_name

    for name in names:
        if name != "*":
            try:
                check_service_name(name)
            except ValueError as exc:
                raise ConfigError(f"CONTROLLED_SERVICES: {exc}") from None
    if not names:
        raise ConfigError("CONTROLLED_SERVICES must name at least one service (or * for any)")
    return names


@dataclass(frozen=True)
class ControllerSettings:
    """The Temporal control plane (``python -m workers``): thesis master seeds."""

    bootstrap_servers: str
    temporal_address: str
    temporal_namespace: str
    task_queue: str
    observer_topic: str
    deploy_delay_s: float
    heartbeat_deploy_delay_s: float
    z_value: float
    window_max_second: float
    input_output_ratio_threshold: float
    input_output_refresh_rate_s: float
    sleep_time_s: float
    max_instance: int
    min_instance: int
    scale_in_stabilization_s: float
    cloud_provider: str
    scale_in_utilization: float  # scale in only if the others would run at most this busy
    backlog_near_zero: int  # consumer lag (messages) that still counts as "keeping up"
    spike_tolerance: float  # std floor as a share of the mean, so a flat history is not all spikes
    heartbeat_timeout_s: float  # an instance silent this long is dead
    reconcile_interval_s: float
    max_partitions: int  # partition growth never goes past this
    target_utilization: float = 0.8  # scale out to instances this busy
    catch_up_s: float = 60.0  # drain a backlog within this, on top of the input
    scale_in_cooldown_s: float = 60.0  # no scale change this long after a scale in (its rebalance settles)
    scale_out_rule: str = "count"  # count | plus_one (the thesis's rule, for comparison)
    spike_hold_s: float = 3.0  # a rise of the input that holds this long is a step, not a spike
    dlq_suffix: str = ".dlq"  # the apps' DLQ_SUFFIX: their dead letters count as handled
    controlled_services: tuple[str, ...] = ("analyzer", "notifier")  # only these are ever scaled; "*": any
    metrics_port: int = 0  # the Temporal SDK's Prometheus exporter, decisions included; 0 ▸ off
    metrics_host: str = "127.0.0.1"
    providers: ProviderSettings = field(default_factory=ProviderSettings.from_env)

    def __post_init__(self) -> None:
        if self.min_instance > self.max_instance:
            raise ConfigError(f"MIN_INSTANCE={self.min_instance} is above MAX_INSTANCE={self.max_instance}: "
                              "the controller could never keep that many")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ControllerSettings":
        env = _Env(environ)
        return cls(
            bootstrap_servers=_bootstrap(env, "OBSERVER_CONSUMER_SERVERS"),
            temporal_address=env.str("TEMPORAL_ADDRESS", DEFAULT_TEMPORAL),
            temporal_namespace=env.str("TEMPORAL_NAMESPACE", "default"),
            task_queue=env.str("TEMPORAL_TASK_QUEUE", "siaga-control"),
            observer_topic=env.str("OBSERVER_CONSUMER_TOPIC", "observer", "OBSERVER_TOPIC"),
            deploy_delay_s=env.float("DEPLOY_DELAY", 900.0, minimum=0.0),
            heartbeat_deploy_delay_s=env.float("HEARBEART_DEPLOY_DELAY", 120.0, minimum=1.0),
            z_value=env.float("Z_VALUE", 2.0, minimum=0.0),
            window_max_second=env.float("WINDOW_MAX_SECOND", 300.0, minimum=1.0),
            input_output_ratio_threshold=env.float("INPUT_OUTPUT_RATIO_THRESHOLD", 0.7, minimum=0.0, maximum=1.0),
            input_output_refresh_rate_s=env.float("INPUT_OUTPUT_REFRESH_RATE", 60.0, minimum=1.0),
            sleep_time_s=env.float("SLEEP_TIME", 3.0, minimum=0.1),
            max_instance=env.int("MAX_INSTANCE", 3, minimum=1),
            min_instance=env.int("MIN_INSTANCE", 1, minimum=0),
            scale_in_stabilization_s=env.float("SCALE_IN_STABILIZATION", 300.0, minimum=0.0),
            cloud_provider=env.choice("CLOUD_PROVIDER", "LOCAL", ("LOCAL", "GOOGLE_CLOUD", "AWS")),
            scale_in_utilization=env.float("SCALE_IN_UTILIZATION", 0.6, minimum=0.0, maximum=1.0),
            backlog_near_zero=env.int("BACKLOG_NEAR_ZERO", 10, minimum=0),
            spike_tolerance=env.float("SPIKE_TOLERANCE", 0.1, minimum=0.0),
            spike_hold_s=env.float("SPIKE_HOLD", 3.0, minimum=0.0),
            heartbeat_timeout_s=env.float("HEARTBEAT_TIMEOUT", 30.0, minimum=1.0),
            reconcile_interval_s=env.float("RECONCILE_INTERVAL", 60.0, minimum=1.0),
            max_partitions=env.int("MAX_PARTITIONS", 12, minimum=1),
            target_utilization=env.float("TARGET_UTILIZATION", 0.8, minimum=0.05, maximum=1.0),
            catch_up_s=env.float("CATCH_UP_TIME", 60.0, minimum=1.0),
            scale_in_cooldown_s=env.float("SCALE_IN_COOLDOWN", 60.0, minimum=0.0),
            scale_out_rule=env.choice("SCALE_OUT_RULE", "count", ("count", "plus_one")),
            dlq_suffix=env.str("DLQ_SUFFIX", ".dlq"),
            controlled_services=_controlled_services(env.list("CONTROLLED_SERVICES", ("analyzer", "notifier"))),
            metrics_port=env.int("CONTROLLER_METRICS_PORT", 0, minimum=0, maximum=65535),
            metrics_host=env.str("METRICS_HOST", "127.0.0.1"),
            providers=ProviderSettings.from_env(environ),
        )

