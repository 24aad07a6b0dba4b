"""Write each module's EXAMPLES as a playbook, so they can be linted (make lint) and run (tests/integration).

    python tools/examples.py OUTPUT-DIRECTORY

One file per module, OUTPUT-DIRECTORY/<module>.yml: a play on localhost whose tasks are the examples.
"""
import ast
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAY = """---
- name: Examples of {module}
  hosts: localhost
  gather_facts: false
  tasks:
{tasks}
"""


def examples(path):
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES":
            return node.value.value
    raise SystemExit("%s has no EXAMPLES" % path)


def write(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))):
        module = os.path.basename(path)[:-3]
        tasks = "\n".join(("    " + line).rstrip() for line in examples(path).strip("\n").splitlines())
        target = os.path.join(out_dir, module + ".yml")
        with open(target, "w") as handle:
            handle.write(PLAY.format(module=module, tasks=tasks))
        written.append(target)
    return written


if __name__ == "__main__":
    for name in write(sys.argv[1]):
        print(name)
