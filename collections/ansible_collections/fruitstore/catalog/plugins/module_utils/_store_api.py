# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# A client for the store's REST API (store-api.md): keep-alive, bounded retries with backoff,
# and a read-back before any retried POST, because the store has no update, no delete and no
# uniqueness rule: a POST repeated after a lost answer would be a duplicate forever.

from __future__ import annotations

import contextlib
import hashlib
import heapq
import socket
import threading
import time
import traceback

from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import ArgumentSpec

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.util.retry import Retry
except ImportError:
    requests = None
    HTTPConnectionPool = HTTPSConnectionPool = object
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

try:
    from urllib.parse import quote, unquote, urljoin, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, but sanity imports on it
    pass


def store_argument_spec():
    """The options every module that talks to the store shares (doc fragment fruitstore.catalog._store), with their
    rule: basic authentication takes a user and a password."""
    return ArgumentSpec(dict(
        store_url=dict(type="str", required=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        url_username=dict(type="str"),
        url_password=dict(type="str", no_log=True),
        api_token=dict(type="str", no_log=True),
        timeout=dict(type="float", default=30),
        retries=dict(type="int", default=3),
    ), required_together=[("url_username", "url_password")])


# A request to the store has a deadline, retries included: urllib3's timeouts are per read, so a store that answers a
# byte at a time would hold the import for ever. Each request under a deadline notes the connections it is given,
# and a timer shuts them when the deadline passes; a retry after that gets no connection at all.
_WATCH = threading.local()


class _Expired(Exception):
    """The request's deadline passed."""


class _Watch:
    def __init__(self):
        self.connections = []
        self.expired = threading.Event()
        self.done = False

    def cut(self):
        if self.done:
            return
        self.expired.set()
        for connection in self.connections:
            with contextlib.suppress(OSError, AttributeError):
                connection.sock.shutdown(socket.SHUT_RDWR)


class _Watchdog(threading.Thread):
    """One thread per client that cuts the requests whose deadline has passed."""

    def __init__(self):
        super().__init__(daemon=True)
        self.due = []
        self.condition = threading.Condition()
        self.start()

    def watch(self, deadline, watch):
        with self.condition:
            heapq.heappush(self.due, (deadline, id(watch), watch))
            if self.due[0][2] is watch:  # the thread waits for the earliest deadline: a later one needs no wake-up
                self.condition.notify()

    def run(self):
        while True:
            with self.condition:
                while not self.due or self.due[0][0] > time.monotonic():
                    self.condition.wait(self.due[0][0] - time.monotonic() if self.due else None)
                watch = heapq.heappop(self.due)[2]
            watch.cut()


class _WatchedPool:
    def _get_conn(self, timeout=None):
        watch = getattr(_WATCH, "current", None)
        if watch is not None and watch.expired.is_set():
            raise _Expired()
        connection = super()._get_conn(timeout)
        if watch is not None:
            watch.connections.append(connection)
        return connection


class _WatchedHTTPPool(_WatchedPool, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    pass


class StoreError(Exception):
    """The store could not be reached or refused a request; the text says which and why."""


class StoreUnreachable(StoreError):
    """No answer (refused, reset, timed out): worth another try."""


def _root_cause(error):
    """'Failed to establish a new connection: [Errno 111] Connection refused' out of urllib3's wrappers."""
    reason = getattr(error.args[0], "reason", error.args[0]) if error.args else error
    return str(reason).split("): ", 1)[-1]


def redact(url):
    """The URL without the user and password it may carry (https://user:secret@host/): fit for a message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def normalise_url(url):
    """(base URL ending in '/', without credentials; (user, password) the URL carried, or None)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StoreError("store_url '%s' must be an absolute http:// or https:// URL, for example http://localhost/"
                         % redact(url))
    credentials = None
    if "@" in parts.netloc:
        credentials = (unquote(parts.username or ""), unquote(parts.password or ""))
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    url = parts.geturl()
    return (url if url.endswith("/") else url + "/"), credentials


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_product(stored, wanted):
    return all(stored.get(key) == wanted[key] for key in ("name", "weight", "description", "image_name"))


class StoreClient:
    """One keep-alive session to the store, shared by a bounded pool of threads."""

    def __init__(self, params, pool_size=4, backoff=0.5):
        if requests is None:
            raise StoreError("the Python library requests is required")
        self.base, credentials = normalise_url(params["store_url"])
        self.timeout = params["timeout"]
        self.retries = max(0, params["retries"])
        self.backoff = backoff
        self.session = requests.Session()
        self.watchdog = _Watchdog()
        # Idempotent reads are retried by urllib3 itself; POSTs only through _post_once below.
        retry = Retry(total=self.retries, backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                      allowed_methods=frozenset(("GET", "HEAD")), raise_on_status=False)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=retry)
        adapter.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.verify = params["ca_path"] or params["validate_certs"]
        if params["api_token"]:
            self.session.headers["Authorization"] = "Token %s" % params["api_token"]
        elif params["url_username"]:
            self.session.auth = (params["url_username"], params["url_password"] or "")
        elif credentials:
            self.session.auth = credentials
        self.posts = 0

    def close(self):
        self.session.close()

    def deadline(self):
        """When a request (or a POST with its retries and read-backs) started now must have ended."""
        return time.monotonic() + self.timeout

    def _request(self, method, path, deadline=None, **kwargs):
        url = urljoin(self.base, path)
        left = (deadline or self.deadline()) - time.monotonic()
        late = StoreUnreachable("%s %s: no whole answer within the timeout of %s s (a deadline for the request, its "
                                "retries included)" % (method, url, self.timeout))
        if left <= 0:
            raise late
        watch = _WATCH.current = _Watch()
        self.watchdog.watch(time.monotonic() + left, watch)
        try:
            # verify per request: a session-wide setting loses to REQUESTS_CA_BUNDLE from the environment.
            response = self.session.request(method, url, timeout=left, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as e:
            raise StoreError("TLS verification of %s failed (set ca_path to the store's CA, or validate_certs: false "
                             "to skip the check): %s" % (url, e))
        except (requests.exceptions.RequestException, _Expired) as e:
            if watch.expired.is_set() or isinstance(e, (requests.exceptions.Timeout, _Expired)):
                raise late
            raise StoreUnreachable("%s %s failed: %s" % (method, url, _root_cause(e)))
        finally:
            watch.done = True
            _WATCH.current = None
        if watch.expired.is_set():
            raise late
        return response

    def _check(self, response, expected, what):
        if response.status_code in expected:
            return response
        detail = "" if "html" in response.headers.get("Content-Type", "") else response.text[:300].strip()
        if response.status_code in (401, 403):
            hint = " (check url_username/url_password or api_token)"
        elif response.status_code == 404:
            hint = " (is store_url the store's base URL?)"
        else:
            hint = ""
        raise StoreError("%s: %s %s answered %d%s%s" % (
            what, response.request.method, response.url, response.status_code, hint, ": " + detail if detail else ""))

    def list_products(self, deadline=None):
        response = self._check(self._request("GET", "fruits/", deadline), (200,), "listing the store's products")
        try:
            products = response.json()
        except ValueError:
            raise StoreError("GET %s did not answer JSON; is store_url the store's base URL?" % response.url)
        if not isinstance(products, list):
            raise StoreError("GET %s answered %s, not a list of products"
                             % (redact(response.url), type(products).__name__))
        return products

    def media_status(self, image_name):
        """The HTTP status of the picture's URL under /media/images/: 200 there, 404 missing (or not served)."""
        return self._request("HEAD", "media/images/" + quote(image_name)).status_code

    def media_matches(self, image_name, sha256, deadline=None):
        """True when the store serves an image by that name with these bytes, False when it serves
        other bytes, None when it does not serve it (absent, or a store without a media server)."""
        response = self._request("GET", "media/images/" + quote(image_name), deadline)
        if response.status_code != 200:
            return None
        return hashlib.sha256(response.content).hexdigest() == sha256

    def upload_image(self, path, stored_as, sha256):
        """Upload the file at path; stored_as is the name the store keeps it under."""
        def attempt(deadline):
            with open(path, "rb") as handle:
                return self._request("POST", "upload/", deadline, files={"file": (stored_as, handle, "image/jpeg")})

        self._post_with_read_back(attempt, lambda deadline: self.media_matches(stored_as, sha256, deadline) is True,
                                  (201,), "uploading image %s" % stored_as)

    def create_product(self, product):
        payload = {key: product[key] for key in ("name", "weight", "description", "image_name")}

        def already_there(deadline):
            return any(isinstance(stored, dict) and same_product(stored, payload)
                       for stored in self.list_products(deadline))

        self._post_with_read_back(lambda deadline: self._request("POST", "fruits/", deadline, json=payload),
                                  already_there, (201,), "creating product '%s'" % product["name"])

    def _post_with_read_back(self, attempt, already_done, expected, what):
        """POST; on a lost answer or a retryable failure, look before trying again: all within one deadline."""
        deadline = self.deadline()
        for try_number in range(self.retries + 1):
            if try_number:
                time.sleep(max(0, min(self.backoff * 2 ** (try_number - 1), deadline - time.monotonic())))
                if already_done(deadline):
                    return
            self.posts += 1
            try:
                response = attempt(deadline)
            except StoreUnreachable:
                if try_number == self.retries:
                    raise
                continue
            if response.status_code in (500, 502, 503, 504) and try_number < self.retries:
                continue
            self._check(response, expected, what)
            return
