"""Stand-in for the get-pip bootstrap script that ansible-test downloads from a host this network cannot reach.

ansible-test runs it inside each fresh virtual environment with pip's install options and the pinned pip
version; ensurepip (bundled with CPython) provides pip, which then installs the pinned version from PyPI.
ensurepip runs in its own process because it points PIP_CONFIG_FILE at /dev/null in the environment it
runs in, which would hide the machine's pip configuration (index, CA bundle) from the install that follows.
"""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + ARGS))
