# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# A client for the store's REST API (its contract: docs/store-api.md in the project's repository): keep-alive, bounded retries with backoff,
# and a read-back before any retried POST, because the store has no update, no delete and no
# uniqueness rule: a POST repeated after a lost answer would be a duplicate forever.
#
# It sends through urllib3 directly: requests.Session costs twice the CPU per request, and an import sends a few
# requests per product while the conversion holds the cores. What a Session did for it is done here once per client,
# with requests' own helpers: its headers, the CA bundle, proxy and ~/.netrc from the environment, its redirects.

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import heapq
import json
import os
import socket
import threading
import time
import traceback
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import ArgumentSpec
from ansible_collections.fruitstore.catalog.plugins.module_utils._deps import missing

try:
    import requests
    import requests.certs
    import urllib3
    from requests.compat import chardet
    from requests.utils import (default_headers, get_auth_from_url, get_encoding_from_headers, get_environ_proxies,
                                get_netrc_auth, prepend_scheme_if_needed, requote_uri, select_proxy)
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import HTTPError, NewConnectionError, SSLError, TimeoutError as Urllib3TimeoutError
    from urllib3.util import make_headers, parse_url
    from urllib3.util.retry import Retry
except ImportError:
    requests = None
    HTTPConnectionPool = HTTPSConnectionPool = object
    HTTPError = NewConnectionError = SSLError = Urllib3TimeoutError = Exception
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None


def requests_problem():
    """None when requests imported, else (message, traceback) for the module to fail with."""
    return missing("requests", REQUESTS_IMPORT_ERROR)


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


@dataclasses.dataclass(frozen=True)
class StoreSettings:
    """The store and how to reach it (the options of store_argument_spec). The secrets never appear in repr()."""

    url: str
    validate_certs: bool = True
    ca_path: str | None = None
    url_username: str | None = None
    url_password: str | None = dataclasses.field(default=None, repr=False)
    api_token: str | None = dataclasses.field(default=None, repr=False)
    timeout: float = 30.0
    retries: int = 3

    @classmethod
    def from_options(cls, options):
        return cls(options["store_url"], options["validate_certs"], options["ca_path"], options["url_username"],
                   options["url_password"], options["api_token"], options["timeout"], options["retries"])


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
    """One thread per client that cuts the requests whose deadline has passed, until stop()."""

    def __init__(self):
        super().__init__(daemon=True)
        self.due = []
        self.stopped = False
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
                while not self.stopped and (not self.due or self.due[0][0] > time.monotonic()):
                    self.condition.wait(self.due[0][0] - time.monotonic() if self.due else None)
                if self.stopped:
                    return
                watch = heapq.heappop(self.due)[2]
            watch.cut()

    def stop(self):
        """End the thread (the requests still watched are cut no more) and wait for it."""
        with self.condition:
            self.stopped = True
            self.condition.notify()
        self.join()


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
    return str(getattr(error, "reason", error)).split("): ", 1)[-1]


def redact(url):
    """The URL without the user and password it may carry (https://user:secret@host/): fit for a message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def normalise_url(url):
    """(base URL ending in '/', without credentials; (user, password) the URL carried, or None)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise StoreError("store_url '%s' must be an absolute http:// or https:// URL, for example http://localhost/"
                         % redact(url))
    credentials = None
    if "@" in parts.netloc:
        credentials = (unquote(parts.username or ""), unquote(parts.password or ""))
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    url = parts.geturl()
    return (url if url.endswith("/") else url + "/"), credentials


DEFAULT_PORTS = {"http": 80, "https": 443}


def store_identity(url):
    """The store a URL names, however it is written: the scheme and host in lower case, a default port left out, no
    credentials, the path ending in '/'. It keys what the import records of a store (the upload journal, the
    sent-mail record), so that http://Store:80 and http://store/ are one store. Raises StoreError for a URL that
    names no store."""
    base, _credentials = normalise_url(url)
    parts = urlsplit(base)
    try:
        port = parts.port
    except ValueError as e:
        raise StoreError("store_url '%s': %s" % (redact(url), e))
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = "[%s]" % host
    scheme = parts.scheme.lower()
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else "%s:%d" % (host, port)
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_product(stored, wanted):
    return all(stored.get(key) == wanted[key] for key in ("name", "weight", "description", "image_name"))


