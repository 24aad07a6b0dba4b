#!/usr/bin/env bash
# What Galaxy, Automation Hub and AWX check of a release, run here without containers (part of make lint):
# the built tarball through galaxy-importer, the collection docs through antsibull-docs' linter, every
# module's EXAMPLES through ansible-lint (tests/integration/test_examples.py runs them), the
# changelog through antsibull-changelog, and the execution environment through ansible-builder create plus
# the image's galaxy install step run in the build context.
# Usage: tools/release-checks.sh BIN-DIRECTORY-OF-.venv-lint
set -euo pipefail
bin=$(cd "$1" && pwd)
export PATH=$bin:$PATH
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/.build
export ANSIBLE_COLLECTIONS_PATH=$build/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
version=$("$bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$root/galaxy.yml")
tarball=$build/dist/partnercenter-autopilot-$version.tar.gz

echo "== antsibull-docs lint-collection-docs"
(cd "$build/collections/ansible_collections/partnercenter/autopilot" &&
  antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all .)

echo "== ansible-lint on every module's EXAMPLES"
# Outside the repository: ansible-lint skips what git ignores, and .build is ignored.
examples=$(mktemp -d "${TMPDIR:-/tmp}/partnercenter-autopilot-examples.XXXXXX")
trap 'rm -rf "$examples"' EXIT
python "$root/tools/examples.py" "$examples/examples" > /dev/null
(cd "$examples" && git init -q && ansible-lint --profile production --nocolor -q examples)

echo "== antsibull-changelog lint"
(cd "$root" && antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml)
if [ -f "$root/CHANGELOG.rst" ]; then
  # CHANGELOG.rst is generated from changelogs/changelog.yaml; a hand edit or a forgotten regeneration fails.
  (cd "$root" && cp CHANGELOG.rst "$build/CHANGELOG.rst.before" && antsibull-changelog generate &&
    diff -u "$build/CHANGELOG.rst.before" CHANGELOG.rst)
fi

echo "== ansible-galaxy collection build + galaxy-importer"
rm -rf "$build/dist" && mkdir -p "$build/dist"
ansible-galaxy collection build --output-path "$build/dist" "$root" > /dev/null
(cd "$build/dist" && GALAXY_IMPORTER_CONFIG=$root/tools/galaxy-importer.cfg python -m galaxy_importer.main "$tarball" \
  > importer.log 2>&1) || { cat "$build/dist/importer.log"; exit 1; }
if grep -E 'WARNING|ERROR' "$build/dist/importer.log"; then exit 1; fi
tail -1 "$build/dist/importer.log"

echo "== ansible-builder create + the image's galaxy step"
rm -rf "$build/ee" "$build/ee-collections"
(cd "$root" && ansible-builder create -f execution-environment.yml -c "$build/ee" > /dev/null)
(cd "$build/ee/_build" && ANSIBLE_COLLECTIONS_PATH=$build/ee-collections \
  ansible-galaxy collection install --force -r requirements.yml -p "$build/ee-collections" > /dev/null)
installed=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
  "$build/ee-collections/ansible_collections/partnercenter/autopilot/MANIFEST.json")
[ "$installed" = "$version" ] || { echo "the execution environment would install $installed, not $version"; exit 1; }
echo "execution environment installs partnercenter.autopilot $installed"
