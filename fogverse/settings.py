"""Settings: every setting Siaga reads is an environment variable, declared on a pydantic-settings
model beside the code that uses it (``apps/analyzer/settings.py``, ``workers/settings.py`` ...).

This module holds what they share: the :class:`Settings` base (one environment source, an optional
``.env`` file, errors that name the variable), the field helpers (:func:`env`, :func:`Choice`,
``CommaList``, ``Port`` ...) and the settings every process reads (:class:`RuntimeSettings`,
:class:`LogSettings`, :class:`KafkaSecurity`).

Names and defaults follow the thesis seeds (``ANALYZER_CONSUMER_TOPIC``, ``DEPLOY_DELAY`` ...).
Each process builds the settings it needs with ``XxxSettings.from_env()``; a bad value raises
:class:`ConfigError` naming the variable, so the process stops at start (exit code 2).

Where a seed gave every app its own bootstrap variable (``ANALYZER_CONSUMER_SERVERS``,
``CRAWLER_ANALYZER_SERVERS`` ...), that variable still wins, and ``KAFKA_BOOTSTRAP_SERVERS``
is the shared fallback, so one variable points the whole system at a broker.
"""

from __future__ import annotations

import os
import socket
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping

import annotated_types
from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_TEMPORAL = "127.0.0.1:7233"
#: the optional file of settings read under the environment (``KEY=value`` lines); the environment wins
ENV_FILE_VARIABLE = "SIAGA_ENV_FILE"
DEFAULT_ENV_FILE = ".env"


class ConfigError(ValueError):
    """An environment variable holds a value Siaga cannot use."""


# ---------------------------------------------------------------------------------------------
# Where values come from: the environment over the optional .env file


def read_env_file(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``.env`` file's settings (``SIAGA_ENV_FILE``, default ``.env`` in the working directory;
    a missing default file is no error, a missing named one is)."""
    from dotenv import dotenv_values

    environ = os.environ if environ is None else environ
    named = (environ.get(ENV_FILE_VARIABLE) or "").strip()
    path = Path(named or DEFAULT_ENV_FILE).expanduser()
    if not path.is_file():
        if named and named != os.devnull:
            raise ConfigError(f"{ENV_FILE_VARIABLE}={named} does not exist or is not a file")
        return {}
    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{ENV_FILE_VARIABLE}={path}: cannot read it ({exc})") from None
    return {key: value for key, value in values.items() if value is not None}


def process_environment() -> dict[str, str]:
    """What a process's settings read: its environment, over the ``.env`` file's lines."""
    return {**read_env_file(), **os.environ}


def environment(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    """``environ``, or this process's environment and ``.env`` file when it is None (read once, by
    whoever builds several settings from one environment)."""
    return process_environment() if environ is None else environ


#: the environment ``from_env`` is reading (None: the process's, with its .env file)
_reading: ContextVar[Mapping[str, str] | None] = ContextVar("siaga_settings_environment", default=None)


class _Environment(PydanticBaseSettingsSource):
    """The one source of every setting: a mapping of variable names to text. An empty value is
    unset; values are stripped, except secrets (a password may begin or end with a space)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for info in self.settings_cls.model_fields.values():
            for name in variable_names(info):
                value = self.environ.get(name)
                if value is None or value.strip() == "":
                    continue
                found[name] = value if _is_secret(info) else value.strip()
                break
        return found


# ---------------------------------------------------------------------------------------------
# Declaring a setting


@dataclass(frozen=True)
class Rule:
    """What a value must be, in words, for ``--help`` (pydantic ignores this marker)."""

    text: str


def env(name: str, *also: str, default: Any = PydanticUndefined, default_factory=None, meaning: str = "",
        shown: str | None = None, required_because: str = "", **constraints) -> Any:
    """A setting read from variable ``name`` (else from the older names ``also``, in order).

    ``meaning`` is its line in the README's table; ``shown`` replaces the default there and in
    ``--help`` (``"CPU count"``); ``required_because`` is the error when a required one is unset.
    """
    extra = {"variables": (name, *also), "meaning": meaning}
    if shown is not None:
        extra["shown"] = shown
    if required_because:
        extra["required_because"] = required_because
    alias = AliasChoices(name, *also) if also else name
    if default_factory is not None:
        return Field(default_factory=default_factory, validation_alias=alias, json_schema_extra=extra, **constraints)
    return Field(default, validation_alias=alias, json_schema_extra=extra, **constraints)


