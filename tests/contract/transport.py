"""A requests transport adapter that serves canned answers and records every request sent through it.

Mounted on PartnerCenterClient.session, it keeps the client (headers, retry policy, paging, errors), the
service layer and the views real: only the socket is replaced.
"""
import json
from http.client import responses as REASONS
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class Sent(object):
    """One request as it left the client."""

    def __init__(self, prepared, timeout, verify):
        self.prepared = prepared
        self.method = prepared.method
        self.url = prepared.url
        parts = urlsplit(prepared.url)
        self.scheme, self.host, self.path, self.query = parts.scheme, parts.netloc, parts.path, parts.query
        self.headers = CaseInsensitiveDict(prepared.headers)
        body = prepared.body
        self.raw_body = body.encode("utf-8") if isinstance(body, str) else body
        self.timeout, self.verify = timeout, verify

    @property
    def json(self):
        return None if self.raw_body is None else json.loads(self.raw_body.decode("utf-8"))

    def __repr__(self):
        return "Sent(%s %s)" % (self.method, self.url)


class Reply(object):
    """A canned answer: status, headers, and a JSON body (None: no body at all; bytes: sent as they are)."""

    def __init__(self, status=200, body=None, headers=None, error=None):
        self.status, self.body, self.headers, self.error = status, body, dict(headers or {}), error


class CannedAdapter(BaseAdapter):
    """Answers (method, path) with the replies queued for it, in order; the last one repeats when asked."""

    def __init__(self):
        super(CannedAdapter, self).__init__()
        self.queues = {}
        self.sent = []

    def reply(self, method, path, status=200, body=None, headers=None, repeat=False):
        self.queues.setdefault((method, path), []).append((Reply(status, body, headers), repeat))
        return self

    def fail(self, method, path, error):
        """The next request to (method, path) gets no answer: error (a requests exception) is raised."""
        self.queues.setdefault((method, path), []).append((Reply(error=error), False))
        return self

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        sent = Sent(request, timeout, verify)
        self.sent.append(sent)
        queue = self.queues.get((sent.method, sent.path))
        if not queue:
            raise AssertionError("unexpected request %s %s (no canned answer)" % (sent.method, sent.url))
        reply, repeat = queue[0]
        if not repeat or len(queue) > 1:
            queue.pop(0)
        if reply.error is not None:
            raise reply.error
        return self._response(request, sent, reply)

    @staticmethod
    def _response(request, sent, reply):
        response = requests.Response()
        response.status_code = reply.status
        response.reason = REASONS.get(reply.status, "")
        headers = CaseInsensitiveDict()
        # Partner Center echoes the call's ids and adds its own (api.md "Errors, headers, throttling").
        for name in ("MS-RequestId", "MS-CorrelationId"):
            if name in sent.headers:
                headers[name] = sent.headers[name]
        headers["MS-CV"] = "YrLe3w6BbUSMt1fi.0"
        headers["MS-ServerId"] = "030020344"
        if reply.body is None:
            content = b""
        elif isinstance(reply.body, bytes):
            content = reply.body
        else:
            content = json.dumps(reply.body).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(content))
        headers.update(reply.headers)
        response.headers = headers
        response._content = content  # pylint: disable=protected-access
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass

    # ----- reading what was sent ---------------------------------------------------------------------------
    def requests_to(self, method=None, path=None):
        return [s for s in self.sent if (method is None or s.method == method) and (path is None or s.path == path)]

    def only(self):
        assert len(self.sent) == 1, self.sent
        return self.sent[0]
