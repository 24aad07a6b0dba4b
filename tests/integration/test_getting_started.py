"""The README's hands-on sections run as a person runs them, against the emulator, so that they cannot drift.

- "Getting started with your tenants": every command of its ```sh blocks, in order, each in bash under a terminal
  at the repository root, in the state the commands before left (what they exported, as in one shell), with a
  home directory of its own and no ANSIBLE_* variable (the root's ansible.cfg finds the collection). The
  emulator's tenant, app id and secret replace the `...` of the export lines; its addresses are set as
  PARTNERCENTER_BASE_URL, PARTNERCENTER_AUTHORITY and PARTNERCENTER_CA_PATH, the only difference to the real
  services. consent.yml's hidden prompt gets the address a browser lands on after signing in at the address it
  printed.
- "Try it by hand against the emulator": `make emulator` (its EMULATOR_DIR in the test's directory), the export
  lines it prints as the starting state, then every command of the section; the browser step is the section's
  own curl line, run with the address consent.yml printed.
- In both, only `-e report_dir=...` is added to the register_devices.yml commands, so that the repository's
  reports/ is left alone.
- "From the repository root, and outside this checkout": its commands from the root with no ANSIBLE_* variable
  (ansible-doc of partnercenter_device_batch and the syntax check of consent.yml among them), and the built
  collection installed with the README's command and used from outside the checkout.
- "Running at scale in AWX": docs/awx-credential-type.yml injected as AWX injects a credential (file and
  environment injectors rendered in Jinja's sandbox), with each of its alternatives: client secret and refresh
  token; certificate, refresh token, token cache and journal; certificate and token cache alone.
"""
import fcntl
import json
import os
import pty
import re
import select
import shlex
import signal
import stat
import subprocess
import tarfile
import tempfile
import termios
import time
import types

import jinja2
import jinja2.sandbox
import requests
import yaml

from tests.emulator import DEMO_REFRESH_TOKEN, make_client_certificate
from tests.helpers import CUSTOMER
from tests.playbooks import BIN, ROOT

README = os.path.join(ROOT, "README.md")
CREDENTIAL_TYPE = os.path.join(ROOT, "docs", "awx-credential-type.yml")
GETTING_STARTED = "Getting started with your tenants"
BY_HAND = "Try it by hand against the emulator"
FROM_THE_ROOT = "From the repository root, and outside this checkout"
AWX = "Running at scale in AWX / Ansible Automation Platform"
PROMPT = "Paste the whole address the browser landed on"
AUTHORIZE = re.compile(r"https://\S+/oauth2/v2\.0/authorize\?[^\s\"']+")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLLECTION_IN_CHECKOUT = os.path.join(".build", "collections", "ansible_collections", "partnercenter", "autopilot")


# ----- the README ----------------------------------------------------------------------------------------
def section(title):
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    found = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), text, re.M | re.S)
    assert found, "README.md has no section %r" % title
    return found.group(1)


def sh_blocks(title):
    blocks = re.findall(r"^```sh\n(.*?)^```$", section(title), re.M | re.S)
    assert blocks, "no ```sh block in README section %r" % title
    return blocks


def commands(block):
    """A block's commands: each line, or the whole block when it holds a here-document."""
    if "<<" in block:
        return [block]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def with_report_dir(command, report_dir):
    """The one change made to the README's commands: register_devices.yml writes its report under the test."""
    if "playbooks/register_devices.yml" not in command or "report_dir" in command:
        return command
    return command.rstrip() + " -e report_dir=" + shlex.quote(str(report_dir))