def _extra(info: FieldInfo) -> dict:
    """What :func:`env` noted on a field (its variables, meaning, shown default ...)."""
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def variable_names(info: FieldInfo) -> tuple[str, ...]:
    """The variables a field reads, the first one first (none: it is not read from the environment)."""
    return tuple(_extra(info).get("variables", ()))


def _is_secret(info: FieldInfo) -> bool:
    return info.annotation in (SecretStr, SecretStr | None)


def Choice(*options: str) -> Any:
    """One of ``options``, given in any case."""
    lower = all(option == option.lower() for option in options)

    def normalize(value: Any) -> Any:
        return (value.lower() if lower else value.upper()) if isinstance(value, str) else value

    return Annotated[Literal[options], BeforeValidator(normalize), Rule("one of " + ", ".join(options))]


def _comma_list(value: Any) -> Any:
    """``a,b`` (or the seeds' JSON-ish ``["a","b"]``) ▸ ``("a", "b")``."""
    if not isinstance(value, str):
        return value
    items = (item.strip().strip("'\"") for item in value.strip().removeprefix("[").removesuffix("]").split(","))
    return tuple(item for item in items if item)


def _readable_file(path: Path | None) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    if not path.is_file():
        raise ValueError(f"={path} does not exist or is not a file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"={path} is not readable by this process")
    return path.resolve()


CommaList = Annotated[tuple[str, ...], BeforeValidator(_comma_list), Rule("a comma-separated list")]
Port = Annotated[int, annotated_types.Ge(0), annotated_types.Le(65535)]
ReadableFile = Annotated[Path | None, AfterValidator(_readable_file), Rule("a readable file")]
ResolvedPath = Annotated[Path, AfterValidator(lambda path: path.expanduser().resolve())]
Secret = Annotated[SecretStr, Rule("a secret")]
OptionalSecret = Annotated[SecretStr | None, Rule("a secret")]


def secret_value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


class Settings(BaseSettings):
    """A group of settings read from the environment (and the ``.env`` file): build one with
    :meth:`from_env`, which turns a bad value into a :class:`ConfigError` naming the variable."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", validate_default=True, validate_by_name=True,
                                      allow_inf_nan=False, case_sensitive=True, hide_input_in_errors=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return init_settings, _Environment(settings_cls, environment(_reading.get()))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any):
        """The settings ``environ`` holds (None: this process's environment and ``.env`` file);
        ``given`` fields win over both."""
        environ = environment(environ)
        token = _reading.set(environ)
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError(explain(cls, exc, environ)) from None
        finally:
            _reading.reset(token)


# ---------------------------------------------------------------------------------------------
# Errors that name the variable


def _field_at(cls: type[BaseSettings], loc: tuple) -> tuple[str | None, FieldInfo | None]:
    """The variable an error's location names, and its field: a field's name (a value given to the
    class, or a missing one) names its first variable; a variable's name (the value came from it) is
    kept, so an older name the user set is the one the error names."""
    if not loc:
        return None, None
    key = str(loc[0])
    info = cls.model_fields.get(key)
    if info is not None:
        return (variable_names(info) or (key,))[0], info
    return key, next((f for f in cls.model_fields.values() if key in variable_names(f)), None)


def explain(cls: type[BaseSettings], exc: ValidationError, environ: Mapping[str, str] | None = None) -> str:
    """The first error, as one line naming the variable: ``BATCH_SIZE must be at least 1, got 0``
    (the value as ``environ`` gave it, before any normalizing)."""
    error = exc.errors(include_url=False)[0]
    loc, kind, ctx = tuple(error.get("loc", ())), error["type"], error.get("ctx") or {}
    name, info = _field_at(cls, loc)
    secret = info is not None and _is_secret(info)
    raw = (environ or {}).get(str(loc[0])) if loc else None
    if raw is not None and raw.strip():
        error["input"] = raw.strip()
    got = "" if secret else f", got {error.get('input')!r}"
    if kind == "value_error":
        cause = ctx.get("error")
        text = str(cause) if cause is not None else error["msg"]
        if isinstance(cause, ConfigError) or name is None:
            return text
        return f"{name}{text}" if text.startswith(("=", ":")) else f"{name} {text}"
    if name is None:
        return error["msg"]
    if kind == "missing":
        because = _extra(info).get("required_because") if info is not None else None
        return f"{name} is not set: {because or 'it is required'}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{name} must be an integer{got}"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{name} must be a number{got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{name} must be true or false{got}"
    if kind == "literal_error":
        return f"{name} must be one of {ctx['expected'].replace(chr(39), '').replace(' or ', ', ')}{got}"
    if kind == "greater_than_equal":
        return f"{name} must be at least {ctx['ge']}, got {error.get('input')}"
    if kind == "less_than_equal":
        return f"{name} must be at most {ctx['le']}, got {error.get('input')}"
    if kind == "greater_than":
        return f"{name} must be above {ctx['gt']}, got {error.get('input')}"
    if kind == "string_pattern_mismatch":
        rule = next((m.text for m in (info.metadata if info else ()) if isinstance(m, Rule)), "")
        return f"{name} must be {rule or 'of the form ' + ctx.get('pattern', '')}{got}"
    return f"{name}: {error['msg']}{got}"


# ---------------------------------------------------------------------------------------------
# What a command reads, for --help and the README


@dataclass
class Variable:
    """One environment variable a settings class reads, as ``--help`` and the README list it."""

    name: str
    default: str  # as shown: "256", "unset", "required", "CPU count"
    rule: str = ""
    also: tuple[str, ...] = ()  # read after it when it is unset (a seed's older name)
    meaning: str = ""
    owner: str = ""  # the settings class that declares it
    fallback_of: str = ""  # set ▸ this is an older name, read when ``fallback_of`` is unset
    literal: bool = False  # the default is a value (shown as code), not words such as "CPU count"
    value: Any = None  # the default itself (None: unset or required)

    def line(self, width: int) -> str:
        text = f"  {self.name.ljust(width)}  {self.default.replace('`', '')}"
        notes = [n for n in (self.rule, f"else {', '.join(self.also)}" if self.also else "",
                             f"read when {self.fallback_of} is unset" if self.fallback_of else "") if n]
        return text + (f"  ({'; '.join(notes)})" if notes else "")


def _value_text(default: Any) -> str:
    if default is None or default == "" or default == ():
        return "unset"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float):
        return f"{default:g}"
    if isinstance(default, tuple):
        return ",".join(str(item) for item in default)
    return str(default)


def _rule(info: FieldInfo) -> str:
    rules = [m.text for m in info.metadata if isinstance(m, Rule)]
    annotation = info.annotation
    kind = ("an integer" if annotation in (int, int | None) else "a number" if annotation in (float, float | None)
            else "true or false" if annotation is bool else "")
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    if kind and low is not None and high is not None:
        kind = f"{kind} from {low:g} to {high:g}"
    elif kind and low is not None:
        kind = f"{kind} ≥ {low:g}"
    elif kind and high is not None:
        kind = f"{kind} ≤ {high:g}"
    return "; ".join([r for r in (kind, *rules) if r])


def variables_of(*classes: type[BaseSettings]) -> list[Variable]:
    """The variables ``classes`` read, in their declaration order, each once (the first class's
    line wins); a seed's older names follow the variable they back."""
    seen: dict[str, Variable] = {}
    for cls in classes:
        for info in cls.model_fields.values():
            names = variable_names(info)
            if not names or names[0] in seen:
                continue
            extra, rule = _extra(info), _rule(info)
            value = None if info.is_required() else info.get_default(call_default_factory=True)
            text = "required" if info.is_required() else _value_text(value)  # the default as it is
            shown = extra.get("shown", text)
            seen[names[0]] = Variable(names[0], shown, rule, names[1:], extra.get("meaning", ""), cls.__name__,
                                      literal="shown" not in extra and text not in ("required", "unset"), value=value)
            for older in names[1:]:  # an older name has the default itself, however the newer one shows it
                older_shown = text if value is not None else shown
                seen.setdefault(older, Variable(older, older_shown, rule, (), "", cls.__name__, fallback_of=names[0],
                                                literal=older_shown not in ("required", "unset"), value=value))
    return list(seen.values())


def environment_help(*classes: type[BaseSettings]) -> str:
    """The "environment" section of a command's ``--help``: each variable with its default and rule."""
    variables = variables_of(*classes)
    width = max((len(v.name) for v in variables), default=0)
    return "\n".join(["environment variables (default; rule):", *(v.line(width) for v in variables)])


# ---------------------------------------------------------------------------------------------
# What every process reads


def _default_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _cpu_count() -> int:
    return max(1, os.cpu_count() or 1)


CLOUD_PROVIDERS = ("LOCAL", "GOOGLE_CLOUD", "AWS")
CloudProvider = Choice(*CLOUD_PROVIDERS)


class RuntimeSettings(Settings):
    """What every FogVerse-style app shares: broker, observer topic, batching, threads."""

    bootstrap_servers: str = env(
        "KAFKA_BOOTSTRAP_SERVERS", default=DEFAULT_BOOTSTRAP, shown=f"`{DEFAULT_BOOTSTRAP}`",
        meaning="the broker for every app; when set, `make up` starts no broker. A seed's own variable "
                "(`ANALYZER_CONSUMER_SERVERS` …) wins over it")
    observer_topic: str = env("OBSERVER_TOPIC", default="observer",
                              meaning="where apps send counts, heartbeats and their service pair")
    metrics_interval_s: float = env("METRICS_INTERVAL", default=1.0, ge=0.05,
                                    meaning="seconds between metric batches")
    batch_size: int = env("BATCH_SIZE", default=256, ge=1, le=10_000, meaning="records per batch given to `process`")
    worker_threads: int = env("WORKER_THREADS", default_factory=_cpu_count, ge=1, le=64, shown="CPU count",
                              meaning="threads that run `process` in `parallel` mode")
    max_inflight_batches: int = env("MAX_INFLIGHT_BATCHES", default=4, ge=1, le=64,
                                    meaning="batches sent but not yet committed (back-pressure; bounds crash "
                                            "duplicates)")
    dlq_suffix: str = env("DLQ_SUFFIX", default=".dlq", meaning="dead-letter topic = source topic + this")
    instance_id: str = env("INSTANCE_ID", default_factory=_default_instance_id, shown="host-pid",
                           meaning="this instance's name in heartbeats (the controller sets it)")
    service_name: str = env("SERVICE_NAME", default="", shown="the app's name",
                            meaning="the service this instance belongs to")
    max_instance: int = env("MAX_INSTANCE", default=3, ge=1,
                            meaning="announced in `deploy_configs`; the controller's cap on instances")
    cloud_provider: CloudProvider = env(
        "CLOUD_PROVIDER", default="LOCAL",
        meaning="`LOCAL`, `GOOGLE_CLOUD` or `AWS`: the controller's says where more instances are deployed "
                "(an app only announces its own in `deploy_configs`)")
    #: how old a client's view of the topics may get: after partition growth the group's leader
    #: rebalances and producers spread over the new partitions within this (Kafka's default: 300 s)
    metadata_max_age_s: float = env(
        "METADATA_MAX_AGE", default=5.0, ge=0.5,
        meaning="seconds a client's view of the topics may age: within this after partition growth the group "
                "rebalances and producers use the new partitions (Kafka's own default is 300)")
    #: how long the broker may hold a fetch on a quiet partition before answering empty; below the
    #: consumer's request timeout (40 s), or a waiting fetch would time out
    fetch_max_wait_ms: int = env(
        "FETCH_MAX_WAIT_MS", default=20, ge=0, le=30_000,
        meaning="milliseconds the broker may hold a consumer's fetch on a quiet topic before answering empty "
                "(0 to 30000); a fetch returns with the first record that arrives, and under load the records "
                "that arrive while a batch is processed fill the next one. aiokafka's default, 500, is what a "
                "report could wait at each hop on a broker that holds a waiting fetch for its full time")
    metrics_host: str = env(
        "METRICS_HOST", default="127.0.0.1",
        meaning="address the Prometheus exporters (`*_METRICS_PORT`, [Metrics](#metrics)) listen on (`0.0.0.0` "
                "for a scraper on another machine)")
    #: the variable ``bootstrap_servers`` came from, for errors that name it (not itself a setting)
    bootstrap_variable: str = "KAFKA_BOOTSTRAP_SERVERS"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, bootstrap_var: str | None = None,
                 service_name: str = "", **given: Any) -> "RuntimeSettings":
        """``bootstrap_var``: the app's seed variable for the broker, read before ``KAFKA_BOOTSTRAP_SERVERS``;
        ``service_name``: the service's name unless ``SERVICE_NAME`` says otherwise."""
        environ = environment(environ)
        specific = (environ.get(bootstrap_var) or "").strip() if bootstrap_var else ""
        if specific:
            given.setdefault("bootstrap_servers", specific)
            given.setdefault("bootstrap_variable", bootstrap_var)
        if service_name and not (environ.get("SERVICE_NAME") or "").strip():
            given.setdefault("service_name", service_name)
        return super().from_env(environ, **given)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
LogLevel, LogFormat = Choice(*LOG_LEVELS), Choice(*LOG_FORMATS)


class LogSettings(Settings):
    """How every process logs (``fogverse.logs.configure_logging``)."""

    level: LogLevel = env(
        "LOG_LEVEL", default="INFO",
        meaning="`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`; anything else stops the process at start "
                "naming the variable")
    format: LogFormat = env(
        "LOG_FORMAT", default="text",
        meaning="`text` (one readable line per record) or `json`: one JSON object per line with `time` (ISO 8601, "
                "UTC), `level`, `logger`, `message`, the call's `extra=` fields and `exception` (the traceback, as "
                "one string)")


def bootstrap_variable(specific: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The variable a broker address was read from: the seed's own ``specific`` when set, else
    the shared ``KAFKA_BOOTSTRAP_SERVERS``."""
    environ = environment(environ)
    return specific if specific and (environ.get(specific) or "").strip() else "KAFKA_BOOTSTRAP_SERVERS"


def broker_env(specific: str, meaning: str = "broker (seed name)") -> Any:
    """A service's broker: its seed variable ``specific``, else ``KAFKA_BOOTSTRAP_SERVERS``."""
    return env(specific, "KAFKA_BOOTSTRAP_SERVERS", default=DEFAULT_BOOTSTRAP, shown="`KAFKA_BOOTSTRAP_SERVERS`",
               meaning=meaning)


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
SecurityProtocol, SaslMechanism = Choice(*SECURITY_PROTOCOLS), Choice(*SASL_MECHANISMS)


class KafkaSecurity(Settings):
    """How every Kafka client encrypts and authenticates (PLAINTEXT on loopback by default).

    ``SSL`` / ``SASL_SSL`` verify the broker against ``ssl_cafile`` (unset: the system's CAs) and
    may present a client certificate; ``SASL_*`` log in with a user name and password.
    """

    #: the variables, in the order the README lists them; SECRETS never leave this machine
    VARIABLES: ClassVar[tuple[str, ...]] = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD",
                 "KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE")
    SECRETS: ClassVar[tuple[str, ...]] = ("KAFKA_SASL_PASSWORD",)

    security_protocol: SecurityProtocol = env(
        "KAFKA_SECURITY_PROTOCOL", default="PLAINTEXT",
        meaning="`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`, for every Kafka client (apps, bots, "
                "controller, probe)")
    sasl_mechanism: SaslMechanism = env(
        "KAFKA_SASL_MECHANISM", default="PLAIN",
        meaning="`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (`SASL_*` only)")
    sasl_username: str | None = env("KAFKA_SASL_USERNAME", default=None, shown="—",
                                    meaning="SASL user; required with `SASL_*`")
    sasl_password: OptionalSecret = env(
        "KAFKA_SASL_PASSWORD", default=None, shown="—",
        meaning="SASL password, a secret: never logged, never passed to cloud instances; required with `SASL_*`")
    ssl_cafile: ReadableFile = env(
        "KAFKA_SSL_CAFILE", default=None, shown="the system CAs",
        meaning="PEM file of the CAs that sign the broker's certificate (`SSL`, `SASL_SSL`)")
    ssl_certfile: ReadableFile = env(
        "KAFKA_SSL_CERTFILE", default=None, shown="—",
        meaning="PEM client certificate, for brokers that require one (may hold the key too)")
    ssl_keyfile: ReadableFile = env("KAFKA_SSL_KEYFILE", default=None, shown="—",
                                           meaning="its unencrypted PEM private key")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @model_validator(mode="after")
    def _consistent(self) -> "KafkaSecurity":
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
        return self

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
                           sasl_plain_password=secret_value(self.sasl_password))
        return options


def state_dir_env() -> Any:
    """``SIAGA_STATE_DIR``: one setting read by every process that keeps state on this machine."""
    return env("SIAGA_STATE_DIR", default=Path(".state"), shown="`.state`",
               meaning="Temporal's database, logs, device registrations, local instance records")
