"""Run real ansible-playbook processes against the emulator and read back what the module returned."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(ROOT, ".build", "collections")

MODULE_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Module under test
      {module}: {args}
      register: result
      ignore_errors: true
    - name: Hand the result to the test
      ansible.builtin.copy:
        content: "{{{{ result | to_json }}}}"
        dest: "{{{{ result_path }}}}"
        mode: "0600"
      check_mode: false
      diff: false
"""


class Run:
    def __init__(self, proc, result):
        self.rc, self.stdout, self.result = proc.returncode, proc.stdout, result

    def __repr__(self):
        return "Run(rc=%s)\n%s" % (self.rc, self.stdout[-4000:])


def ansible_env(base):
    env = dict(base)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "PATH": BIN + os.pathsep + base.get("PATH", ""),
    })
    return env


def run_playbook(playbook, env, extra_vars=None, args=(), inventory=None, timeout=600):
    cmd = [os.path.join(BIN, "ansible-playbook"), playbook]
    if inventory:
        cmd += ["-i", inventory]
    if extra_vars:
        cmd += ["-e", "@" + extra_vars]
    cmd += list(args)
    return subprocess.run(cmd, cwd=ROOT, env=ansible_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def run_module(tmp_path, pc_env):
    """run_module(name, args, check=False, diff=False, env=None, verbosity=0) -> Run with .result."""
    counter = {"n": 0}

    def _run(module, module_args, check=False, diff=False, env=None, verbosity=0):
        counter["n"] += 1
        n = counter["n"]
        play = tmp_path / ("play%d.yml" % n)
        # Arguments are written into the play as JSON (valid YAML), the way a user writes them, not templated.
        play.write_text(MODULE_PLAY.format(module=module, args=json.dumps(module_args)))
        result_path = tmp_path / ("result%d.json" % n)
        extra = tmp_path / ("vars%d.json" % n)
        extra.write_text(json.dumps({"result_path": str(result_path)}))
        args = (["--check"] if check else []) + (["--diff"] if diff else []) + (["-" + "v" * verbosity] if verbosity else [])
        proc = run_playbook(str(play), env or pc_env, str(extra), args)
        result = json.loads(result_path.read_text()) if result_path.exists() else None
        run = Run(proc, result)
        assert proc.returncode == 0, run
        return run
    return _run
