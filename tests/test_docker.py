"""The Docker image (docker/Dockerfile) built and run for real: a Docker daemon and a
base image made from Debian's packages come from ``scripts/docker-test-setup`` (which
``scripts/test`` runs as root); where either is missing, these tests skip and say why.

The container reaches the simulator on 127.0.0.1 through the host's network."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tray_app.simulator.hh import HHSimulator, SimConfig, demo_resumes

from .conftest import wait_until

ROOT = Path(__file__).parent.parent
BASE = "hh-raiser-test-base:bookworm"
IMAGE = "hh-raiser:test"
UID = 10001  # the image's own user (docker/Dockerfile)
URL_VARIABLES = ("HH_RAISER_API_URL", "HH_RAISER_OAUTH_URL", "HH_RAISER_WEB_URL")


def _docker(
    *args: str, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, input=stdin
    )


def _why_not() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command (scripts/docker-test-setup installs it as root)"
    if _docker("info", timeout=30).returncode != 0:
        return "no Docker daemon answers (scripts/docker-test-setup starts one as root)"
    if _docker("image", "inspect", BASE, timeout=30).returncode != 0:
        return f"no base image {BASE} (scripts/docker-test-setup builds it with debootstrap)"
    return None


@pytest.fixture(scope="module")
def image() -> str:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    built = subprocess.run(
        [str(ROOT / "scripts" / "docker-build"), "--build-arg", f"BASE_IMAGE={BASE}", "-t", IMAGE],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return IMAGE


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """The /data volume: a folder of the container's user, private to it."""
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    shutil.chown(folder, UID, UID)
    yield folder  # what the container wrote is its user's; pytest (root) removes it


def test_the_image_runs_as_its_own_user_and_is_small(image: str) -> None:
    assert _docker("run", "--rm", "--entrypoint", "id", image, "-u").stdout.strip() == str(UID)
    version = _docker("run", "--rm", image, "--version")
    assert version.returncode == 0 and version.stdout.startswith("hh-raiser ")
    sizes = {
        name: int(_docker("image", "inspect", name, "--format", "{{.Size}}").stdout)
        for name in (BASE, image)
    }
    app = (sizes[image] - sizes[BASE]) / 2**20
    print(f"image {sizes[image] / 2**20:.0f} MiB: base {sizes[BASE] / 2**20:.0f} + app {app:.0f}")
    assert app < 120, f"the app adds {app:.0f} MiB to its base"
    health = json.loads(
        _docker("image", "inspect", image, "--format", "{{json .Config.Healthcheck}}").stdout
    )
    assert health["Test"] == ["CMD", "hh-raiser", "status", "--json"]


def test_without_its_key_the_container_says_what_to_do(image: str, data: Path) -> None:
    result = _docker("run", "--rm", "-v", f"{data}:/data", image, "status")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "hh-raiser-secrets-key" in result.stderr, result.stderr