def _tls_options(url, verify):
    """The pools' TLS settings as requests made them: verify is ca_path, or validate_certs; when it is True, the CA
    bundle the environment names (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE), else certifi's."""
    if not verify:
        return {"cert_reqs": "CERT_NONE"}
    if verify is True:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or requests.certs.where()
    if url.startswith("https:") and not os.path.exists(verify):
        raise StoreError("Could not find a suitable TLS CA certificate bundle, invalid path: %s" % verify)
    return {"cert_reqs": "CERT_REQUIRED", ("ca_cert_dir" if os.path.isdir(verify) else "ca_certs"): verify}


def _pool_manager(url, verify, pool_size):
    """urllib3's PoolManager for the store, or its ProxyManager when the environment names a proxy for the store's URL
    (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, as requests reads them); either way, with its pools watched."""
    options = dict(num_pools=1, maxsize=pool_size, block=False, **_tls_options(url, verify))
    proxy = select_proxy(url, get_environ_proxies(url))
    if not proxy:
        manager = urllib3.PoolManager(**options)
    elif proxy.lower().startswith("socks"):
        return _socks_manager(proxy, options)
    else:
        proxy = prepend_scheme_if_needed(proxy, "http")
        user, password = get_auth_from_url(proxy)
        headers = make_headers(proxy_basic_auth="%s:%s" % (user, password)) if user else None
        try:
            if not parse_url(proxy).host:
                raise ValueError("it could be missing the host")
            manager = urllib3.ProxyManager(proxy, proxy_headers=headers, **options)
        except ValueError as e:  # urllib3's LocationValueError (no proxy scheme but http:// and https://) is one
            raise StoreError("The proxy %s from the environment cannot be used for %s: %s" % (redact(proxy), url, e))
    manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
    return manager


def _socks_manager(proxy, options):
    """urllib3's SOCKSProxyManager for a socks:// proxy, as requests used it (with PySocks); its pools watched."""
    try:
        from urllib3.contrib.socks import SOCKSProxyManager
    except ImportError:
        raise StoreError("The proxy %s from the environment needs PySocks: Missing dependencies for SOCKS support."
                         % redact(proxy))
    user, password = get_auth_from_url(proxy)
    manager = SOCKSProxyManager(proxy, username=user, password=password, **options)
    manager.pool_classes_by_scheme = {scheme: type("_Watched" + pool.__name__, (_WatchedPool, pool), {})
                                      for scheme, pool in manager.pool_classes_by_scheme.items()}
    return manager


def _keeps_credentials(old, new):
    """requests' rule (Session.should_strip_auth) for a redirect: the credentials go to the same host, scheme and port
    only (a default port being the same as none), or from http to https on the default ports."""
    old, new = urlsplit(old), urlsplit(new)
    default = {"http": 80, "https": 443}
    old_port, new_port = old.port or default.get(old.scheme), new.port or default.get(new.scheme)
    upgrade = (old.scheme, old_port, new.scheme, new_port) == ("http", 80, "https", 443)
    return old.hostname == new.hostname and ((old.scheme, old_port) == (new.scheme, new_port) or upgrade)


class _Response:
    """An answer of the store, read whole, under the names of requests.Response that the client uses; its text
    decoded as requests decodes it."""

    def __init__(self, method, url, answer, content):
        self.method, self.url, self.content = method, url, content
        self.status_code, self.headers = answer.status, answer.headers

    @property
    def text(self):
        encoding = get_encoding_from_headers(self.headers)  # utf-8 for JSON, ISO-8859-1 for text/*, else a guess
        if encoding is None and chardet is not None:
            encoding = chardet.detect(self.content)["encoding"]
        try:
            return str(self.content, encoding or "utf-8", errors="replace")
        except LookupError:
            return str(self.content, errors="replace")

    def json(self):
        return json.loads(self.text)


