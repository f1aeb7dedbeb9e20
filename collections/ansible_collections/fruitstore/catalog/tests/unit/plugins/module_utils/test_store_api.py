# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import collections
import email
import email.policy
import http.server
import json
import threading
import time

import pytest
import requests

from ansible_collections.fruitstore.catalog.plugins.module_utils import _store_api as api


def test_the_watchdog_cuts_each_request_at_its_own_deadline():
    watchdog = api._Watchdog()
    start = time.monotonic()
    late, soon, later = api._Watch(), api._Watch(), api._Watch()
    watchdog.watch(start + 0.6, late)
    watchdog.watch(start + 0.2, soon)  # earlier than the deadline the watchdog waits for: it is woken up
    watchdog.watch(start + 0.9, later)  # later: it is not, and still cut in time
    assert soon.expired.wait(2) and time.monotonic() - start < 0.5
    assert not late.expired.is_set()
    assert late.expired.wait(2) and time.monotonic() - start >= 0.6
    assert not later.expired.is_set()
    assert later.expired.wait(2) and time.monotonic() - start >= 0.9
    watchdog.stop()
    assert not watchdog.is_alive()


def test_the_watchdog_stops_at_once_even_with_a_request_still_watched():
    watchdog = api._Watchdog()
    waiting = api._Watch()
    watchdog.watch(time.monotonic() + 3600, waiting)
    start = time.monotonic()
    watchdog.stop()
    assert not watchdog.is_alive() and time.monotonic() - start < 1 and not waiting.expired.is_set()


def test_closed_clients_leave_no_thread_behind():
    before = threading.active_count()
    for _delivery in range(20):  # one client per delivery: an inbox of many deliveries must not pile up threads
        client("http://127.0.0.1:9/").close()
    assert threading.active_count() == before


# -- the client against local HTTP servers ---------------------------------------------------------------------

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
Seen = collections.namedtuple("Seen", "method path headers body")


class Server:
    """An HTTP server on loopback that notes every request it is sent (a Seen) and answers each with
    route(method, path) -> (status, headers, body)."""

    def __init__(self, route):
        self.route, self.requests = route, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append(Seen(self.command, self.path, self.headers, body))
                status, headers, answer = server.route(self.command, self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                for start in range(0, len(answer), 1 if headers.get("X-Drip") else len(answer) or 1):
                    self.wfile.write(answer[start:start + (1 if headers.get("X-Drip") else len(answer))])
                    self.wfile.flush()
                    time.sleep(float(headers.get("X-Drip", 0)))

            do_GET = do_HEAD = do_POST = handle_any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def listing(via="store"):
    return lambda method, path: (200, {"Content-Type": "application/json"}, json.dumps([{"via": via}]).encode())


@pytest.fixture
def serve():
    servers = []

    def start(route):
        servers.append(Server(route))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def no_environment(monkeypatch, tmp_path):
    """None of the proxies, CA bundle or ~/.netrc of the machine that runs the tests."""
    variables = PROXY_VARIABLES + tuple(name.upper() for name in PROXY_VARIABLES)
    for name in variables + ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def client(url, **params):
    settings = dict(store_url=url, timeout=5, retries=1, validate_certs=True, ca_path=None, url_username=None,
                    url_password=None, api_token=None)
    settings.update(params)
    return api.StoreClient(api.StoreSettings.from_options(settings), backoff=0.01)


def test_requests_are_sent_with_the_headers_requests_sent(serve):
    store = serve(listing())
    assert client(store.url).list_products() == [{"via": "store"}]
    headers = store.requests[0].headers
    assert headers["User-Agent"].startswith("python-requests/") and headers["Accept"] == "*/*"
    assert "gzip" in headers["Accept-Encoding"] and headers["Connection"] == "keep-alive"
    assert "Authorization" not in headers


@pytest.mark.parametrize("params, netrc, expected", [
    (dict(api_token="s3cret"), False, "Token s3cret"),
    (dict(api_token="s3cret"), True, "Token s3cret"),  # the token wins over ~/.netrc
    (dict(url_username="ops", url_password="p\u00e4ss"), True, "Basic " + base64.b64encode(b"ops:p\xe4ss").decode()),
    (dict(url_username="ops"), False, "Basic " + base64.b64encode(b"ops:").decode()),
    (dict(store_url="http://u%40x:a%3Ab@{}/"), True, "Basic " + base64.b64encode(b"u@x:a:b").decode()),
    (dict(), True, "Basic " + base64.b64encode(b"net:rc").decode()),
])
def test_the_credentials_go_in_the_authorization_header(serve, tmp_path, params, netrc, expected):
    store = serve(listing())
    if netrc:
        (tmp_path / ".netrc").write_text("machine 127.0.0.1 login net password rc\n")
        (tmp_path / ".netrc").chmod(0o600)
    url = params.pop("store_url", store.url).format(store.url.split("/")[2])
    client(url, **params).list_products()
    assert store.requests[0].headers["Authorization"] == expected


def test_an_api_token_with_a_line_break_is_refused_without_being_shown():
    with pytest.raises(api.StoreError) as raised:
        client("http://127.0.0.1:9/", api_token="s3cret\n")
    assert "line break" in str(raised.value) and "s3cret" not in str(raised.value)


def test_reads_follow_redirects_with_the_credentials_for_the_same_host_only(serve):
    elsewhere = serve(listing("elsewhere"))
    store = serve(lambda method, path: {
        "/fruits/": (301, {"Location": "/moved/fruits/"}, b""),
        "/moved/fruits/": (302, {"Location": elsewhere.url.replace("127.0.0.1", "localhost") + "fruits/"}, b""),
    }[path])
    assert client(store.url, api_token="t").list_products() == [{"via": "elsewhere"}]
    assert [(seen.method, seen.path, seen.headers.get("Authorization")) for seen in store.requests] == [
        ("GET", "/fruits/", "Token t"), ("GET", "/moved/fruits/", "Token t")]
    assert [(seen.path, seen.headers.get("Authorization")) for seen in elsewhere.requests] == [("/fruits/", None)]


def test_a_redirect_loop_ends(serve):
    store = serve(lambda method, path: (302, {"Location": path}, b""))
    with pytest.raises(api.StoreUnreachable, match="GET %sfruits/ failed: Exceeded 30 redirects." % store.url):
        client(store.url).list_products()
    assert len(store.requests) == 31


def test_a_post_follows_no_redirect(serve):
    store = serve(lambda method, path: (307, {"Location": "/elsewhere/"}, b""))
    with pytest.raises(api.StoreError, match=r"creating product 'Apple': POST %sfruits/ answered 307" % store.url):
        client(store.url, retries=0).create_product(dict(name="Apple", weight=500, description="", image_name="a"))
    assert [(seen.method, seen.path) for seen in store.requests] == [("POST", "/fruits/")]


def test_a_product_is_posted_as_json_and_an_image_as_a_multipart_file(serve, tmp_path):
    store = serve(lambda method, path: (201, {"Content-Type": "application/json"}, b"{}"))
    image = tmp_path / "001.jpeg"
    image.write_bytes(b"\xff\xd8 a picture \xff\xd9")
    store_client = client(store.url)
    store_client.create_product(dict(name="P\u00eache", weight=500, description="Sweet", image_name="p.jpeg"))
    store_client.upload_image(str(image), "p\u00eache 1.jpeg", "unused")
    posted, uploaded = store.requests
    assert posted.headers["Content-Type"] == "application/json"
    assert json.loads(posted.body) == dict(name="P\u00eache", weight=500, description="Sweet", image_name="p.jpeg")
    head = b"Content-Type: %s\r\n\r\n" % uploaded.headers["Content-Type"].encode()
    form = email.message_from_bytes(head + uploaded.body, policy=email.policy.HTTP)
    (part,) = form.iter_parts()
    assert part.get_param("name", header="Content-Disposition") == "file"
    assert part.get_filename() == "p\u00eache 1.jpeg" and part.get_content_type() == "image/jpeg"
    assert part.get_payload(decode=True) == image.read_bytes()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(serve, monkeypatch, variable):
    store, proxy = serve(listing("store")), serve(listing("proxy"))
    monkeypatch.setenv(variable, proxy.url.replace("http://", "http://ops:pr%40xy@"))
    assert client(store.url).list_products() == [{"via": "proxy"}]
    (seen,) = proxy.requests
    assert (seen.method, seen.path) == ("GET", store.url + "fruits/") and store.requests == []
    assert seen.headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"ops:pr@xy").decode()
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    assert client(store.url).list_products() == [{"via": "store"}]
    assert len(proxy.requests) == 1


