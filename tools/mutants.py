"""Remove each "exactly once" guard in turn and show that the tests catch it (make mutants).

Each mutant is applied to a private copy of the work tree (the real code is never touched, so an interrupted
run leaves nothing broken), the tests named for it run there against the emulator, and the mutant must make
them fail. A mutant whose tests pass is a guard the suite cannot see: this script then exits non-zero.
A mutation whose text is not found also fails: the guard moved and the mutant must follow it.
A failing suite kills its mutant only when its output holds one of the mutant's kill marks (the assertion
message of the test written for that guard). --only SUBSTRING runs the mutants whose name holds it.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICE = "plugins/module_utils/service.py"
GUARDS_ROOM = "plugins/module_utils/guards.py"
ASSIGNMENTS = "plugins/module_utils/assignments.py"
PROFILE_STATE = "plugins/module_utils/profile_state.py"
WIRE = "plugins/module_utils/wire.py"
ERRORS = "plugins/module_utils/errors.py"
MODULE_BASE = "plugins/module_utils/module.py"
BATCH_MODULE = "plugins/modules/partnercenter_device_batch.py"
FAULTS = "tests/reliability/test_faults.py"
KILL = "tests/reliability/test_kill.py"
GUARDS = "tests/reliability/test_guards.py"
UNIT_GUARDS = "tests/unit/plugins/module_utils/test_guards.py"
PROFILE_GUARDS = "tests/integration/test_profile_guards.py"

# Kill marks: a mutant counts as killed only when the failing output holds one of its marks, so that a test
# failing on something else (a timing precondition, a broken fixture) proves nothing.
# How a test says a device was sent twice: assert_converged's message, or the count of writes.
DUPLICATE_MARKS = ("uploaded more than once", "len(emulator.writes()) == 1")
# The assertion messages of the guard tests (tests/*/test_guards.py, tests/integration/test_profile_guards.py).
RESENT_MARKS = ("profile write sent again after a lost answer",)
CHECK_WROTE_MARKS = ("check mode wrote",)
SETTLE_MARKS = ("customer-scope settle did not wait for another batch",)
LEAK_MARKS = ("secret leaked into the error",)
CONCURRENCY_MARKS = ("concurrency out of range was not refused",)
JOURNAL_MARKS = ("check mode created the journal",)

# (name, file, text, replacement, tests that must fail, kill marks: one must appear in each failing output)
MUTANTS = [
    ("settle guard: a batch whose listing says queued/processing is planned against at once",
     SERVICE,
     'and b["status"] in BUSY_STATUSES]',
     "and False]",
     [FAULTS + "::test_another_controllers_upload_still_processing_is_waited_for"],
     DUPLICATE_MARKS),
    ("journal guard: the jobs of this controller's earlier uploads are not waited for",
     GUARDS_ROOM,
     "for entry in run.journal.pending(run.customer, scope):",
     "for entry in []:",
     [FAULTS + "::test_rerun_while_the_job_is_processing_sends_no_device_twice", KILL],
     DUPLICATE_MARKS),
    ("lost-answer wait: only the grace period is waited, as before the journal",
     GUARDS_ROOM,
     "        watch = _LostUpload(run, batch_id, devices, given_up_at + grace, grace)\n",
     "        watch = _LostUpload(run, batch_id, devices, given_up_at + grace, grace)\n"
     "        return run.clock.sleep_until(given_up_at + grace)\n",
     [FAULTS + "::test_lost_answer_while_the_job_outlasts_the_grace_period", KILL],
     DUPLICATE_MARKS),
    ("profile lost answer: a POST or PUT /policies whose answer was lost is sent again at once, unread",
     PROFILE_STATE,
     "found = resolve_lost(lambda: landed(",
     "found = None and resolve_lost(lambda: landed(",
     [PROFILE_GUARDS + "::test_lost_answer_on_profile_post_is_read_back_one_profile",
      PROFILE_GUARDS + "::test_lost_answer_on_profile_put_is_read_back_one_update"],
     RESENT_MARKS),
    ("profile check mode: a create or update is written in check mode",
     PROFILE_STATE,
     "    if check_mode:\n        return result\n",
     "    if False:\n        return result\n",
     [PROFILE_GUARDS + "::test_check_mode_create_writes_nothing_and_shows_the_profile_it_would_create",
      PROFILE_GUARDS + "::test_check_mode_update_writes_nothing_and_shows_before_and_after"],
     CHECK_WROTE_MARKS),
    ("settle scope: match_scope customer settles only the task's own batch",
     GUARDS_ROOM,
     'scope = None if run.p["match_scope"] == "customer" else [run.batch_id]',
     "scope = [run.batch_id]",
     [UNIT_GUARDS + "::test_customer_scope_waits_for_another_batch_still_processing",
      GUARDS + "::test_customer_scope_waits_for_another_batch_of_the_customer_still_processing"],
     SETTLE_MARKS),
    ("redact: error texts keep the secrets they hold (redact() a no-op)",
     ERRORS,
     '            text = text.replace(secret, "********")\n',
     "            pass\n",
     [UNIT_GUARDS + "::test_4xx_body_echoing_the_token_and_a_secret_is_redacted",
      UNIT_GUARDS + "::test_lost_write_answer_echoing_a_secret_is_redacted",
      UNIT_GUARDS + "::test_connection_error_message_holding_a_secret_is_redacted"],
     LEAK_MARKS),
    ("concurrency range: concurrency 0 or 65 is not refused",
     MODULE_BASE,
     '    "concurrency": (1, 64),\n',
     "",
     [GUARDS + "::test_concurrency_out_of_range_is_refused_before_any_request"],
     CONCURRENCY_MARKS),
    ("journal in check mode: check mode opens the journal read-write (its directory and lock file)",
     BATCH_MODULE,
     "read_only=module.check_mode)",
     "read_only=False)",
     [GUARDS + "::test_check_mode_creates_no_journal_file_directory_or_lock"],
     JOURNAL_MARKS),
    ("profile by name: a device whose listing names its profile (recorded answers) is taken as not carrying it",
     ASSIGNMENTS,
     "if carries(item.profile, found.policy_id):",
     'if (found.policy_id or "").lower() == item.profile["id"].lower():',  # the id only, as before the fix
     ["tests/integration/test_profiles.py::test_registration_assigns_the_batch_profile_once[recorded]"],
     ("a re-run assigned the profile again",)),
    ("codes before descriptions: a result's errorCode is ignored when it has no description",
     WIRE,
     "    return CODE_NAMES.get(code) or description or None\n",
     "    return description or None\n",
     ["tests/contract/test_recorded.py"],
     ("806 not read before the description",)),
]


def copy_tree(dest):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           stdout=subprocess.PIPE).stdout.decode().split("\0")
    for name in filter(None, files):
        src = os.path.join(ROOT, name)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, name))
    link = os.path.join(dest, ".build", "collections", "ansible_collections", "partnercenter", "autopilot")
    os.makedirs(os.path.dirname(link))
    os.symlink(dest, link)


def mutate(tree, path, text, replacement):
    target = os.path.join(tree, path)
    with open(target) as handle:
        source = handle.read()
    if source.count(text) != 1:
        raise SystemExit("mutant text not found exactly once in %s: %r - update tools/mutants.py" % (path, text))
    with open(target, "w") as handle:
        handle.write(source.replace(text, replacement))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="SUBSTRING",
                        help="run only the mutants whose name holds SUBSTRING (case-insensitive; repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants' names and exit")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    chosen = [m for m in MUTANTS if not args.only or any(o.lower() in m[0].lower() for o in args.only)]
    if args.list:
        for name, path, _text, _replacement, tests, _marks in chosen:
            print("%s\n  in %s; tests: %s" % (name, path, ", ".join(tests)))
        return 0
    if not chosen:
        print("no mutant's name holds %s; --list shows them" % " or ".join(repr(o) for o in args.only))
        return 2
    survivors = []
    for name, path, text, replacement, tests, marks in chosen:
        tree = tempfile.mkdtemp(prefix="pc-mutant-")
        try:
            copy_tree(tree)
            mutate(tree, path, text, replacement)
            # Every suite named for the mutant must fail on it, each on its own (-x: the first failure is the
            # proof). The copy's own .build links the collection to the copy.
            for suite in tests:
                started = time.time()
                proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", suite],
                                      cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      check=False, env=dict(os.environ, KILL_SEEDS=os.environ.get("KILL_SEEDS", "4")))
                failed = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
                # Killed only by the failure the guard's test names (its kill mark): a timing precondition or
                # a broken fixture failing would prove nothing.
                marked = any(mark in proc.stdout for mark in marks)
                if proc.returncode == 1 and failed and marked:
                    print("mutant killed (%.0f s): %s\n  by %s" % (time.time() - started, name, failed[0][7:]))
                else:
                    survivors.append("%s (%s)" % (name, suite))
                    print("MUTANT SURVIVED (rc %d%s): %s\n  %s\n%s" % (
                        proc.returncode, "" if marked or not failed else ", no kill mark %r" % (marks,), name, suite,
                        proc.stdout[-2000:]))
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    if survivors:
        print("mutants survived these suites, which cannot see the guard: %s" % "; ".join(survivors))
        return 1
    print("all %d mutants killed" % len(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