# ----- a person at a terminal ----------------------------------------------------------------------------
def base_env(home):
    """A fresh login's environment: a home of its own, and no ANSIBLE_*, PARTNERCENTER_* or make variable."""
    os.makedirs(str(home), exist_ok=True)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TERM": "xterm"}
    for name in ("TMPDIR", "USER", "LOGNAME"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _controlling_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def in_terminal(argv, env, browse=None, timeout=300):
    """argv under a terminal at the repository root. When consent.yml's hidden prompt comes, the address it
    printed is handed to browse() and what that returns is typed in. Returns (returncode, output without colours,
    whether the prompt was answered)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=_controlling_terminal)  # pylint: disable=subprocess-popen-preexec-fn
    os.close(slave)
    shown, answered, deadline = b"", False, time.time() + timeout
    try:
        while True:
            assert time.time() < deadline, "%s still running after %d s:\n%s" % (argv, timeout, shown[-3000:])
            ready = select.select([master], [], [], 0.2)[0]
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the command ended and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
            text = ANSI.sub("", shown.decode("utf-8", "replace"))
            # Typed once the prompt is shown and the terminal no longer echoes, as a person would.
            if not answered and PROMPT in text and not termios.tcgetattr(master)[3] & termios.ECHO:
                assert browse, "an unexpected prompt:\n%s" % text[-3000:]
                os.write(master, browse(AUTHORIZE.findall(text)[-1]).encode() + b"\r")
                answered = True
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    return proc.returncode, ANSI.sub("", shown.decode("utf-8", "replace")).replace("\r\n", "\n"), answered


class Terminal:
    """One shell session, command after command: each runs in bash in the state the ones before exported."""

    def __init__(self, directory, env, browse=None):
        self.directory, self.env, self.browse = str(directory), env, browse
        self.state = os.path.join(self.directory, "exported.sh")
        self.count = 0

    def start_from(self, lines):
        with open(self.state, "w") as handle:
            handle.write("\n".join(lines) + "\n")

    def run(self, command, timeout=300):
        self.count += 1
        script = os.path.join(self.directory, "command%02d.sh" % self.count)
        state = shlex.quote(self.state)
        with open(script, "w") as handle:
            handle.write("set -e -o pipefail\nif [ -f %s ]; then . %s; fi\ncd %s\n%s\nexport -p > %s\n"
                         % (state, state, shlex.quote(ROOT), command, state))
        rc, output, answered = in_terminal(["bash", script], self.env, self.browse, timeout)
        return types.SimpleNamespace(command=command, rc=rc, output=output, answered=answered)

    def exported(self, name):
        proc = subprocess.run(["bash", "-c", '. %s; printf %%s "${%s-}"' % (shlex.quote(self.state), name)],
                              env=self.env, stdout=subprocess.PIPE, text=True, check=True)
        return proc.stdout


def recap(output):
    """localhost's counts in the last PLAY RECAP of the output."""
    lines = [line for line in output.splitlines() if line.startswith("localhost") and "changed=" in line]
    assert lines, "no PLAY RECAP in:\n%s" % output[-3000:]
    return dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", lines[-1]))


def writes_of(log):
    return [e for e in log if e["method"] in ("POST", "PATCH", "PUT", "DELETE") and e["path"].startswith("/v1/")]


def readme_inventory(block, customers):
    """The inventory file a here-document of the README writes: its path, and {customer id: serial numbers}, the
    customers named by tenant id, or by domain or company name as the emulator's customer list has them."""
    found = re.search(r"cat > (\S+) <<'EOF'\n(.*?)^EOF$", block, re.M | re.S)
    assert found, block
    devices, tenant = {}, {}
    for customer in customers:
        profile = customer["companyProfile"]
        for name in (customer["id"], profile["domain"], profile["companyName"]):
            tenant[name.lower()] = customer["id"]

    def named(variables, customer):
        reference = variables.get("partnercenter_customer_id") or variables.get("partnercenter_customer")
        return tenant.get(str(reference).lower(), reference) if reference else customer

    def walk(group, customer=None):
        customer = named(group.get("vars") or {}, customer)
        for host in (group.get("hosts") or {}).values():
            devices.setdefault(named(host, customer), []).append(host["autopilot_serial_number"])
        for child in (group.get("children") or {}).values():
            walk(child or {}, customer)
    walk(yaml.safe_load(found.group(2))["autopilot_devices"])
    return found.group(1), devices


# ----- Getting started with your tenants -----------------------------------------------------------------
def test_getting_started_runs_as_written(emulator, tmp_path):
    home, reports = tmp_path / "home", tmp_path / "reports"
    env = base_env(home)
    env.update(PARTNERCENTER_BASE_URL=emulator.url, PARTNERCENTER_AUTHORITY=emulator.authority,
               PARTNERCENTER_CA_PATH=emulator.ca_path)
    values = {"PARTNERCENTER_TENANT_ID": emulator.tenant_id, "PARTNERCENTER_CLIENT_ID": emulator.client_id,
              "PARTNERCENTER_CLIENT_SECRET": emulator.client_secret}
    filled = set()

    def fill(match):
        filled.add(match.group(1))
        return "export %s=%s" % (match.group(1), shlex.quote(values[match.group(1)]))

    def browse(url):  # a browser: the sign-in ends in a redirect, whose address is what the person copies
        answer = requests.get(url, verify=emulator.ca_path, allow_redirects=False, timeout=30)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    blocks = [re.sub(r"^export (%s)=\.\.\.(?=\s|$)" % "|".join(values), fill, b, flags=re.M)
              for b in sh_blocks(GETTING_STARTED)]
    assert filled == set(values), "the section sets %s with ... placeholders" % sorted(values)
    assert "PARTNERCENTER_REFRESH_TOKEN" not in "".join(blocks)  # the consent stands in for it
    [inventory_block] = [b for b in blocks if "<<'EOF'" in b]
    inventory_path, devices = readme_inventory(inventory_block, emulator.customer_list())
    serials = [serial for customer in devices.values() for serial in customer]
    assert serials and None not in devices, devices

    terminal = Terminal(tmp_path, env, browse)
    done = []
    for command in [c for b in blocks for c in commands(b)]:
        emulator.clear_log()
        run = terminal.run(with_report_dir(command, reports))
        assert run.rc == 0, "%s\n%s" % (command, run.output[-4000:])
        if "playbooks/consent.yml" in command:
            # The admin agent signed in; the code was exchanged once; the tokens are in the token cache.
            assert run.answered and "Signed in as admin@partner.example" in run.output, run.output[-3000:]
            [exchange] = emulator.token_requests()
            assert exchange["body"]["grant_type"] == "authorization_code"
            cache = os.path.expanduser(terminal.exported("PARTNERCENTER_TOKEN_CACHE_PATH").replace(
                "~", str(home), 1))
            assert cache.startswith(str(home)) and stat.S_IMODE(os.stat(cache).st_mode) == 0o600
            done.append("consent")
        elif "playbooks/register_devices.yml" in command and "--check" in command:
            # Read and planned, nothing sent; the summary line the README quotes; --diff names each device.
            assert emulator.writes() == [], emulator.writes()
            assert "%d devices of %d customer: 0 failed, %d would be added (check mode: nothing was sent)" % (
                len(serials), len(devices), len(serials)) in run.output
            assert all('"%s"' % serial in run.output for serial in serials), run.output[-3000:]
            assert recap(run.output)["changed"] >= 1
            done.append("check")
        elif "playbooks/register_devices.yml" in command and "register" not in done:
            # The batch is created with the inventory's devices, with the tokens of the consent's cache.
            assert emulator.writes() and recap(run.output)["changed"] >= 1
            for customer, customer_serials in devices.items():
                registered = sorted(d["serialNumber"] for d in emulator.batch_devices(customer))
                assert registered == sorted(customer_serials), (customer, registered)
            assert not [t for t in emulator.token_requests() if t["body"].get("refresh_token") == DEMO_REFRESH_TOKEN]
            assert os.path.exists(str(reports / "autopilot-report.html"))
            done.append("register")
        elif "playbooks/register_devices.yml" in command:
            assert emulator.writes() == [] and recap(run.output)["changed"] == 0, run.output[-3000:]
            done.append("again")
    assert done == ["consent", "check", "register", "again"], done
    assert os.path.exists(os.path.expanduser(inventory_path.replace("~", str(home), 1)))


# ----- Try it by hand against the emulator ---------------------------------------------------------------
def start_make_emulator(env, directory, timeout=120):
    """`make emulator` as the README runs it (EMULATOR_DIR in the test's directory): the process and the export
    lines it printed."""
    proc = subprocess.Popen(["make", "--no-print-directory", "emulator", "EMULATOR_DIR=%s" % directory], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines, deadline = [], time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("# Then"):
            return proc, [line for line in lines if line.startswith("export ")]
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("make emulator printed no export lines:\n%s" % "\n".join(lines))


def test_try_it_by_hand_runs_as_written(tmp_path):
    blocks = sh_blocks(BY_HAND)
    assert blocks[0].strip() == "make emulator", blocks[0]
    [curl] = [b.strip() for b in blocks if b.lstrip().startswith("curl ")]
    placeholders = re.findall(r"'https://[^']*'", curl)
    assert len(placeholders) == 1, curl
    env = base_env(tmp_path / "home")
    directory = tmp_path / "emulator"
    proc, exports = start_make_emulator(env, directory)
    try:
        exported = dict(shlex.split(line[len("export "):])[0].split("=", 1) for line in exports
                        if not line.startswith("export PATH="))
        # Every variable the section names, pointing at this emulator and its directory.
        for name in re.findall(r"`(PARTNERCENTER_[A-Z_]+)`", section(BY_HAND)):
            assert name in exported, (name, exports)
        assert exported["PARTNERCENTER_REFRESH_TOKEN"] == DEMO_REFRESH_TOKEN
        assert os.path.dirname(exported["PARTNERCENTER_TOKEN_CACHE_PATH"]) == str(directory)
        assert any(line.startswith("export PATH=") for line in exports)
        url, ca_path = exported["PARTNERCENTER_BASE_URL"], exported["PARTNERCENTER_CA_PATH"]
        exports_file = tmp_path / "exports.sh"
        exports_file.write_text("\n".join(exports) + "\n")

        def log():
            return requests.get(url + "/_emulator/log", verify=ca_path, timeout=30).json()

        def browse(address):  # the third terminal: the export lines pasted, the section's curl line
            line = curl.replace(placeholders[0], shlex.quote(address))
            answer = subprocess.run(["bash", "-c", ". %s\n%s" % (shlex.quote(str(exports_file)), line)], cwd=ROOT,
                                    env=env, stdout=subprocess.PIPE, text=True, timeout=60, check=True)
            assert answer.stdout.startswith("http://localhost/?code="), answer.stdout
            return answer.stdout.strip()

        terminal = Terminal(tmp_path, env, browse)
        terminal.start_from(exports)
        done = []
        for command in [c for b in blocks[1:] if b.strip() != curl for c in commands(b)]:
            before = len(log())
            run = terminal.run(with_report_dir(command, tmp_path / "reports"))
            assert run.rc == 0, "%s\n%s" % (command, run.output[-4000:])
            new = log()[before:]
            if "playbooks/consent.yml" in command:
                assert run.answered and "Signed in as admin@partner.example" in run.output, run.output[-3000:]
                assert stat.S_IMODE(os.stat(exported["PARTNERCENTER_TOKEN_CACHE_PATH"]).st_mode) == 0o600
                done.append("consent")
            elif "playbooks/register_devices.yml" in command and not done:
                assert writes_of(new) and recap(run.output)["failed"] == 0
                state = requests.get(url + "/_emulator/state", verify=ca_path, timeout=30).json()
                assert sum(len(b["devices"]) for c, batches in state.items() if c != "policies"
                           for b in batches.values()) >= 5, state
                done.append("register")
            elif "playbooks/register_devices.yml" in command:
                # After the consent, without PARTNERCENTER_REFRESH_TOKEN: the token cache alone, nothing to do.
                assert "consent" in done and writes_of(new) == [] and recap(run.output)["changed"] == 0
                assert not [e for e in new if e["path"].endswith("/token")
                            and (e["body"] or {}).get("refresh_token") == DEMO_REFRESH_TOKEN]
                done.append("again")
            elif "playbooks/batch_status.yml" in command:
                assert "contoso-2026-11" in run.output and writes_of(new) == []
                done.append("status")
            elif command.startswith("unset "):
                assert terminal.exported("PARTNERCENTER_REFRESH_TOKEN") == ""
                done.append("unset")
        assert done == ["register", "status", "unset", "consent", "again"], done
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        proc.wait(timeout=30)


# ----- From the repository root, and outside this checkout ------------------------------------------------
def test_from_the_repository_root_with_no_ansible_variable(tmp_path):
    env = base_env(tmp_path / "home")
    env["PATH"] = BIN + os.pathsep + env["PATH"]
    assert not [name for name in env if name.startswith("ANSIBLE_")]
    doc = subprocess.run([os.path.join(BIN, "ansible-doc"), "partnercenter.autopilot.partnercenter_device_batch"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    assert doc.returncode == 0, doc.stdout
    assert os.path.join(ROOT, COLLECTION_IN_CHECKOUT, "plugins", "modules") in doc.stdout  # the checkout's
    syntax = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "playbooks/consent.yml"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=120, check=False)
    assert syntax.returncode == 0, syntax.stdout
    # The section's first block, as written.
    for command in commands(sh_blocks(FROM_THE_ROOT)[0]):
        proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
        assert proc.returncode == 0 and "[ERROR]" not in proc.stdout, (command, proc.stdout[-3000:])


def test_the_built_collection_installed_as_documented_works_outside_the_checkout(emulator, tmp_path):
    # make collection-tarball runs this build (with .venv-lint's ansible-galaxy): galaxy.yml's build_ignore
    # leaves out the checkout's ansible.cfg and ansible-lint's .ansible cache.
    dist = tmp_path / "dist"
    env = base_env(tmp_path / "home")
    env["PATH"] = BIN + os.pathsep + env["PATH"]
    build = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(dist),
                            ROOT], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300, check=False)
    assert build.returncode == 0, build.stdout
    [tarball] = os.listdir(str(dist))
    with tarfile.open(str(dist / tarball)) as archive:
        names = archive.getnames()
    assert "ansible.cfg" not in names and not [n for n in names if n.split("/")[0] == ".ansible"], names
    # The README's install command, from the repository root, with the tarball from this build.
    [install] = [c for b in sh_blocks(FROM_THE_ROOT) for c in commands(b)
                 if c.startswith("ansible-galaxy collection install")]
    assert ".build/dist/%s" % tarball in install, (install, tarball)
    proc = subprocess.run(["bash", "-c", install.replace(".build/dist/", str(dist) + "/")], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    installed = os.path.join(env["HOME"], ".ansible", "collections", "ansible_collections", "partnercenter",
                             "autopilot")
    assert proc.returncode == 0 and os.path.isfile(os.path.join(installed, "MANIFEST.json")), proc.stdout
    assert os.path.realpath(os.path.join(ROOT, COLLECTION_IN_CHECKOUT)) == os.path.realpath(ROOT)  # link kept
    # Outside the checkout: the installed collection, its modules' documentation and its playbooks by name.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    doc = subprocess.run(["ansible-doc", "partnercenter.autopilot.partnercenter_device_batch"], cwd=str(elsewhere),
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    assert doc.returncode == 0 and installed in doc.stdout, doc.stdout[:2000]
    inventory = elsewhere / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"autopilot_devices": {"hosts": {"laptop-01": {
        "partnercenter_customer_id": CUSTOMER, "partnercenter_batch_id": "installed",
        "autopilot_serial_number": "INST-0001", "autopilot_manufacturer": "HP", "autopilot_model": "EliteBook"}}}}))
    env.update(PARTNERCENTER_BASE_URL=emulator.url, PARTNERCENTER_AUTHORITY=emulator.authority,
               PARTNERCENTER_CA_PATH=emulator.ca_path, PARTNERCENTER_TENANT_ID=emulator.tenant_id,
               PARTNERCENTER_CLIENT_ID=emulator.client_id, PARTNERCENTER_CLIENT_SECRET=emulator.client_secret,
               PARTNERCENTER_REFRESH_TOKEN=DEMO_REFRESH_TOKEN, ANSIBLE_NOCOLOR="1")
    play = subprocess.run(["ansible-playbook", "-i", str(inventory), "partnercenter.autopilot.register_devices",
                           "--check", "-e", "report_dir=%s" % (elsewhere / "reports")], cwd=str(elsewhere), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert play.returncode == 0, play.stdout[-4000:]
    assert "1 device of 1 customer" in play.stdout or "1 devices of 1 customer" in play.stdout, play.stdout[-3000:]
    assert os.path.isfile(str(elsewhere / "reports" / "autopilot-report.html")) and emulator.writes() == []


# ----- the AWX credential type ---------------------------------------------------------------------------
def load_credential_type():
    with open(CREDENTIAL_TYPE) as handle:
        return yaml.safe_load(handle)


def awx_inject(credential_type, inputs, private_data_dir):
    """The environment a job gets from a credential of this type, as AWX's inject_credential makes it
    (awx_plugins.interfaces' injectors, read at 0.0.1a10): empty inputs left out of the namespace, every file
    template written (0600, in the job's env/ directory) and named in tower.filename, every env template rendered
    in an ImmutableSandboxedEnvironment (an undefined name renders empty)."""
    namespace = dict((k, v) for k, v in inputs.items() if v)
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment()
    env_dir = os.path.join(str(private_data_dir), "env")
    os.makedirs(env_dir, exist_ok=True)
    single, files = None, {}
    for label, template in credential_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." in label:
            files[label.split(".", 1)[1]] = path
        else:
            single = path
    namespace["tower"] = types.SimpleNamespace(filename=single or types.SimpleNamespace(**files))
    return dict((name, sandbox.from_string(template).render(**namespace))
                for name, template in credential_type["injectors"]["env"].items())


CREDENTIAL_PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - partnercenter.autopilot.partnercenter_auth
  module_defaults:
    group/partnercenter.autopilot.partnercenter:
      access_token: "{{ partnercenter_access_token | default(omit) }}"
  tasks:
    - name: Register one device
      partnercenter.autopilot.partnercenter_device_batch:
        customer_id: %s
        batch_id: awx-credential
        devices: [{serial_number: "{{ serial }}", manufacturer: HP, model: EliteBook}]
        poll_interval: 0.2
""" % CUSTOMER


def test_awx_credential_type_fields_and_injectors_match_what_the_collection_reads():
    credential_type = load_credential_type()
    fields = dict((f["id"], f) for f in credential_type["inputs"]["fields"])
    assert set(credential_type["inputs"]["required"]) == {"tenant_id", "client_id"}
    assert all(f["type"] == "string" and f.get("label") for f in fields.values())
    assert all(fields[name].get("secret") for name in ("client_secret", "client_certificate", "refresh_token"))
    # AWX checks the templates against the fields: every name they use is a field (or tower).
    strict = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    files = [label.split(".", 1)[1] for label in credential_type["injectors"].get("file", {})]
    namespace = dict((name, "value") for name in fields)
    namespace["tower"] = types.SimpleNamespace(filename=types.SimpleNamespace(**dict((f, "/path") for f in files)))
    for template in list(credential_type["injectors"]["env"].values()) + list(
            credential_type["injectors"].get("file", {}).values()):
        strict.from_string(template).render(**namespace)
    # Each injected variable is one the modules or the role read, and the README's AWX section names it.
    sources = ""
    for directory in ("plugins", "roles"):
        for base, _dirs, names in os.walk(os.path.join(ROOT, directory)):
            for name in names:
                if name.endswith((".py", ".yml")):
                    with open(os.path.join(base, name), encoding="utf-8") as handle:
                        sources += handle.read()
    awx_section = section(AWX)
    for name in credential_type["injectors"]["env"]:
        assert name in sources and "`%s`" % name in awx_section, name


def test_awx_credential_type_authenticates_with_each_of_its_alternatives(emulator, tmp_path):
    credential_type = load_credential_type()
    play = tmp_path / "play.yml"
    play.write_text(CREDENTIAL_PLAY)
    cert = make_client_certificate(str(tmp_path))
    with open(cert["path"]) as handle:
        pem = handle.read()
    storage = tmp_path / "persistent"  # the volume every job mounts
    cache, journal = storage / "token-cache.json", storage / "upload-journal.json"

    def job(name, inputs):
        private = tmp_path / name
        env = base_env(tmp_path / name / "home")
        env.update(awx_inject(credential_type, dict(inputs, tenant_id=emulator.tenant_id,
                                                    client_id=emulator.client_id), private))
        # Set beside the credential (AWX's extra environment variables): where the services are.
        env.update(PARTNERCENTER_BASE_URL=emulator.url, PARTNERCENTER_AUTHORITY=emulator.authority,
                   PARTNERCENTER_CA_PATH=emulator.ca_path, ANSIBLE_NOCOLOR="1")
        env["PATH"] = BIN + os.pathsep + env["PATH"]
        emulator.clear_log()
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play), "-e", "serial=SN-%s" % name.upper()],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert "SN-%s" % name.upper() in [d["serialNumber"] for d in emulator.batch_devices(CUSTOMER)]
        return env, emulator.token_requests()

    # A client secret and a refresh token: no certificate file is named, no cache is kept.
    env, tokens = job("secret", {"client_secret": emulator.client_secret, "refresh_token": DEMO_REFRESH_TOKEN})
    assert env["PARTNERCENTER_CLIENT_CERTIFICATE_PATH"] == "" and env["PARTNERCENTER_TOKEN_CACHE_PATH"] == ""
    [token] = tokens
    assert token["body"]["client_secret"] == emulator.client_secret and "client_assertion" not in token["body"]

    # A certificate (the PEM text, written to a file of the job), the refresh token, and the token cache and the
    # journal on persistent storage: the assertion is signed with the certificate, the cache and journal written.
    emulator.client_certificate = cert
    env, tokens = job("certificate", {"client_certificate": pem, "refresh_token": DEMO_REFRESH_TOKEN,
                                      "token_cache_path": str(cache), "journal_path": str(journal)})
    with open(env["PARTNERCENTER_CLIENT_CERTIFICATE_PATH"]) as handle:
        assert handle.read() == pem
    [token] = tokens
    assert "client_assertion" in token["body"] and "client_secret" not in token["body"]
    assert stat.S_IMODE(os.stat(str(cache)).st_mode) == 0o600
    with open(str(journal)) as handle:
        assert json.load(handle)["entries"] == []  # written before the upload, emptied once its job finished

    # The certificate and the token cache alone (no refresh token): the cache's sign-in is used.
    env, tokens = job("cache", {"client_certificate": pem, "token_cache_path": str(cache),
                                "journal_path": str(journal)})
    assert env["PARTNERCENTER_REFRESH_TOKEN"] == ""
    assert not [t for t in tokens if t["body"].get("refresh_token") == DEMO_REFRESH_TOKEN]
