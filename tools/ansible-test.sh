#!/usr/bin/env bash
# ansible-test on a copy of the collection at .../ansible_collections/partnercenter/autopilot.
# Usage: tools/ansible-test.sh PATH-TO-ANSIBLE-TEST sanity|units [extra ansible-test args]
# The copy lives outside this repository: inside it, git would hide the copy (it is ignored) from ansible-test.
set -euo pipefail
ansible_test=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift
command=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
version=$("$(dirname "$ansible_test")/python" -c 'import ansible; print(ansible.__version__)')
# A directory of its own per run: two runs sharing one would delete each other's copy.
work=$(mktemp -d "${TMPDIR:-/tmp}/partnercenter-autopilot-$command-$version.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/partnercenter/autopilot
# ansible-test bootstraps pip in each test venv with a script from a host this network cannot reach;
# tools/get_pip_offline.py does the same from ensurepip and PyPI.
pip_version=$("$(dirname "$ansible_test")/python" - <<'PY'
import inspect, re
import ansible_test._internal.python_requirements as m
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(m)).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tools/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$dest"
(cd "$root" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$dest"
cd "$dest"
git init -q && git add -A  # ansible-test lists targets with git when there is a repository
case $command in
  # Sanity and unit tests run in virtual environments ansible-test makes and fills with their pinned
  # requirements (tests/unit/requirements.txt for units), leaving .venv as it is.
  sanity) "$ansible_test" sanity --local --requirements --python 3.11 "$@" ;;
  units) "$ansible_test" units --venv --requirements --python 3.11 "$@" ;;
  *) echo "unknown ansible-test command: $command" >&2; exit 2 ;;
esac
