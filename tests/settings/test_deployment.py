"""Start-up checks of the settings, run in subprocesses with a controlled environment."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

SETUP = "import django; django.setup(); print('started')"


def _production_secret_key() -> str:
    return secrets.token_urlsafe(64)[:64]


def _run(args, tmp_path, **env):
    """Run python with only PATH/HOME/locale from the outside plus ``env`` (no DATABASE_URL, no secrets)."""
    base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DATA_DIR": str(tmp_path),
            "STATIC_ROOT": str(tmp_path / "static"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=base,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _production(**env):
    return {
        "PORTAL_DEPLOYMENT": "production",
        "SECRET_KEY": _production_secret_key(),
        "ALLOWED_HOSTS": "portal.example.com",
        "PORTAL_ENVIRONMENT": "live",
        **env,
    }


def test_it_starts_in_development_with_the_development_key(tmp_path):
    result = _run(["-c", SETUP], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_it_starts_in_production_with_a_proper_key(tmp_path):
    result = _run(["-c", SETUP], tmp_path, **_production())
    assert result.returncode == 0, result.stderr


def test_it_refuses_production_with_the_development_secret_key(tmp_path):
    env = _production()
    del env["SECRET_KEY"]
    result = _run(["-c", SETUP], tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Production needs its own SECRET_KEY" in result.stderr


def test_it_refuses_production_with_a_short_secret_key(tmp_path):
    result = _run(["-c", SETUP], tmp_path, **_production(SECRET_KEY="x" * 49))
    assert result.returncode != 0
    assert "Production needs its own SECRET_KEY" in result.stderr


def test_it_refuses_production_with_debug(tmp_path):
    result = _run(["manage.py", "check"], tmp_path, **_production(DEBUG="true"))
    assert result.returncode != 0
    assert "Production refuses to start with DEBUG=true." in result.stderr


def test_it_reads_the_production_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(_production_secret_key() + "\n", encoding="utf-8")
    env = _production(SECRET_KEY_FILE=str(key_file))
    del env["SECRET_KEY"]
    result = _run(
        ["-c", SETUP + "; from django.conf import settings; print(len(settings.SECRET_KEY))"], tmp_path, **env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "64"


def test_it_refuses_a_malformed_boolean_at_start_up(tmp_path):
    result = _run(["-c", SETUP], tmp_path, DEBUG="yes")
    assert result.returncode != 0
    assert "DEBUG must be 'true' or 'false'" in result.stderr


def test_it_passes_the_deployment_checks_in_production(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **_production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_fails_the_deployment_checks_with_an_insecure_override(tmp_path):
    # the check above can fail: turning off the secure cookie is reported
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        **_production(SESSION_COOKIE_SECURE="false"),
    )
    assert result.returncode != 0
    assert "security.W012" in result.stdout + result.stderr


def test_it_has_no_missing_migrations(tmp_path):
    result = _run(["manage.py", "makemigrations", "--check", "--dry-run"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
