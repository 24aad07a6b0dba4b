"""A refused credential is named by where it came from - the token cache file, the role variable or the
environment variable - with what to do about it, and never shown.

The partnercenter_auth role runs through a playbook, as register_devices.yml and every other playbook use it; the
token module alone (without the role) names its options and environment variables.
"""
import json
import re

import pytest

from tests.playbooks import run_playbook

PLAY = """
- name: Obtain a token through the role
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - partnercenter.autopilot.partnercenter_auth
  tasks:
    - name: The token is there
      ansible.builtin.assert:
        that: partnercenter_access_token is defined
        quiet: true
"""
STALE = "stale-refresh-token-value-0123456789"  # a refresh token Entra ID no longer knows (rotated, revoked)


@pytest.fixture
def role_play(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    return str(play)


@pytest.fixture
def app_env(pc_env):
    """The app's credentials in the environment, no refresh token and no token cache (each test adds its own)."""
    return dict((k, v) for k, v in pc_env.items() if k not in ("PARTNERCENTER_REFRESH_TOKEN",
                                                               "PARTNERCENTER_TOKEN_CACHE_PATH"))


def run_role(play, env, *extra):
    """The role's play with -e pairs (name=value), at -vvv so that anything a task would show is shown."""
    args = ["-vvv"]
    for pair in extra:
        args += ["-e", pair]
    return run_playbook(play, env, args=args)


def the_message(proc):
    """The role's failure message (the line of its fail task)."""
    assert proc.returncode != 0, proc.stdout[-3000:]
    found = re.findall(r'"msg": ("partnercenter_auth: (?:[^"\\]|\\.)*")', proc.stdout)
    assert found, proc.stdout[-3000:]
    return json.loads(found[-1])


def fill_cache(emulator, env, play, cache):
    """A token cache as a first run leaves it: the refresh token given once, rotated into the cache."""
    proc = run_role(play, dict(env, PARTNERCENTER_REFRESH_TOKEN=emulator._initial_refresh_token),
                    "partnercenter_token_cache_path=%s" % cache)
    assert proc.returncode == 0, proc.stdout[-3000:]
    emulator.expire_access_tokens()
    with open(cache) as handle:
        data = json.load(handle)
    # No access token left: the next run has to use the cache's refresh token.
    data["AccessToken"] = {}
    with open(cache, "w") as handle:
        json.dump(data, handle)
    [cached] = [entry["secret"] for entry in data["RefreshToken"].values()]
    return cached


def make_stale(cache, cached):
    """The cache's refresh token replaced by one Entra ID does not know (as after a rotation elsewhere)."""
    with open(cache) as handle:
        text = handle.read()
    with open(cache, "w") as handle:
        handle.write(text.replace(cached, STALE))


def no_secret(proc, *secrets):
    for secret in secrets:
        assert secret not in proc.stdout, "a secret was shown"


@pytest.mark.parametrize("how", ["expired", "stale"])
def test_a_refused_refresh_token_of_the_token_cache_names_the_file_and_the_consent(
        emulator, app_env, role_play, tmp_path, how):
    cache = str(tmp_path / "cache" / "tokens.json")
    cached = fill_cache(emulator, app_env, role_play, cache)
    if how == "expired":
        emulator.expire_refresh_token(cached)
    else:
        make_stale(cache, cached)
    proc = run_role(role_play, app_env, "partnercenter_token_cache_path=%s" % cache)
    message = the_message(proc)
    assert message.startswith("partnercenter_auth: Entra ID refused the refresh token kept in the token cache file "
                              "%s: invalid_grant: " % cache), message
    assert ("AADSTS700082" if how == "expired" else "AADSTS9002313") in message, message
    assert message.endswith(": run playbooks/consent.yml again with this token cache (or partnercenter_consent) "
                            "so that an admin agent signs in anew with MFA and the cache gets a new refresh "
                            "token"), message
    # Before, a stale one was "malformed or not for this app: check partnercenter_refresh_token", a variable never set.
    assert "refresh_token" not in message.replace(cache, "") and "REFRESH_TOKEN" not in message, message
    assert "(role variables, or the matching" not in message, message
    no_secret(proc, cached, STALE, emulator.client_secret, emulator._initial_refresh_token)


@pytest.mark.parametrize("given", ["role variable", "environment variable", "both"])
def test_a_refused_refresh_token_names_the_variable_that_gave_it(emulator, app_env, role_play, given):
    token = emulator._initial_refresh_token
    emulator.expire_refresh_token(token)
    env = dict(app_env, PARTNERCENTER_REFRESH_TOKEN=token) if given != "role variable" else app_env
    extra = ["partnercenter_refresh_token=%s" % token] if given != "environment variable" else []
    message = the_message(run_role(role_play, env, *extra))
    # Both set (to the same value): the role passed its variable, which wins over the environment.
    named = "PARTNERCENTER_REFRESH_TOKEN (environment variable)" if given == "environment variable" else \
        "partnercenter_refresh_token (role variable)"
    assert message.startswith("partnercenter_auth: Entra ID refused the refresh token of %s: invalid_grant: the "
                              "refresh token expired (unused for 90 days) (AADSTS700082): an admin agent must consent "
                              "again with MFA: run playbooks/consent.yml" % named), message
    assert message.endswith("or put a new refresh token in %s" % named.split(" ", 1)[0]), message
    other = "partnercenter_refresh_token" if given == "environment variable" else "PARTNERCENTER_REFRESH_TOKEN"
    assert other not in message and "token cache file" not in message, message


def test_the_refresh_token_given_is_named_when_the_cache_was_refused_first(emulator, app_env, role_play, tmp_path):
    cache = str(tmp_path / "tokens.json")
    cached = fill_cache(emulator, app_env, role_play, cache)
    emulator.expire_refresh_token(cached)
    emulator.expire_refresh_token(emulator._initial_refresh_token)
    proc = run_role(role_play, dict(app_env, PARTNERCENTER_REFRESH_TOKEN=emulator._initial_refresh_token),
                    "partnercenter_token_cache_path=%s" % cache)
    message = the_message(proc)
    assert "refused the refresh token of PARTNERCENTER_REFRESH_TOKEN (environment variable)" in message, message
    assert message.endswith("; the refresh token kept in the token cache file %s was refused too" % cache), message
    no_secret(proc, cached, emulator._initial_refresh_token, emulator.client_secret)


def test_a_working_refresh_token_given_is_used_when_the_cache_is_stale(emulator, app_env, role_play, tmp_path):
    cache = str(tmp_path / "tokens.json")
    make_stale(cache, fill_cache(emulator, app_env, role_play, cache))
    emulator.add_refresh_token("fresh-refresh-token-from-a-new-consent")
    proc = run_role(role_play, dict(app_env, PARTNERCENTER_REFRESH_TOKEN="fresh-refresh-token-from-a-new-consent"),
                    "partnercenter_token_cache_path=%s" % cache)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.parametrize("given", ["role variable", "environment variable"])
def test_a_refused_client_secret_names_the_variable_that_gave_it(emulator, pc_env, role_play, given):
    wrong = "wrong-client-secret-value-0123456789"
    if given == "role variable":
        proc = run_role(role_play, pc_env, "partnercenter_client_secret=%s" % wrong)
        named = "partnercenter_client_secret (role variable)"
    else:
        proc = run_role(role_play, dict(pc_env, PARTNERCENTER_CLIENT_SECRET=wrong))
        named = "PARTNERCENTER_CLIENT_SECRET (environment variable)"
    message = the_message(proc)
    assert message.startswith("partnercenter_auth: Entra ID refused the client secret of %s: invalid_client: the "
                              "client secret was rejected: renew partnercenter_client_secret for the app registration "
                              "(AADSTS7000215)" % named), message
    no_secret(proc, wrong, emulator.client_secret, emulator._initial_refresh_token)


def test_missing_credentials_still_name_the_variables_and_their_environment(emulator, app_env, role_play):
    message = the_message(run_role(role_play, app_env))
    assert "missing partnercenter_refresh_token (or a partnercenter_token_cache_path filled by" in message, message
    assert message.endswith("(role variables, or the matching PARTNERCENTER_* environment variables)"), message


@pytest.mark.parametrize("given", ["option", "environment variable"])
def test_the_token_module_names_its_option_or_environment_variable(emulator, run_module, pc_env, given):
    token = emulator._initial_refresh_token
    emulator.expire_refresh_token(token)
    args, env = {}, dict(pc_env)
    if given == "option":
        args["refresh_token"] = token
        del env["PARTNERCENTER_REFRESH_TOKEN"]
        named = "refresh_token (option)"
    else:
        named = "PARTNERCENTER_REFRESH_TOKEN (environment variable)"
    run = run_module("partnercenter.autopilot.partnercenter_token", args, env=env)
    assert run.result["failed"], run
    assert run.result["msg"].startswith("Entra ID refused the refresh token of %s: invalid_grant" % named), run
    assert token not in run.stdout and token not in str(run.result)
