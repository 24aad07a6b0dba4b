#!/usr/bin/env bash
# make docs: the collection's documentation site (Sphinx via antsibull-docs) in .build/docs/build/html.
# Usage: tools/docs.sh DIRECTORY-WITH-ANTSIBULL-DOCS (the bin directory of .venv-lint)
# Fails on any Sphinx warning except those caused by having no internet: intersphinx inventories that
# cannot be fetched, and the references into docs.ansible.com that only those inventories resolve.
set -euo pipefail
bin=$(cd "$1" && pwd)
export PATH=$bin:$PATH
root=$(cd "$(dirname "$0")/.." && pwd)
site=$root/.build/docs
export ANSIBLE_COLLECTIONS_PATH=$root/.build/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
rm -rf "$site"
mkdir -p "$site"
antsibull-docs sphinx-init --use-current --lenient --dest-dir "$site" partnercenter.autopilot > /dev/null
(cd "$site" && ./build.sh > build.log 2>&1) || { cat "$site/build.log"; exit 1; }
# Sphinx writes a warning over several lines; each starts with a line containing "WARNING:".
offline='failed to reach any of the inventories|undefined label: .(action_plugins|common_return_values|ansible_configuration_settings).|.envvar. reference target not found: ANSIBLE_'
unexpected=$(grep 'WARNING:' "$site/build.log" | grep -Ev "$offline" | grep -v "Using locale" || true)
if [ -n "$unexpected" ]; then
  echo "Sphinx warnings:"; echo "$unexpected"; exit 1
fi
# Every module, filter and role (with each entry point) has its page.
html=$site/build/html/collections/partnercenter/autopilot
missing=0
for f in "$root"/plugins/modules/*.py "$root"/plugins/filter/*.py; do
  kind=$(basename "$(dirname "$f")"); kind=${kind%s}
  page=$html/$(basename "$f" .py)_$kind.html
  [ -f "$page" ] || { echo "no page for $f"; missing=1; }
done
for role in "$root"/roles/*/; do
  page=$html/$(basename "$role")_role.html
  [ -f "$page" ] || { echo "no page for role $(basename "$role")"; missing=1; continue; }
  for entry in $("$bin/python" -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["argument_specs"]))' \
                 "$role/meta/argument_specs.yml"); do
    grep -q "Entry point <code class=\"docutils literal notranslate\"><span class=\"pre\">$entry</span>" "$page" \
      || { echo "role $(basename "$role"): no entry point $entry on its page"; missing=1; }
  done
done
[ "$missing" = 0 ]
echo "Docs site: $site/build/html/index.html"
