"""The faust worker gets the broker credentials every librdkafka client gets."""

from __future__ import annotations

import ssl

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import AuthProtocol, SASLMechanism

from feature_pipeline.broker_auth import broker_credentials
from tickcast.settings import KafkaSettings


def test_a_plaintext_broker_needs_no_credentials() -> None:
    assert broker_credentials(KafkaSettings()) is None
    assert broker_credentials(KafkaSettings(security_protocol="plaintext")) is None


def test_sasl_ssl_carries_user_mechanism_and_a_verifying_tls_context() -> None:
    credentials = broker_credentials(
        KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                      sasl_username="quant", sasl_password="s3cret")
    )
    assert isinstance(credentials, SASLCredentials)
    assert (credentials.username, credentials.password) == ("quant", "s3cret")
    assert credentials.mechanism is SASLMechanism.SCRAM_SHA_512
    assert credentials.protocol is AuthProtocol.SASL_SSL
    assert credentials.ssl_context is not None and credentials.ssl_context.verify_mode is ssl.CERT_REQUIRED


def test_sasl_plaintext_defaults_to_plain_without_tls() -> None:
    credentials = broker_credentials(
        KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p")
    )
    assert isinstance(credentials, SASLCredentials)
    assert credentials.mechanism is SASLMechanism.PLAIN
    assert credentials.protocol is AuthProtocol.SASL_PLAINTEXT
    assert credentials.ssl_context is None


def test_ssl_alone_gives_tls_credentials() -> None:
    credentials = broker_credentials(KafkaSettings(security_protocol="SSL"))
    assert isinstance(credentials, SSLCredentials)
    assert credentials.protocol is AuthProtocol.SSL


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (KafkaSettings(security_protocol="SASL_SSL", sasl_username="u"), "KAFKA_SASL_PASSWORD"),
        (KafkaSettings(security_protocol="KERBEROS"), "is not one of"),
    ],
)
def test_incomplete_or_unknown_settings_are_refused_with_the_reason(settings: KafkaSettings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        broker_credentials(settings)
