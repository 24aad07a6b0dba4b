"""`make demo`: start the emulator, run the registration playbook twice, show the results, stop the emulator.

The second run must report changed=0: that is the product's promise (idempotency) shown end to end.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def start_emulator(workdir):
    info = os.path.join(workdir, "emulator.json")
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--workdir", workdir, "--info-file", info,
                             "--queue-seconds", "0.5", "--process-seconds", "1"],
                            cwd=ROOT, stdout=subprocess.DEVNULL)
    for _attempt in range(200):
        if os.path.exists(info):
            with open(info) as handle:
                return proc, json.load(handle)
        if proc.poll() is not None:
            sys.exit("emulator exited with %s" % proc.returncode)
        time.sleep(0.05)
    proc.terminate()
    sys.exit("emulator did not start")


def environment(info, workdir):
    env = dict(os.environ)
    env.update({
        "PARTNERCENTER_BASE_URL": info["url"],
        "PARTNERCENTER_AUTHORITY": info["authority"],
        "PARTNERCENTER_CA_PATH": info["ca_path"],
        "PARTNERCENTER_TENANT_ID": info["tenant_id"],
        "PARTNERCENTER_CLIENT_ID": info["client_id"],
        "PARTNERCENTER_CLIENT_SECRET": info["client_secret"],
        "PARTNERCENTER_REFRESH_TOKEN": info["refresh_token"],
        "PARTNERCENTER_TOKEN_CACHE_PATH": os.path.join(workdir, "token-cache.json"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    return env


def run(cmd, env):
    print("\n$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    print(proc.stdout, flush=True)
    if proc.returncode != 0:
        sys.exit("demo step failed with exit code %d" % proc.returncode)
    return proc.stdout


def emulator_writes(info):
    """Write requests the emulator has seen so far (its log, read through the control endpoint)."""
    import requests  # installed in .venv with the collection's requirements
    log = requests.get(info["url"] + "/_emulator/log", verify=info["ca_path"], timeout=10).json()
    return [e for e in log if e["method"] in ("POST", "PATCH", "PUT", "DELETE") and e["path"].startswith("/v1/")]


def recap_changed(output):
    for line in output.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise SystemExit("no play recap for localhost in the output")


def main():
    workdir = tempfile.mkdtemp(prefix="pc-demo-")
    proc, info = start_emulator(workdir)
    try:
        env = environment(info, workdir)
        inventory = ["-i", "playbooks/inventory/hosts.yml"]
        report = os.path.join(ROOT, "reports")
        first = run(["ansible-playbook", *inventory, "playbooks/register_devices.yml",
                     "-e", "report_dir=%s" % report], env)
        first_writes = emulator_writes(info)
        writes_before = len(first_writes)
        second = run(["ansible-playbook", *inventory, "playbooks/register_devices.yml",
                      "-e", "report_dir=%s" % report], env)
        second_writes = len(emulator_writes(info)) - writes_before
        run(["ansible-playbook", *inventory, "playbooks/batch_status.yml"], env)
        if recap_changed(first) < 1:
            sys.exit("the first run registered nothing")
        created = [w for w in first_writes if w["method"] == "POST" and w["path"].endswith("/policies")]
        assigned = [w for w in first_writes if w["method"] == "PATCH" and w["path"].endswith("/DevicePolicyUpdates")]
        if not created or not assigned:
            sys.exit("the first run created %d profiles and sent %d assignments" % (len(created), len(assigned)))
        if recap_changed(second) != 0 or second_writes != 0:
            sys.exit("the second run changed something (%d writes): idempotency is broken" % second_writes)
        print("Demo passed: first run changed=%d with %d write requests (%d profiles created, %d profile "
              "assignment requests); second run changed=0 with 0 writes. Reports: %s/autopilot-report.csv and "
              ".html" % (recap_changed(first), writes_before, len(created), len(assigned), report))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
