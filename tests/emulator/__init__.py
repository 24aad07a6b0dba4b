"""Local Partner Center emulator used by the tests and the demo."""
from .server import (ANSWER_MODES, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DEMO_TENANT_ID,
                     OUTCOMES, PC_SCOPE_APP, PC_SCOPE_USER, Emulator, Fault)
from .tls import make_client_certificate, make_server_tls

__all__ = ["Emulator", "Fault", "DEMO_TENANT_ID", "DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "DEMO_REFRESH_TOKEN",
           "PC_SCOPE_USER", "PC_SCOPE_APP", "OUTCOMES", "ANSWER_MODES", "make_client_certificate", "make_server_tls"]
