"""Run real ansible-playbook processes against the emulator and read back what the module returned."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def descendants(pid):
    """pid and every process below it, from /proc (Linux); ansible runs modules in processes of their own."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found
