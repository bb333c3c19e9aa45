"""How every Kafka client in Siaga connects: one set of security settings for all of them.

Apps, bots, the controller's activities, the lag reader, the admin calls and the probe all build
their aiokafka clients with :func:`client_options`, so pointing Siaga at a broker that needs
TLS or SASL is one set of environment variables (:class:`fogverse.settings.KafkaSecurity`).

:func:`preflight` tells "nobody answers yet" (wait) from "the broker refuses these settings"
(stop, naming the variable). aiokafka's clients cannot: their ``start()`` raises the same
``KafkaConnectionError("Unable to bootstrap from ...")`` for a refused connection, a wrong
password and an untrusted certificate, and only logs the cause. So the preflight opens one
connection the way their bootstrap does (``aiokafka.conn.create_conn``: TLS handshake, then
ApiVersions, SASL handshake and authentication), which raises the cause itself.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka import errors as kafka_errors

from fogverse.settings import ConfigError, KafkaSecurity


def client_options(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer`` / ``AIOKafkaConsumer`` / ``AIOKafkaAdminClient``."""
    security = security or KafkaSecurity.from_env()
    return security.aiokafka_options()


class BrokerUnreachable(ConnectionError):
    """No broker answered at the bootstrap address (down, restarting, or not there yet)."""


async def preflight(bootstrap: str, security: KafkaSecurity | None = None, timeout_s: float = 5.0) -> None:
    """Check, before a client starts, that a broker answers at ``bootstrap`` with these settings.

    Raises :class:`BrokerUnreachable` when nothing answers (callers wait and retry), and
    :class:`fogverse.settings.ConfigError` naming the setting when the broker answers but refuses
    us (a wrong password, an untrusted certificate): retrying cannot fix that.
    """
    from aiokafka.conn import create_conn
    from aiokafka.protocol.metadata import MetadataRequest

    security = security or KafkaSecurity.from_env()
    options = security.aiokafka_options()
    errors = []
    for server in bootstrap.split(","):
        server = server.strip()
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            errors.append(f"{server}: not host:port")
            continue
        try:
            async with asyncio.timeout(timeout_s):
                conn = await create_conn(host.strip("[]"), int(port), client_id="siaga-preflight",
                                         request_timeout_ms=int(timeout_s * 1000), **options)
            try:
                async with asyncio.timeout(timeout_s):
                    await conn.send(MetadataRequest([]))  # the session really works
            finally:
                conn.close()
            return
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError,
                kafka_errors.KafkaError) as exc:
            refusal = refused_settings(exc, server, security)
            if refusal is not None:
                raise refusal from None
            errors.append(f"{server}: {unreachable_reason(exc, security)}")
    raise BrokerUnreachable(f"no Kafka broker answered at {bootstrap} ({'; '.join(errors)})")


def refused_settings(exc: BaseException, server: str, security: KafkaSecurity) -> ConfigError | None:
    """The :class:`ConfigError` for a connection failure that only other settings can fix, else None.

    What aiokafka 0.14 raises while connecting, found by trying each case against Apache Kafka:
    a wrong user name or password ▸ ``SaslAuthenticationFailed``; a mechanism the listener does
    not enable ▸ ``UnsupportedSaslMechanismError``; a broker certificate our CAs do not trust (or
    for another host name) ▸ ``ssl.SSLCertVerificationError``; our client certificate refused ▸
    ``KafkaConnectionError`` caused by an ``ssl.SSLError`` alert; PLAINTEXT to a TLS listener ▸
    ``KafkaConnectionError`` caused by an ``IncompleteReadError`` whose "size" is a TLS alert.
    A refused connection is an ``OSError``, and a plaintext listener resets a TLS handshake
    (``ConnectionResetError``): both may be a broker that is still starting, so not these.
    """
    if isinstance(exc, kafka_errors.SaslAuthenticationFailed):
        return ConfigError(f"the broker at {server} refused KAFKA_SASL_USERNAME={security.sasl_username!r} with "
                           f"KAFKA_SASL_MECHANISM={security.sasl_mechanism} ({exc.args[0] if exc.args else exc}): "
                           "check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
    if isinstance(exc, kafka_errors.UnsupportedSaslMechanismError):
        return ConfigError(f"the broker at {server} does not offer KAFKA_SASL_MECHANISM={security.sasl_mechanism} "
                           f"({exc.args[0] if exc.args else exc})")
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code == 62:  # X509_V_ERR_HOSTNAME_MISMATCH: the certificate is for another name
            return ConfigError(f"the TLS certificate of the broker at {server} is not for that address "
                               f"({exc.verify_message}): use the host name it names in the bootstrap servers")
        return ConfigError(f"the TLS certificate of the broker at {server} is not trusted by "
                           f"KAFKA_SSL_CAFILE={security.ssl_cafile or '(unset: the system CAs)'} "
                           f"({exc.verify_message})")
    tls_error = exc if isinstance(exc, ssl.SSLError) else exc.__cause__
    if isinstance(tls_error, ssl.SSLError) and not isinstance(tls_error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        reason = tls_error.reason or str(tls_error)
        if "ALERT" in reason and ("CERTIFICATE" in reason or "UNKNOWN_CA" in reason):
            return ConfigError(f"the broker at {server} refused our TLS client certificate "
                               f"(KAFKA_SSL_CERTFILE={security.ssl_certfile or '(unset)'}): {reason}")
        if reason == "WRONG_VERSION_NUMBER":
            return ConfigError(f"the listener at {server} does not speak TLS: "
                               f"check KAFKA_SECURITY_PROTOCOL={security.security_protocol}")
        return ConfigError(f"TLS with the broker at {server} failed ({reason}): check KAFKA_SECURITY_PROTOCOL "
                           "and the KAFKA_SSL_* settings")
    read = exc if isinstance(exc, asyncio.IncompleteReadError) else exc.__cause__
    if not security.uses_tls and isinstance(read, asyncio.IncompleteReadError) and read.expected >> 24 == 0x15:
        # where a response's size was due came a TLS alert record (content type 21)
        return ConfigError(f"the listener at {server} speaks TLS: KAFKA_SECURITY_PROTOCOL="
                           f"{security.security_protocol} must be SSL or SASL_SSL for it")
    if isinstance(exc, ValueError) and not isinstance(exc, OSError) and security.uses_sasl:
        # aiokafka's SCRAM client: the broker's proof does not match our password
        return ConfigError(f"the SASL {security.sasl_mechanism} login at {server} failed ({exc}): "
                           "check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
    return None


def unreachable_reason(exc: BaseException, security: KafkaSecurity) -> str:
    """Why nothing usable answered, with a hint when the listener may speak another protocol."""
    name, text = exc.__class__.__name__, str(exc)
    reason = text if text.startswith(name) else f"{name}: {text}" if text else name
    accepted_then_closed = isinstance(exc, (ConnectionResetError, asyncio.IncompleteReadError, ssl.SSLEOFError)) or (
        isinstance(exc, kafka_errors.KafkaConnectionError) and "closed" in str(exc))
    if accepted_then_closed:
        reason += (f" (it accepted the connection, then closed it: does KAFKA_SECURITY_PROTOCOL="
                   f"{security.security_protocol} match this listener?)")
    return reason
