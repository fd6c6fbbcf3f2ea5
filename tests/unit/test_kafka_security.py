"""Bus authentication settings (runtime/settings.py) reach every aiokafka client the same way."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from unrip.runtime.kafka import make_consumer, make_producer, security_options
from unrip.runtime.settings import ServiceSettings

PASSWORD = "scram-Pass-Sentinel-93"


def sasl(**extra: object) -> ServiceSettings:
    return ServiceSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="unrip-reactor",
        kafka_sasl_password=PASSWORD,
        **extra,  # type: ignore[arg-type]
    )


def test_plaintext_is_the_default_and_adds_no_options() -> None:
    settings = ServiceSettings()
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert security_options(settings) == {}


def test_sasl_without_credentials_is_refused_naming_the_variables() -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u")
    assert "UNRIP_KAFKA_SASL_USERNAME and UNRIP_KAFKA_SASL_PASSWORD" in str(caught.value)


def test_the_password_is_never_in_the_settings_repr() -> None:
    assert PASSWORD not in repr(sasl())


async def test_producers_and_consumers_authenticate_with_scram() -> None:
    settings = sasl()
    producer = make_producer(settings, "reactor")
    consumer = make_consumer(settings, "reactor", "reactor")
    for client in (producer.client, consumer._client):
        assert client._security_protocol == "SASL_PLAINTEXT"
        assert client._sasl_mechanism == "SCRAM-SHA-256"
        assert client._sasl_plain_username == "unrip-reactor"
        assert client._sasl_plain_password == PASSWORD
    await producer.stop()
    await consumer.stop()
