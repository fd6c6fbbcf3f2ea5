"""No secret in the output, the log file or the state files: recognisable secret values are
seeded everywhere (the operator's files, stack outputs, Kubernetes Secrets, generated tokens),
failures are injected whose messages carry them, and everything written is scanned."""

from __future__ import annotations

import base64

import pytest
from unrip_bootstrap.redact import MASK, Redactor

from tests.bootstrap.conftest import ALL_SECRETS, HCLOUD_TOKEN, Workstation
from tests.bootstrap.world import ADMIN_PASSWORD, AGENT_TOKEN, REGISTRY_TOKEN

pytestmark = pytest.mark.platform


def leaked(text: str) -> list[str]:
    forms = {}
    for secret in ALL_SECRETS:
        forms[secret] = secret
        forms[base64.b64encode(secret.encode()).decode().rstrip("=")] = secret
    return sorted({origin for form, origin in forms.items() if form in text})


def test_secrets_never_reach_output_logs_or_state_even_in_failures(station: Workstation) -> None:
    world = station.world
    # Failures whose messages carry secrets, as real tools' errors sometimes do.
    world.arm("cluster.up", message=f"provider rejected token {HCLOUD_TOKEN}")
    assert station.bootstrap() == 1
    world.arm("kube.apply:deploy-agent-credentials", message=f"cannot store {AGENT_TOKEN}")
    assert station.bootstrap() == 1
    world.arm("git.push", message=f"https://unrip-admin:{ADMIN_PASSWORD}@127.0.0.1 rejected")
    assert station.bootstrap() == 1
    world.arm("agent")
    assert station.bootstrap() == 1
    station.git.current = "a" * 40
    assert station.bootstrap() == 0
    assert station.bootstrap(plan=True) == 0
    assert station.status() == 0

    written = station.everything_written()
    assert leaked(written) == []
    assert MASK in written  # the secrets were there, and masked
    assert "provider rejected token ***" in station.printed()
    log = station.options.state_paths.log.read_text()
    assert "cannot store ***" in log
    assert "Traceback" in log  # tracebacks carry raw exception messages: masked as well


def test_the_tokens_created_in_forgejo_stay_secret(converged: Workstation) -> None:
    del converged.world.objects[("secret", "deploy", "deploy-agent-credentials")]
    converged.world.arm(
        "kube.apply:deploy-agent-credentials", message=f"echo {REGISTRY_TOKEN} {AGENT_TOKEN}"
    )

    assert converged.bootstrap() == 1

    written = converged.everything_written()
    assert REGISTRY_TOKEN not in written and AGENT_TOKEN not in written
    assert "echo *** ***" in converged.printed()


def test_redactor_masks_values_their_base64_and_the_lines_of_multiline_secrets() -> None:
    redactor = Redactor()
    key = "-----BEGIN KEY-----\nAAAALineOfKeyMaterial0123\n-----END KEY-----"
    redactor.add("TopSecretValue42")
    redactor.add(key)
    redactor.add("abc")  # too short to mask without mangling ordinary words

    encoded = base64.b64encode(b"TopSecretValue42").decode()
    text = f"a TopSecretValue42 b {encoded} c AAAALineOfKeyMaterial0123 d abc"

    assert redactor.redact(text) == f"a {MASK} b {MASK} c {MASK} d abc"
