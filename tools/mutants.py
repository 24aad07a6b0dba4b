"""Remove each "exactly once" guard in turn and show that the tests catch it (make mutants).

Each mutant is applied to a private copy of the work tree (the real code is never touched, so an interrupted
run leaves nothing broken), the tests named for it run there against the emulator, and the mutant must make
them fail. A mutant whose tests pass is a guard the suite cannot see: this script then exits non-zero.
A mutation whose text is not found also fails: the guard moved and the mutant must follow it.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICE = "plugins/module_utils/service.py"
ENGINE = "plugins/module_utils/engine.py"
FAULTS = "tests/reliability/test_faults.py"
KILL = "tests/reliability/test_kill.py"

# How a test says a device was sent twice: assert_converged's message, or the count of writes.
DUPLICATE_MARKS = ("uploaded more than once", "len(emulator.writes()) == 1")
# (name, file, text, replacement, tests that must fail)
MUTANTS = [
    ("settle guard: a batch whose listing says queued/processing is planned against at once",
     SERVICE,
     'and lower_keys(b).get("status") in BUSY_STATUSES]',
     "and False]",
     [FAULTS + "::test_another_controllers_upload_still_processing_is_waited_for"]),
    ("journal guard: the jobs of this controller's earlier uploads are not waited for",
     ENGINE,
     "for entry in self.journal.pending(self.customer, scope):",
     "for entry in []:",
     [FAULTS + "::test_rerun_while_the_job_is_processing_sends_no_device_twice", KILL]),
    ("lost-answer wait: only the grace period is waited, as before the journal",
     ENGINE,
     "        grace_end = given_up_at + grace\n",
     "        grace_end = given_up_at + grace\n        return self.clock.sleep_until(grace_end)\n",
     [FAULTS + "::test_lost_answer_while_the_job_outlasts_the_grace_period", KILL]),
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


def main():
    survivors = []
    for name, path, text, replacement, tests in MUTANTS:
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
                # Killed only by a device sent twice: a timing precondition failing would prove nothing.
                duplicate = any(mark in proc.stdout for mark in DUPLICATE_MARKS)
                if proc.returncode == 1 and failed and duplicate:
                    print("mutant killed (%.0f s): %s\n  by %s" % (time.time() - started, name, failed[0][7:]))
                else:
                    survivors.append("%s (%s)" % (name, suite))
                    print("MUTANT SURVIVED (rc %d): %s\n  %s\n%s" % (proc.returncode, name, suite, proc.stdout[-2000:]))
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    if survivors:
        print("mutants survived these suites, which cannot see the guard: %s" % "; ".join(survivors))
        return 1
    print("all %d mutants killed" % len(MUTANTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
