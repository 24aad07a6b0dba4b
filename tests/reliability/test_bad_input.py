"""Bad input through the real module: a clear error naming the field and the device, and 0 requests sent.

All cases run as tasks of one play (one ansible-playbook process), so the suite stays quick.
"""
import base64
import json
import resource

from tests.helpers import CUSTOMER, hw_hash
from tests.playbooks import run_playbook

MODULE = "partnercenter.autopilot.partnercenter_device_batch"
STATUS_MODULE = "partnercenter.autopilot.partnercenter_batch_job_status_info"
INFO_MODULE = "partnercenter.autopilot.partnercenter_device_batch_info"
TOKEN_MODULE = "partnercenter.autopilot.partnercenter_token"
GOOD = {"serial_number": "GOOD-1", "manufacturer": "Contoso", "model": "Laptop 7"}
HASH = hw_hash("bad-input", 300)


def devices(*bad):
    return [GOOD] + list(bad)


def case(name, needles, devs=None, **args):
    module = args.pop("_module", MODULE)
    module_args = {"customer_id": CUSTOMER} if module in (STATUS_MODULE, INFO_MODULE) else \
        {} if module == TOKEN_MODULE else {"customer_id": CUSTOMER, "batch_id": "bad-input"}
    if devs is not None:
        module_args["devices"] = devs
    module_args.update(args)
    return (name, module, module_args, needles)


