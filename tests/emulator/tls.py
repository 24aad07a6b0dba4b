"""Throwaway certificate authority and server certificate for the emulator.

A fresh CA per emulator start means no test can pass by trusting something left on the machine: the client
only succeeds when it is handed this CA's path.
"""
import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write(path, data, mode=0o600):
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def make_server_tls(directory, hostnames=("localhost",), ips=("127.0.0.1",)):
    """Write ca.pem, server.pem and server.key into directory; return their paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partnercenter emulator test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = _key()
    alt_names = [x509.DNSName(h) for h in hostnames] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {
        "ca_path": os.path.join(directory, "ca.pem"),
        "cert_path": os.path.join(directory, "server.pem"),
        "key_path": os.path.join(directory, "server.key"),
    }
    _write(paths["ca_path"], ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(paths["cert_path"], server_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(paths["key_path"], _pem_key(server_key))
    return paths


def make_client_certificate(directory, name="partnercenter-app"):
    """A self-signed application certificate as Entra ID app registrations use for client assertions.

    Returns the PEM path (private key followed by certificate, the layout msal users keep), the SHA-1
    thumbprint Entra ID shows for it, and the certificate object the emulator verifies assertions with.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    path = os.path.join(directory, name + ".pem")
    _write(path, _pem_key(key) + cert.public_bytes(serialization.Encoding.PEM))
    return {
        "path": path,
        "thumbprint": hashlib.sha1(cert_der).hexdigest().upper(),  # nosec - Entra ID's x5t is SHA-1
        "sha256_thumbprint": hashlib.sha256(cert_der).hexdigest().upper(),
        "certificate": cert,
    }