class StoreClient:
    """One keep-alive pool of connections to the store, shared by a bounded pool of threads (urllib3's PoolManager
    is thread-safe)."""

    def __init__(self, settings, pool_size=4, backoff=0.5):
        """settings: a StoreSettings; raises StoreError when they cannot be used."""
        if requests is None:
            raise StoreError("the Python library requests is required")
        self.base, credentials = normalise_url(settings.url)
        self.timeout = settings.timeout
        self.retries = max(0, settings.retries)
        self.backoff = backoff
        # The base URL as requests sent it (host lower-cased, IDNA, path quoted); self.base stays as given: the
        # journal's key, and the URL of the messages.
        prepared = requests.PreparedRequest()
        try:
            prepared.prepare_url(self.base, None)
        except requests.exceptions.RequestException as e:
            raise StoreError("store_url '%s': %s" % (redact(settings.url), e))
        self.sent_base = prepared.url
        self.http = _pool_manager(self.sent_base, settings.ca_path or settings.validate_certs, pool_size)
        # Idempotent reads are retried by urllib3 itself; POSTs only through _post_with_read_back below (a failure
        # raised as urllib3 raises it when the retries are spent).
        self.read_retry = Retry(total=self.retries, backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                                allowed_methods=frozenset(("GET", "HEAD")), raise_on_status=False)
        self.post_retry = Retry(total=0, raise_on_status=False)
        self.headers = dict(default_headers())  # requests' User-Agent, Accept, Accept-Encoding and Connection
        if settings.api_token:
            if "\n" in settings.api_token or "\r" in settings.api_token:
                raise StoreError("api_token must not contain a line break")
            self.headers["Authorization"] = "Token %s" % settings.api_token
        else:
            login = ((settings.url_username, settings.url_password or "") if settings.url_username
                     else credentials or get_netrc_auth(self.sent_base))
            if login:
                self.headers["Authorization"] = make_headers(basic_auth="%s:%s" % login)["authorization"]
        self.watchdog = _Watchdog()
        self.posts = 0

    def close(self):
        self.http.clear()
        self.watchdog.stop()

    def deadline(self):
        """When a request (or a POST with its retries and read-backs) started now must have ended."""
        return time.monotonic() + self.timeout

    def _request(self, method, path, deadline=None, body=None, content_type=None):
        url = urljoin(self.base, path)
        left = (deadline or self.deadline()) - time.monotonic()
        late = StoreUnreachable("%s %s: no whole answer within the timeout of %s s (a deadline for the request, its "
                                "retries included)" % (method, url, self.timeout))
        if left <= 0:
            raise late
        headers = self.headers if content_type is None else {**self.headers, "Content-Type": content_type}
        watch = _WATCH.current = _Watch()
        self.watchdog.watch(time.monotonic() + left, watch)
        try:
            response = self._send(method, urljoin(self.sent_base, path), body, headers,
                                  urllib3.Timeout(connect=left, read=left))
        except (HTTPError, OSError, requests.exceptions.RequestException, _Expired) as e:
            reason = getattr(e, "reason", e)  # a MaxRetryError's: the last try's
            if isinstance(reason, SSLError):
                raise StoreError("TLS verification of %s failed (set ca_path to the store's CA, or validate_certs: "
                                 "false to skip the check): %s" % (url, e))
            if watch.expired.is_set() or isinstance(e, _Expired) or (
                    isinstance(reason, Urllib3TimeoutError) and not isinstance(reason, NewConnectionError)):
                raise late
            raise StoreUnreachable("%s %s failed: %s" % (method, url, _root_cause(e)))
        finally:
            watch.done = True
            _WATCH.current = None
        if watch.expired.is_set():
            raise late
        return response

    def _send(self, method, url, body, headers, timeout):
        """The answer to one request, read whole. A GET or HEAD follows redirects as requests did: up to 30, each
        with its own retries, and the credentials kept only where requests kept them; a POST follows none."""
        for _hop in range(31):
            answer = self.http.request(method, url, body=body, headers=headers, timeout=timeout, redirect=False,
                                       retries=self.post_retry if method == "POST" else self.read_retry,
                                       preload_content=False)
            try:
                content = b"".join(answer.stream(10240))  # read as requests reads (urllib3 1.26 takes a short body)
            finally:
                answer.release_conn()
            location = method != "POST" and answer.get_redirect_location()
            if not location:
                return _Response(method, url, answer, content)
            location = requote_uri(urljoin(url, location))
            if "Authorization" in headers and not _keeps_credentials(url, location):
                headers = {key: value for key, value in headers.items() if key != "Authorization"}
            url = location
        raise HTTPError("Exceeded 30 redirects.")

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
            what, response.method, response.url, response.status_code, hint, ": " + detail if detail else ""))

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
                fields = {"file": (stored_as, handle.read(), "image/jpeg")}
            return self._request("POST", "upload/", deadline, *urllib3.encode_multipart_formdata(fields))

        self._post_with_read_back(attempt, lambda deadline: self.media_matches(stored_as, sha256, deadline) is True,
                                  (201,), "uploading image %s" % stored_as)

    def create_product(self, product):
        payload = {key: product[key] for key in ("name", "weight", "description", "image_name")}

        def already_there(deadline):
            return any(isinstance(stored, dict) and same_product(stored, payload)
                       for stored in self.list_products(deadline))

        body = json.dumps(payload, allow_nan=False).encode("utf-8")  # as requests encodes json=

        def attempt(deadline):
            return self._request("POST", "fruits/", deadline, body, "application/json")

        self._post_with_read_back(attempt, already_there, (201,), "creating product '%s'" % product["name"])

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