CASES = [
    # identity combinations
    case("no identity", ["devices[1]", "no identity field"], devices({})),
    case("serial alone", ["devices[1] (serial S1)", "serial_number is not an accepted identity"],
         devices({"serial_number": "S1"})),
    case("serial + make", ["devices[1] (serial S1)", "manufacturer, serial_number"],
         devices({"serial_number": "S1", "manufacturer": "HP"})),
    case("serial + model", ["devices[1] (serial S1)", "model, serial_number"],
         devices({"serial_number": "S1", "model": "840"})),
    case("make + model only", ["devices[1]", "manufacturer, model is not"], devices({"manufacturer": "HP", "model": "x"})),
    case("product key + serial", ["devices[1] (serial S1)", "product_key, serial_number"],
         devices({"product_key": "PK", "serial_number": "S1"})),
    case("product key + make + model", ["devices[1]", "manufacturer, model, product_key"],
         devices({"product_key": "PK", "manufacturer": "HP", "model": "x"})),
    case("all empty strings", ["devices[1]", "no identity field"],
         devices({"serial_number": " ", "product_key": "", "hardware_hash": ""})),
    # hashes
    case("hash with invalid characters", ["devices[1] (serial S1)", "hardware_hash is not base64"],
         devices({"serial_number": "S1", "hardware_hash": HASH[:-8] + "!!!!!!!!"})),
    case("truncated hash", ["devices[1]", "hardware_hash is not base64"], devices({"hardware_hash": HASH[:-3]})),
    case("hash too short", ["devices[1]", "hardware_hash decodes to 75 bytes"],
         devices({"hardware_hash": base64.b64encode(b"x" * 75).decode()})),
    case("hash too long", ["devices[1]", "hardware_hash is", "at most 16384 bytes"],
         devices({"hardware_hash": base64.b64encode(b"x" * 17000).decode()})),
    case("hash with bad padding", ["devices[1]", "hardware_hash is not base64"], devices({"hardware_hash": "QUJD===="})),
    case("hash as a list", ["devices[1]", "hardware_hash must be a string, got list"], devices({"hardware_hash": [HASH]})),
    # duplicates inside the input
    case("same hash twice", ["devices[2]: duplicate of devices[1] (same hardware_hash)"],
         devices({"hardware_hash": HASH}, {"hardware_hash": HASH})),
    case("same serial/make/model twice", ["devices[1] (serial GOOD-1): duplicate of devices[0]"], devices(GOOD)),
    case("same product key twice", ["devices[2]: duplicate of devices[1] (same product_key)"],
         devices({"product_key": "PK-1"}, {"product_key": "PK-1"})),
    case("serial differing in case", ["devices[1] (serial good-1): duplicate of devices[0] (same serial_number)"],
         devices(dict(GOOD, serial_number="good-1", manufacturer="contoso"))),
    case("serial differing in whitespace", ["devices[1] (serial GOOD-1): duplicate of devices[0]"],
         devices(dict(GOOD, serial_number="  GOOD-1\t"))),
    case("product key differing in case and spaces", ["devices[2]: duplicate of devices[1] (same product_key)"],
         devices({"product_key": "pk-9"}, {"product_key": " PK-9 "})),
    case("hash devices sharing a serial", ["devices[2] (serial x1): duplicate of devices[1] (same serial_number)"],
         devices({"serial_number": "X1", "hardware_hash": HASH}, {"serial_number": "x1", "hardware_hash": hw_hash("o", 300)})),
    # types
    case("integer serial", ["devices[1]", "serial_number must be a string, got int", "quote it"],
         devices({"serial_number": 12345, "manufacturer": "HP", "model": "x"})),
    case("float product key", ["devices[1]", "product_key must be a string, got float"], devices({"product_key": 1.5})),
    case("boolean product key", ["devices[1]", "product_key must be a string, got bool"], devices({"product_key": True})),
    case("dict model", ["devices[1] (serial S1)", "model must be a string, got dict"],
         devices({"serial_number": "S1", "manufacturer": "HP", "model": {"a": 1}})),
    # Ansible's own elements=dict conversion rejects non-dict entries before the module runs; its message names
    # the option and the type, not the index.
    case("null device", ["devices", "NoneType"], devices(None)),
    case("string device", ["devices", "dict"], devices("S1")),
    case("devices not a list", ["devices", "dict"], "serial-1"),
    # unicode and control characters
    case("NUL in serial", ["devices[1]", "serial_number contains control characters"],
         devices({"serial_number": "S\u0000X", "manufacturer": "HP", "model": "x"})),
    case("newline in serial", ["devices[1]", "serial_number contains control characters"],
         devices({"serial_number": "S\nX", "manufacturer": "HP", "model": "x"})),
    case("non-ASCII serial", ["devices[1] (serial S\u00e91)", "serial_number must be ASCII"],
         devices({"serial_number": "S\u00e91", "manufacturer": "HP", "model": "x"})),
    case("non-ASCII product key", ["devices[1]", "product_key must be ASCII"], devices({"product_key": "\u041f\u041a"})),
    case("line separator in model", ["devices[1] (serial S1)", "model contains control characters"],
         devices({"serial_number": "S1", "manufacturer": "HP", "model": "a\u2028b"})),
    case("right-to-left override in serial", ["devices[1]", "serial_number contains control characters"],
         devices({"serial_number": "S1\u202eX", "manufacturer": "HP", "model": "x"})),
    # very long strings
    case("serial of 129 characters", ["devices[1]", "serial_number is 129 characters long, at most 128"],
         devices({"serial_number": "S" * 129, "manufacturer": "HP", "model": "x"})),
    case("product key of 65 characters", ["devices[1]", "product_key is 65 characters long"],
         devices({"product_key": "P" * 65})),
    case("manufacturer of 257 characters", ["devices[1] (serial S1)", "manufacturer is 257 characters long"],
         devices({"serial_number": "S1", "manufacturer": "M" * 257, "model": "x"})),
    case("model of 10,000 characters", ["devices[1] (serial S1)", "model is 10000 characters long"],
         devices({"serial_number": "S1", "manufacturer": "HP", "model": "x" * 10000})),
    # customer and batch
    case("customer id not a GUID", ["customer_id must be the customer's tenant id"], devices(), customer_id="contoso"),
    case("empty customer id", ["customer_id must be"], devices(), customer_id=""),
    case("customer GUID in braces", ["customer_id must be"], devices(), customer_id="{%s}" % CUSTOMER),
    case("batch id too long", ["batch_id must be 1-64 characters"], devices(), batch_id="b" * 65),
    case("batch id with a slash", ["batch_id must be"], devices(), batch_id="a/b"),
    case("batch id with unicode", ["batch_id must be"], devices(), batch_id="lot-\u00e9t\u00e9"),
    case("empty batch id", ["batch_id must be"], devices(), batch_id=""),
    # options
    case("unknown option", ["Unsupported parameters", "devcies"], devices(), devcies=[]),
    case("unknown device field", ["devices[1]", "unknown field 'serial'"], devices({"serial": "S1"})),
    case("empty device list", ["devices is empty"], []),
    case("absent without devices or force", ["set force: true"], state="absent"),
    case("purge with a hash-only device", ["devices[1]", "hardware_hash", "purge"],
         devices({"hardware_hash": HASH}), purge=True),
    case("wait_timeout not a number", ["wait_timeout"], devices(), wait_timeout="soon"),
    case("all problems at once", ["devices[1]", "devices[2]", "devices[3]"],
         devices({"serial_number": "A"}, {"product_key": 5}, {"hardware_hash": "x"})),
    # numbers are input too: out of range fails naming the option, before a token is even asked for
    case("negative wait_timeout", ["wait_timeout must be between 0 and", "got -5"], devices(), wait_timeout=-5),
    case("absurd wait_timeout", ["wait_timeout must be between", "got 1000000000"], devices(),
         wait_timeout=10 ** 9),
    case("negative poll_interval", ["poll_interval must be between 0.1 and 3600", "got -1"], devices(),
         poll_interval=-1),
    case("zero poll_interval", ["poll_interval must be between", "got 0"], devices(), poll_interval=0),
    case("absurd poll_interval", ["poll_interval must be between", "got 1e+30"], devices(), poll_interval=1e30),
    case("zero timeout", ["timeout must be between 1 and 3600", "got 0"], devices(), timeout=0),
    case("negative timeout", ["timeout must be between", "got -1"], devices(), timeout=-1),
    case("absurd timeout", ["timeout must be between", "got 86400"], devices(), timeout=86400),
    case("job status: negative wait_timeout", ["wait_timeout must be between", "got -1"],
         _module=STATUS_MODULE, tracking_id="t-1", wait=True, wait_timeout=-1),
    case("job status: zero poll_interval", ["poll_interval must be between", "got 0"],
         _module=STATUS_MODULE, tracking_id="t-1", wait=True, poll_interval=0),
    case("batch info: zero timeout", ["timeout must be between", "got 0"], _module=INFO_MODULE, timeout=0),
    case("token: negative timeout", ["timeout must be between", "got -3"], _module=TOKEN_MODULE, timeout=-3),
]


