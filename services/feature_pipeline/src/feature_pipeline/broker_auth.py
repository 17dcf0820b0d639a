"""The broker credentials of the faust worker, from the same ``KAFKA_*`` settings librdkafka uses.

faust talks to Kafka through aiokafka, not librdkafka, so the settings every other client
takes as a config dict have to be turned into faust's credential objects.
"""

from __future__ import annotations

import ssl

from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT

from tickcast.settings import KafkaSettings

_TLS = {"SSL", "SASL_SSL"}


def broker_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """None for a plaintext broker; a clear error for a combination faust cannot use."""
    protocol = (kafka.security_protocol or "PLAINTEXT").upper()
    if protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context() if protocol in _TLS else None
    if protocol == "SSL":
        return SSLCredentials(context)
    if protocol in {"SASL_PLAINTEXT", "SASL_SSL"}:
        if not kafka.sasl_username or not kafka.sasl_password:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password,
            ssl_context=context,
            mechanism=(kafka.sasl_mechanism or "PLAIN").upper(),
        )
    raise ValueError(
        f"KAFKA_SECURITY_PROTOCOL={kafka.security_protocol!r} is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
    )
