"""Small builders shared by the tests."""
import base64
import hashlib

CUSTOMER = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
CUSTOMER_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def hw_hash(seed, size=4000):
    """A realistic 4K hardware hash: ~4 KB of base64 derived from seed."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(("%s-%d" % (seed, counter)).encode()).digest()
        counter += 1
    return base64.b64encode(out[:size]).decode("ascii")


def device(i, prefix="SN", with_hash=True):
    dev = {"serial_number": "%s-%05d" % (prefix, i)}
    if with_hash:
        dev["hardware_hash"] = hw_hash("%s%d" % (prefix, i), 300)
    else:
        dev.update(manufacturer="Contoso", model="Laptop 7")
    return dev


def api_device(dev):
    names = {"serial_number": "SerialNumber", "product_key": "ProductKey", "hardware_hash": "HardwareHash",
             "manufacturer": "OemManufacturerName", "model": "ModelName"}
    return dict((names[k], v) for k, v in dev.items())