def test_bad_input_names_field_and_device_and_sends_nothing(emulator, pc_env, tmp_path):
    assert len(CASES) >= 40
    tasks = []
    for index, (name, module, args, _needles) in enumerate(CASES):
        tasks.append({"name": name, module: args, "register": "r%d" % index, "ignore_errors": True})
    tasks.append({"name": "Hand the results to the test", "ansible.builtin.copy": {
        "content": "{{ [%s] | to_json }}" % ", ".join("r%d" % i for i in range(len(CASES))),
        "dest": str(tmp_path / "results.json"), "mode": "0600"}})
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    proc = run_playbook(str(play), pc_env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    problems = []
    for (name, _module, _args, needles), result in zip(CASES, results):
        if not result.get("failed"):
            problems.append("%s: did not fail" % name)
            continue
        missing = [n for n in needles if n not in result["msg"]]
        if missing:
            problems.append("%s: %r not in %r" % (name, missing, result["msg"][:300]))
    assert not problems, "\n".join(problems)
    assert emulator.requests() == [], "bad input must not reach the wire (not even a token request)"


def test_hundred_thousand_devices_are_validated_without_blowing_memory(emulator, pc_env, tmp_path):
    many = [{"serial_number": "SN-%06d" % i, "manufacturer": "Contoso", "model": "Laptop 7"} for i in range(99999)]
    many.append({"serial_number": "SN-000001", "manufacturer": "Contoso", "model": "Laptop 7"})
    args = {"customer_id": CUSTOMER, "batch_id": "huge", "devices": many}
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Huge input", MODULE: args, "register": "r", "ignore_errors": True},
        {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(tmp_path / "r.json"), "mode": "0600"}},
    ]}]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = run_playbook(str(play), pc_env)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    assert proc.returncode == 0, proc.stdout[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["failed"] and "devices[99999] (serial SN-000001): duplicate of devices[1]" in result["msg"]
    assert emulator.requests() == []
    assert peak_mib < 1024, "peak RSS of a child process: %.0f MiB (before: %.0f MiB)" % (peak_mib, before / 1024.0)
    print("100k-device input: peak child RSS %.0f MiB" % peak_mib)