def test_the_deadline_cuts_a_request_through_a_proxy(serve, monkeypatch):
    """A proxy that answers a byte every 0.2 s never lets a read time out: the watchdog must cut its connection."""
    proxy = serve(lambda method, path: (200, {"Content-Type": "application/json", "X-Drip": "0.2"}, b"[]" + b" " * 50))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    started = time.monotonic()
    with pytest.raises(api.StoreUnreachable, match="no whole answer within the timeout of 1 s"):
        client("http://store.invalid/", timeout=1).list_products()
    assert time.monotonic() - started < 3


def test_an_unusable_proxy_is_named(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "ftp://ops:s3cret@proxy.invalid:21")
    with pytest.raises(api.StoreError, match=r"proxy ftp://\*\*\*@proxy.invalid:21 from the environment") as raised:
        client("https://store.invalid/")
    assert "s3cret" not in str(raised.value)


def test_the_ca_bundle_is_ca_path_else_the_environments_else_certifis(monkeypatch, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")

    def tls(**params):
        options = client("https://store.invalid/", **params).http.connection_pool_kw
        return {key: options[key] for key in ("cert_reqs", "ca_certs", "ca_cert_dir") if key in options}

    assert tls() == {"cert_reqs": "CERT_REQUIRED", "ca_certs": requests.certs.where()}
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path))
    assert tls() == {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": str(tmp_path)}
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert tls() == {"cert_reqs": "CERT_REQUIRED", "ca_certs": str(bundle)}
    assert tls(ca_path=str(tmp_path)) == {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": str(tmp_path)}
    assert tls(validate_certs=False) == {"cert_reqs": "CERT_NONE"}
    with pytest.raises(api.StoreError, match="Could not find a suitable TLS CA certificate bundle, invalid path: /no"):
        tls(ca_path="/no/such.pem")


@pytest.mark.parametrize("spelled", ["http://store.test/", "http://store.test", "HTTP://STORE.test:80/",
                                     "http://user:secret@store.test/"])
def test_a_store_is_one_store_however_its_url_is_written(spelled):
    assert api.store_identity(spelled) == "http://store.test/"


@pytest.mark.parametrize("other", ["http://store.test:8000/", "https://store.test/", "http://store.test/shop/"])
def test_another_port_scheme_or_path_is_another_store(other):
    assert api.store_identity(other) != "http://store.test/"
    assert api.store_identity("HTTPS://Store.Test:443/shop") == "https://store.test/shop/"
