"""Run the emulator from the command line: `python -m tests.emulator --info-file emulator.json`.

Prints (and optionally writes) a JSON object with the URL, authority, CA path and demo credentials, then
serves until SIGTERM/SIGINT. The demo and anyone trying the collection by hand start it this way.
"""
import argparse
import json
import os
import signal
import sys
import threading

from .server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DEMO_TENANT_ID, Emulator


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workdir", help="where the CA and server certificate are written (kept)")
    parser.add_argument("--info-file", help="also write the JSON description here")
    parser.add_argument("--queue-seconds", type=float, default=1.0)
    parser.add_argument("--process-seconds", type=float, default=2.0)
    parser.add_argument("--foreign-serial", action="append", default=[],
                        help="a serial number owned by another tenant (reported as error 808)")
    args = parser.parse_args(argv)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
    emu = Emulator(host=args.host, port=args.port, workdir=args.workdir, queue_seconds=args.queue_seconds,
                   process_seconds=args.process_seconds)
    emu.foreign_keys.update(("serial", s.upper()) for s in args.foreign_serial)
    emu.start()
    info = {"url": emu.url, "authority": emu.authority, "ca_path": emu.ca_path, "pid": os.getpid(),
            "tenant_id": DEMO_TENANT_ID, "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
            "refresh_token": DEMO_REFRESH_TOKEN}
    text = json.dumps(info, indent=2)
    if args.info_file:
        tmp = args.info_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, args.info_file)  # readers never see a half-written file
    print(text, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
