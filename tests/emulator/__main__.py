"""Run the emulator from the command line: `python -m tests.emulator --info-file emulator.json`.

Prints (and optionally writes) a JSON object with the URL, authority, CA path, demo credentials and the
effective timing settings (`timing`), then serves until SIGTERM/SIGINT. The demo and anyone trying the
collection by hand start it this way. With --exports (what `make emulator` runs) it prints instead the shell
`export` lines that point the playbooks at it: see the README, "Try it by hand against the emulator".

Timing: no --profile answers at once and never throttles (as the tests expect); --profile realistic adds the
latency, job durations and throttling partners report; --profile lenient the same without throttling or
hangs. The other timing options override the profile's values; --time-scale multiplies every duration.
"""
import argparse
import json
import os
import shlex
import signal
import sys
import threading

from .server import (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DEMO_TENANT_ID, PROFILES,
                     TIMING_DEFAULTS, Emulator)


def _limit(text):
    """A limit per minute; 0 or 'none' means no limit."""
    return None if text.lower() in ("0", "none", "") else int(text)


# --exports: the token cache and upload journal the printed lines name, in the emulator's workdir. They hold this
# emulator's state (its tokens, its jobs), which starts empty each time: files a previous emulator left are removed.
TOKEN_CACHE = "token-cache.json"
JOURNAL = "upload-journal.json"
LEFTOVERS = (TOKEN_CACHE, TOKEN_CACHE + ".consent-flow.json", JOURNAL, JOURNAL + ".lock")


def exports(info, workdir):
    """The shell lines that point the playbooks, the role and the modules at this emulator (PARTNERCENTER_*)."""
    values = [
        ("PARTNERCENTER_BASE_URL", info["url"]),
        ("PARTNERCENTER_AUTHORITY", info["authority"]),
        ("PARTNERCENTER_CA_PATH", info["ca_path"]),
        ("PARTNERCENTER_TENANT_ID", info["tenant_id"]),
        ("PARTNERCENTER_CLIENT_ID", info["client_id"]),
        ("PARTNERCENTER_CLIENT_SECRET", info["client_secret"]),
        ("PARTNERCENTER_REFRESH_TOKEN", info["refresh_token"]),
        ("PARTNERCENTER_TOKEN_CACHE_PATH", os.path.join(workdir, TOKEN_CACHE)),
        ("PARTNERCENTER_JOURNAL_PATH", os.path.join(workdir, JOURNAL)),
    ]
    lines = ["export %s=%s" % (name, shlex.quote(value)) for name, value in values]
    if sys.prefix != sys.base_prefix:  # run from a virtual environment (.venv): its ansible-playbook first
        lines.append('export PATH=%s:"$PATH"' % shlex.quote(os.path.dirname(os.path.abspath(sys.executable))))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workdir", help="where the CA and server certificate are written (kept)")
    parser.add_argument("--info-file", help="also write the JSON description here")
    parser.add_argument("--exports", action="store_true",
                        help="print the shell export lines that point the playbooks at the emulator instead of the "
                             "JSON; they name a token cache and an upload journal in the workdir, removed at start "
                             "(the emulator starts empty)")
    parser.add_argument("--queue-seconds", type=float, default=1.0,
                        help="time a job stays queued when --job-seconds is not in effect")
    parser.add_argument("--process-seconds", type=float, default=2.0,
                        help="time a job processes when --job-seconds is not in effect")
    parser.add_argument("--foreign-serial", action="append", default=[],
                        help="a serial number owned by another tenant (reported as error 808)")
    timing = parser.add_argument_group("timing (defaults: the profile's values; no profile adds nothing)")
    timing.add_argument("--profile", choices=[p for p in PROFILES if p], default=None)
    timing.add_argument("--latency", type=float, help="base latency of reads, seconds (realistic: 0.3)")
    timing.add_argument("--write-latency", type=float,
                        help="base latency of writes, seconds (default: latency * 8/3, so 0.3 -> 0.8)")
    timing.add_argument("--token-latency", type=float, help="base latency of the token endpoint (realistic: 0.15)")
    timing.add_argument("--jitter", type=float, help="relative spread of a base latency (realistic: 0.4)")
    timing.add_argument("--slow-fraction", type=float, help="share of calls taking 5-10 s (realistic: 0.03)")
    timing.add_argument("--hang-fraction", type=float, help="share of calls taking 60-90 s (realistic: 0.001)")
    timing.add_argument("--job-seconds", type=float,
                        help="typical job duration (realistic: 3); replaces --queue-seconds/--process-seconds")
    timing.add_argument("--long-job-fraction", type=float, help="share of jobs taking 1-10 minutes (realistic: 0.03)")
    for kind, scope in (("write", ""), ("read", ""), ("write", "customer_"), ("read", "customer_")):
        knob = "%s%s_limit_per_minute" % (scope, kind)
        # SUPPRESS: absent unless given, so 0 (no limit) can override a profile's limit.
        timing.add_argument("--" + knob.replace("_", "-"), type=_limit, default=argparse.SUPPRESS,
                            help="%ss a minute per partner%s before 429 (realistic: %d; 0: no limit)"
                            % (kind, " + customer" if scope else "", PROFILES["realistic"][knob]))
    timing.add_argument("--seed", type=int, help="seed of the random draws (default 0)")
    timing.add_argument("--time-scale", type=float,
                        help="multiplies every duration: latency, jobs, Retry-After, throttle window (default 1)")
    args = parser.parse_args(argv)
    if args.workdir:
        args.workdir = os.path.abspath(args.workdir)
        os.makedirs(args.workdir, exist_ok=True)
    knobs = {k: v for k, v in vars(args).items() if (k in TIMING_DEFAULTS or k in ("seed", "time_scale"))
             and (v is not None or k.endswith("_per_minute"))}
    emu = Emulator(host=args.host, port=args.port, workdir=args.workdir, queue_seconds=args.queue_seconds,
                   process_seconds=args.process_seconds, profile=args.profile, **knobs)
    emu.foreign_keys.update(("serial", s.upper()) for s in args.foreign_serial)
    emu.start()
    info = {"url": emu.url, "authority": emu.authority, "ca_path": emu.ca_path, "pid": os.getpid(),
            "tenant_id": DEMO_TENANT_ID, "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
            "refresh_token": DEMO_REFRESH_TOKEN, "timing": emu.timing()}
    text = json.dumps(info, indent=2)
    if args.info_file:
        tmp = args.info_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, args.info_file)  # readers never see a half-written file
    if args.exports:
        for name in LEFTOVERS:
            path = os.path.join(emu.workdir, name)
            if os.path.exists(path):
                os.remove(path)
        print("# The Partner Center emulator is running at %s (Ctrl-C stops it). In another terminal, at the "
              "repository root,\n# paste these lines; the playbooks then talk to the emulator:" % emu.url)
        print("\n".join(exports(info, emu.workdir)))
        print("# Then, for example: ansible-playbook -i playbooks/inventory/hosts.yml playbooks/register_devices.yml",
              flush=True)
    else:
        print(text, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