def test_a_raise_inside_the_container_with_secrets_in_the_encrypted_store(
    image: str, data: Path, tmp_path: Path
) -> None:
    config = SimConfig(cooldown=3.0, token_lifetime=4.0)
    sim = HHSimulator(config, resumes=demo_resumes(datetime.now(UTC), config)).start()
    key = tmp_path / "secrets.key"
    try:
        made = _docker(
            "run",
            "--rm",
            "-v",
            f"{tmp_path}:/keys",
            "--user",
            "0",
            image,
            "secrets",
            "new-key",
            "/keys/secrets.key",
        )
        assert made.returncode == 0, made.stderr
        shutil.chown(key, UID, UID)
        key.chmod(0o600)
        run = [
            "--network",
            "host",
            "-v",
            f"{data}:/data",
            "-v",
            f"{key}:/run/secrets/hh-raiser-secrets-key:ro",
            "-e",
            f"HH_RAISER_API_URL={sim.url}",
            "-e",
            f"HH_RAISER_OAUTH_URL={sim.url}",
            "-e",
            f"HH_RAISER_WEB_URL={sim.url}",
        ]
        token = sim.issue_tokens()
        env_file = f"ACCESS_TOKEN={token.access_token}\nREFRESH_TOKEN={token.refresh_token}\n"
        imported = _docker("run", "--rm", "-i", *run, image, "import-env", "-", stdin=env_file)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        _docker("run", "--rm", *run, image, "config", "set", "contact_email", "docker@example.com")
        _docker("run", "--rm", *run, image, "config", "set", "margin_seconds", "0.2")
        container = _docker("run", "-d", *run, image).stdout.strip()
        try:
            wait_until(lambda: len([p for p in sim.publishes if p.accepted]) >= 3, 90)
            wait_until(lambda: len(sim.calls("POST", "/token")) >= 1, 30)  # tokens rotated
            status = _docker("exec", container, "hh-raiser", "status", "--json")
            assert status.returncode == 0, status.stdout + status.stderr
            assert json.loads(status.stdout)["auth"]["state"] == "ok"
        finally:
            stopped = time.monotonic()
            _docker("stop", "-t", "30", container)
            code = _docker("inspect", container, "--format", "{{.State.ExitCode}}").stdout.strip()
            logs = _docker("logs", container)
            _docker("rm", container)
        assert code == "0", logs.stdout[-2000:] + logs.stderr[-2000:]
        assert time.monotonic() - stopped < 20  # SIGTERM ends it at once
        assert sim.premature_publishes() == []
        secrets = [token.access_token, token.refresh_token]
        secrets += [t.access_token for t in sim.tokens.values()]
        secrets += [t.refresh_token for t in sim.tokens.values()]
        for path in data.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert not any(s.encode() in content for s in secrets), path
    finally:
        sim.stop()


def test_the_readme_compose_steps_raise(image: str, tmp_path: Path) -> None:
    """README "On a server", Docker: the same commands, in a folder of the user's with
    docker/compose.yaml; an override file only points it at the test image and at the
    simulator."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("no docker-compose (scripts/docker-test-setup installs it as root)")
    config = SimConfig(cooldown=3.0, token_lifetime=4.0)
    sim = HHSimulator(config, resumes=demo_resumes(datetime.now(UTC), config)).start()
    folder = tmp_path / "hh-raiser"
    folder.mkdir()
    shutil.copy(ROOT / "docker" / "compose.yaml", folder)
    (folder / "test.yaml").write_text(
        "services:\n  hh-raiser:\n"
        f"    image: {image}\n    network_mode: host\n    environment:\n"
        + "".join(f"      {name}: {sim.url}\n" for name in URL_VARIABLES)
    )
    project = [
        "-p",
        f"hhraisertest{uuid.uuid4().hex[:8]}",
        "-f",
        "compose.yaml",
        "-f",
        "test.yaml",
    ]

    def step(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [compose, *project, *args],
            cwd=folder,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=180,
        )
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done

    try:
        # `… new-key - > secrets.key`: the shell makes the (empty) file before compose
        # mounts it, as the secret compose.yaml names must exist
        (folder / "secrets.key").touch()
        key = step("run", "--rm", "-T", "hh-raiser", "secrets", "new-key", "-").stdout
        (folder / "secrets.key").write_text(key)
        (folder / "secrets.key").chmod(0o600)
        shutil.chown(folder / "secrets.key", UID)
        token = sim.issue_tokens()
        env_file = (
            f"ACCESS_TOKEN={token.access_token}\nREFRESH_TOKEN={token.refresh_token}\n"
            "CONTACT_EMAIL=compose@example.com\n"
        )
        step("run", "--rm", "-T", "hh-raiser", "import-env", "-", stdin=env_file)
        step("up", "-d")
        wait_until(lambda: len([p for p in sim.publishes if p.accepted]) >= 2, 90)
        status = step("exec", "-T", "hh-raiser", "hh-raiser", "status", "--json")
        assert json.loads(status.stdout)["auth"]["state"] == "ok"
    finally:
        subprocess.run(
            [compose, *project, "down", "-v"], cwd=folder, capture_output=True, timeout=120
        )
        sim.stop()
