"""The fault suite: bad deliveries, store faults, mail faults and secrets, each against real servers.

Every case records what the user sees and what reached the store in var/docs/faults.md (see conftest.py)."""

import json
import os
import re
import signal
import ssl
import struct
import time

import pytest
import requests

from tests.faults import bad_delivery
from tests.faults.conftest import exactly_once, line_with, names_in, record
from tests.integration.playbook import run_import, start_import
from tools.services import DrippingServer, Fault, FaultProxy, Relay, Store, closed_port, self_signed_certificate

LAB = ["Apple", "Avocado", "Blackberry", "Grape", "Kiwifruit", "Lemon", "Mango", "Plum", "Strawberry", "Watermelon"]
MAIL_TIMEOUT = 3  # smtp_timeout where a relay never finishes (the role's default: 20 s)


@pytest.fixture
def proxy(store_factory):
    """A fault proxy in front of a fresh store; proxy.store is the store."""
    store = store_factory()
    proxy = FaultProxy(store.url)
    proxy.store = store
    yield proxy
    proxy.close()


# -- bad deliveries ---------------------------------------------------------------------------------------------

def test_every_bad_item_is_named_and_the_rest_imported(store_factory, small_delivery, mail_server, tmp_path):
    cases = bad_delivery.write(small_delivery, tmp_path / "outside.tiff")
    store = store_factory()
    result = run_import(small_delivery, store, mail_server)
    assert result.returncode != 0
    assert "item(s) of the delivery were not imported (the rest was)" in result.output
    imported = names_in(store)
    good = LAB + [text.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[0]
                  for _stem, _image, _writer, text, expected, _label in cases if expected is None]
    assert sorted(imported) == sorted(good), "exactly the good products, each once"
    for stem, _image, _writer, _text, expected, label in cases:
        if expected is None:
            record("bad delivery", label, "converted and imported", "yes", True)
            continue
        seen = line_with(result.output, "FAILED", "/%s." % stem)
        assert expected in seen
        record("bad delivery", label, seen, "no, the other products yes", True)
    assert mail_server.messages() == [], "the supplier is not told 'all uploaded' while items are missing"

    (small_delivery / "descriptions" / "d05.txt").write_text("In Words\n500 lbs\nFixed by the supplier.\n")
    before = len(store.requests("POST"))
    rerun = run_import(small_delivery, store, mail_server)
    new_posts = store.requests("POST")[before:]
    assert sorted(new_posts) == ["POST /fruits/ HTTP/1.1", "POST /upload/ HTTP/1.1"]
    assert names_in(store).count("In Words") == 1
    record("bad delivery", "re-run after the supplier fixed one description",
           line_with(rerun.output, "Products:"), "the fixed product, nothing else (2 POSTs)", True)


def test_a_changed_product_is_reported_never_posted_again(store_factory, small_delivery, mail_server):
    store = store_factory()
    assert run_import(small_delivery, store, mail_server).returncode == 0
    (small_delivery / "descriptions" / "001.txt").write_text("Apple\n450 lbs\nNow lighter.\n")
    before = store.requests("POST")
    second = run_import(small_delivery, store, mail_server)
    assert second.returncode != 0  # an item left out of the store
    assert store.requests("POST") == before
    seen = line_with(second.output, "CONFLICT", "001.txt")
    assert "changed since it was imported" in seen and "cannot update" in seen
    record("bad delivery", "a second delivery changes a product already in the store", seen,
           "unchanged (no POST)", exactly_once(store, LAB))


@pytest.mark.parametrize("variables, message, label", [
    ({"supplier_dir": "/nonexistent/delivery"}, "The delivery's folder /nonexistent/delivery does not exist (supplier_dir)",
     "option: a missing delivery folder"),
    ({"report_path": "/proc/processed.pdf"}, "Cannot write the report /proc/processed.pdf", "option: an unwritable output path"),
    ({"store_url": "localhost:8000"}, "must be an absolute http:// or https:// URL", "option: a store URL without scheme"),
])
def test_bad_options_get_a_clear_error(store_factory, small_delivery, mail_server, variables, message, label):
    result = run_import(small_delivery, store_factory(), mail_server, **variables)
    assert result.returncode != 0
    record("options", label, line_with(result.output, message), "nothing", True)


# -- store faults -----------------------------------------------------------------------------------------------

def test_500_answers_are_retried(proxy, small_delivery, mail_server):
    proxy.add(Fault("POST", "/fruits/", "status", times=2, status=500))
    proxy.add(Fault("POST", "/upload/", "status", times=1, status=503))
    result = run_import(small_delivery, proxy, mail_server)
    assert result.returncode == 0, result.output
    assert exactly_once(proxy, LAB)
    record("store", "two 500 and one 503 answers", "nothing: retried with backoff; " + line_with(result.output, "Products:"),
           "all 10", exactly_once(proxy, LAB) and len(mail_server.messages()) == 1)


def test_a_store_that_keeps_failing_then_recovers(proxy, small_delivery, mail_server):
    fault = proxy.add(Fault("POST", "/fruits/", "status", times=1000, status=500, body={"detail": "Server Error"}))
    result = run_import(small_delivery, proxy, mail_server, store_timeout=5)
    assert result.returncode != 0
    seen = line_with(result.output, "FAILED", "001.txt")
    assert "answered 500" in seen
    assert names_in(proxy) == [] and mail_server.messages() == []
    fault.times = 0
    rerun = run_import(small_delivery, proxy, mail_server)
    assert rerun.returncode == 0, rerun.output
    intact = exactly_once(proxy, LAB) and len(mail_server.messages()) == 1
    assert intact
    record("store", "every POST answered 500, then the store recovers", seen, "none, then all 10 on the re-run", intact)


def test_connection_refused(small_delivery, mail_server):
    class Down:
        url = "http://127.0.0.1:%d" % closed_port()

    result = run_import(small_delivery, Down, mail_server)
    assert result.returncode != 0
    record("store", "connection refused", line_with(result.output, "Connection refused"), "nothing", True)


def test_a_store_that_does_not_answer_in_time(proxy, small_delivery, mail_server):
    proxy.add(Fault("GET", "/fruits/", "delay", times=100, seconds=3))
    started = time.monotonic()
    result = run_import(small_delivery, proxy, mail_server, store_timeout=1)
    assert result.returncode != 0 and time.monotonic() - started < 60
    record("store", "a timeout (store_timeout: 1, the store takes 3 s)",
           line_with(result.output, "no whole answer within the timeout"), "nothing", names_in(proxy) == [])


def test_a_slow_store_is_waited_for(proxy, small_delivery, mail_server):
    proxy.add(Fault("POST", "/", "delay", times=1000, seconds=0.2))
    result = run_import(small_delivery, proxy, mail_server)
    assert result.returncode == 0, result.output
    record("store", "a slow store (0.2 s per POST)", line_with(result.output, "Products:"), "all 10",
           exactly_once(proxy, LAB))


def test_a_400_with_field_errors_names_the_field(proxy, small_delivery, mail_server):
    proxy.add(Fault("POST", "/fruits/", "status", times=1, status=400, body={"weight": ["A valid integer is required."]}))
    result = run_import(small_delivery, proxy, mail_server)
    assert result.returncode != 0
    seen = line_with(result.output, "FAILED", "001.txt")
    assert "answered 400" in seen and "A valid integer is required." in seen
    assert sorted(names_in(proxy)) == LAB[1:]
    rerun = run_import(small_delivery, proxy, mail_server)
    assert rerun.returncode == 0
    record("store", "a 400 with field errors for one product", seen, "the 9 others, then Apple on the re-run",
           exactly_once(proxy, LAB))


def test_a_wrong_base_path_is_a_404_with_a_hint(proxy, small_delivery, mail_server):
    class WrongPath:
        url = proxy.url + "/shop"

    result = run_import(small_delivery, WrongPath, mail_server)
    assert result.returncode != 0
    record("store", "a 404 at the URL (wrong base path)", line_with(result.output, "answered 404"), "nothing", True)


@pytest.mark.parametrize("path", ["/fruits/", "/upload/"])
def test_a_post_whose_answer_is_lost_is_never_repeated_blindly(proxy, small_delivery, mail_server, path):
    proxy.add(Fault("POST", path, "lose", times=2))
    result = run_import(small_delivery, proxy, mail_server)
    assert result.returncode == 0, result.output
    store_images = sorted(os.listdir(proxy.store.images))
    intact = exactly_once(proxy, LAB) and len(store_images) == 10
    assert intact, store_images
    record("store", "a POST %s that succeeded but whose answer was lost (twice)" % path,
           "nothing: the store is read back before the retry; " + line_with(result.output, "Products:"),
           "all 10, each once; 10 image files", intact)


def test_a_playbook_killed_mid_import_is_finished_by_the_rerun(store_factory, small_delivery, mail_server):
    store = store_factory(FRUITSTORE_STORE_WRITE_DELAY_MS="200")
    running = start_import(small_delivery, store, mail_server)
    deadline = time.monotonic() + 60
    while len(store.requests("POST /fruits/")) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(running.process.pid, signal.SIGKILL)
    running.finish()
    assert 3 <= len(names_in(store)) < 10
    rerun = run_import(small_delivery, store, mail_server)
    assert rerun.returncode == 0, rerun.output
    intact = exactly_once(store, LAB) and len(os.listdir(store.images)) == 10 and len(mail_server.messages()) == 1
    assert intact
    record("store", "ansible-playbook killed (SIGKILL) in the middle of the uploads",
           "re-run: " + line_with(rerun.output, "Products:"), "all 10, each once", intact)


def test_https_with_a_self_signed_certificate(store_factory, small_delivery, mail_server, tmp_path):
    certfile, keyfile = self_signed_certificate(tmp_path)
    store = Store(tmp_path / "tls-store", certificate=(certfile, keyfile)).start()
    try:
        refused = run_import(small_delivery, store, mail_server)
        assert refused.returncode != 0
        seen = line_with(refused.output, "TLS verification")
        assert "ca_path" in seen
        accepted = run_import(small_delivery, store, mail_server, store_ca_path=certfile)
        assert accepted.returncode == 0, accepted.output
        intact = exactly_once(store, LAB, verify=certfile)
    finally:
        store.stop()
    record("store", "HTTPS with a self-signed certificate, by default", seen, "nothing", True)
    record("store", "HTTPS with a self-signed certificate, store_ca_path given", line_with(accepted.output, "Products:"),
           "all 10", intact)


# -- mail faults ------------------------------------------------------------------------------------------------

def test_relay_down_then_back_sends_exactly_once(store_factory, small_delivery):
    store = store_factory()
    relay = Relay()
    result = run_import(small_delivery, store, relay)  # not started yet: nothing listens on its port
    assert result.returncode != 0
    seen = line_with(result.output, "was not sent")
    assert exactly_once(store, LAB)
    with relay:
        assert run_import(small_delivery, store, relay).returncode == 0
        assert run_import(small_delivery, store, relay).returncode == 0
        sent = len(relay.messages)
    assert sent == 1
    record("mail", "relay down, then back", seen, "all 10; the mail on the next run, once", sent == 1)


def test_auth_refused(store_factory, small_delivery):
    with Relay(login=("automation", "right")) as relay:
        result = run_import(small_delivery, store_factory(), relay, smtp_username="automation", smtp_password="wrong")
        assert result.returncode != 0 and relay.messages == []
    record("mail", "AUTH refused", line_with(result.output, "refused the login"), "all 10; no mail", True)


def test_a_refused_recipient_fails(store_factory, small_delivery):
    with Relay(refuse={"nobody@example.com"}) as relay:
        result = run_import(small_delivery, store_factory(), relay, report_recipient="nobody@example.com")
        assert result.returncode != 0 and relay.messages == []
    record("mail", "the recipient refused", line_with(result.output, "nobody@example.com (550"), "all 10; no mail", True)


def test_starttls_required_but_not_offered(store_factory, small_delivery):
    with Relay() as relay:
        result = run_import(small_delivery, store_factory(), relay, smtp_security="starttls")
        assert result.returncode != 0 and relay.messages == []
    record("mail", "STARTTLS required, relay does not offer it", line_with(result.output, "does not offer STARTTLS"),
           "all 10; no mail (never sent in plain text)", True)


def test_a_relay_certificate_that_does_not_verify(store_factory, small_delivery, tmp_path):
    certfile, keyfile = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    store = store_factory()
    with Relay(starttls_context=context) as relay:
        result = run_import(small_delivery, store, relay, smtp_security="starttls")
        assert result.returncode != 0 and relay.messages == []
        trusted = run_import(small_delivery, store, relay, smtp_security="starttls", smtp_ca_path=certfile)
        assert trusted.returncode == 0, trusted.output
        sent = len(relay.messages)
    record("mail", "STARTTLS with a certificate that does not verify", line_with(result.output, "certificate verify failed"),
           "all 10; no mail until smtp_ca_path trusts it, then one", sent == 1)


@pytest.mark.parametrize("drip, step, label", [
    ("banner", "the banner", "a relay that sends its banner a byte a second and never ends it"),
    ("ehlo", "the answer to EHLO", "a relay that answers EHLO a byte a second (it would take minutes)"),
])
def test_a_dripping_relay_is_given_up_on_at_the_timeout(store_factory, small_delivery, drip, step, label):
    store = store_factory()
    # A byte a second, well within the timeout: only a deadline for the whole exchange ends the wait.
    with DrippingServer.smtp(drip, interval=1.0) as relay:
        result = run_import(small_delivery, store, relay, smtp_timeout=MAIL_TIMEOUT)
    assert result.returncode != 0
    seen = re.search(r"The report mail to \S+ was not sent: the relay [^\n]*? did not finish the SMTP exchange "
                     r"within the timeout of %d s \(gave up waiting for %s\)" % (MAIL_TIMEOUT, step), result.output)
    assert seen, "no give-up at the timeout of %d s in the output:\n%s" % (MAIL_TIMEOUT, result.output[-3000:])
    seen = seen.group(0)
    [held] = relay.held
    assert held <= MAIL_TIMEOUT + 2, "report_mail held the relay for %.1f s; its timeout is %d s" % (held, MAIL_TIMEOUT)
    with Relay() as fixed:
        rerun = run_import(small_delivery, store, fixed)
        sent = len(fixed.messages)
    intact = rerun.returncode == 0 and sent == 1 and exactly_once(store, LAB)
    assert intact, rerun.output[-2000:]
    record("mail", label, seen, "all 10; the mail gave up after %.0f s (timeout %d), sent once by the re-run"
           % (held, MAIL_TIMEOUT), intact)


@pytest.mark.parametrize("variable, option, value", [
    ("report_recipient", "mail.to", "supplier@example.com\nBcc: spy@example.com"),
    ("mail_from", "mail.sender", "automation@example.com\r\nBcc: spy@example.com"),
])
def test_a_mail_address_with_a_line_break_inside_is_refused(store_factory, small_delivery, variable, option, value):
    store = store_factory()
    with Relay() as relay:
        result = run_import(small_delivery, store, relay, **{variable: value})
        assert result.returncode != 0 and relay.messages == []
    seen = line_with(result.output, "option '%s' must be a single line" % option)
    untouched = store.requests("POST") == []
    assert untouched
    record("mail", "%s with a line break inside (header injection)" % variable, seen,
           "nothing: the setting is refused before anything is imported; no mail", untouched)


def test_a_recipient_ending_in_a_newline_is_cleaned(store_factory, small_delivery):
    store = store_factory()
    with Relay() as relay:
        result = run_import(small_delivery, store, relay, report_recipient="supplier@example.com\n")
        assert result.returncode == 0, result.output[-2000:]
        [mail] = relay.messages
    whole = (mail["To"], mail["Subject"]) == ("supplier@example.com", "Upload Completed - Online Fruit Store") \
        and "2,790 lbs" in mail.get_body(("plain",)).get_content() and len(list(mail.iter_attachments())) == 1
    assert whole, mail.as_string()[:2000]
    record("mail", "report_recipient ending in a newline (a YAML folded scalar)",
           "nothing: the address is cleaned; " + line_with(result.output, "Products:"), "all 10; one whole mail",
           whole and exactly_once(store, LAB))


# -- secrets ----------------------------------------------------------------------------------------------------

def test_secrets_never_appear_even_at_vvv(store_factory, small_delivery):
    token, password = "tok-3f9a-SECRET-store", "pw-77c1-SECRET-smtp"
    store = store_factory(FRUITSTORE_STORE_TOKEN=token)
    with Relay(login=("automation", password)) as relay:
        result = run_import(small_delivery, store, relay, "-vvv", store_api_token=token,
                            smtp_username="automation", smtp_password=password)
        assert result.returncode == 0, result.output[-3000:]
        assert len(relay.messages) == 1
    assert exactly_once(store, LAB, headers={"Authorization": "Token " + token})
    leaks = [line for line in result.output.splitlines() if token in line or password in line]
    # The -e on the command line is the operator's own input; ansible-playbook echoes it in nothing it logs.
    assert leaks == [], leaks[:3]
    state = small_delivery / ".fruitstore"
    for path in state.iterdir():
        content = path.read_bytes()
        assert token.encode() not in content and password.encode() not in content, path
    record("secrets", "store token and SMTP password in a -vvv run, the returned values and the state files",
           "`%d lines of -vvv output, none with the token or the password`" % len(result.output.splitlines()),
           "all 10", True)


# -- hostile deliveries, stores and relays -----------------------------------------------------------------------

def _float_rgb_tiff(path, size=(30, 20)):
    """A valid TIFF of three 32-bit floating point samples per pixel: a picture Pillow cannot decode."""
    width, height = size
    pixels = struct.pack("<f", 1.0) * 3 * width * height
    count = 10
    bits_at = 8 + 2 + 12 * count + 4
    formats_at, data_at = bits_at + 6, bits_at + 12

    def entry(tag, kind, number, value):
        return struct.pack("<HHII", tag, kind, number, value)

    directory = [entry(256, 4, 1, width), entry(257, 4, 1, height), entry(258, 3, 3, bits_at), entry(259, 3, 1, 1),
                 entry(262, 3, 1, 2), entry(273, 4, 1, data_at), entry(277, 3, 1, 3), entry(278, 4, 1, height),
                 entry(279, 4, 1, len(pixels)), entry(339, 3, 3, formats_at)]
    path.write_bytes(b"II*\x00" + struct.pack("<IH", 8, count) + b"".join(directory) + struct.pack("<I", 0)
                     + struct.pack("<6H", 32, 32, 32, 3, 3, 3) + pixels)


def _replace_description(delivery, stem, data):
    (delivery / "descriptions" / (stem + ".txt")).write_bytes(data)


def test_nothing_outside_the_delivery_is_read_shown_or_written(store_factory, small_delivery, mail_server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\nSecret Second Line\nthird line\n")
    (small_delivery / "descriptions" / "003.txt").unlink()
    (small_delivery / "descriptions" / "003.txt").symlink_to(secret)
    store = store_factory()
    result = run_import(small_delivery, store, mail_server)
    assert result.returncode != 0
    seen = line_with(result.output, "FAILED", "003.txt")
    assert "symbolic link to a file outside" in seen
    page = (small_delivery / "delivery.html").read_text()
    leaked = "Secret Second Line" in result.output + page or "root:x" in "".join(names_in(store))
    assert not leaked
    record("hostile", "a description that is a symbolic link to a file outside the delivery", seen,
           "the other 9; nothing of the file shown", not leaked and len(names_in(store)) == 9)

    # State files planted as links to a file elsewhere are neither read nor written through.
    outside = tmp_path / "outside.jsonl"
    outside.write_text("untouched\n")
    state = small_delivery / ".fruitstore"
    (state / "uploads.jsonl").unlink()
    (state / "uploads.jsonl").symlink_to(outside)
    (state / "progress.log").unlink()
    (state / "progress.log").symlink_to(outside)
    (small_delivery / "descriptions" / "003.txt").unlink()
    _replace_description(small_delivery, "003", b"Blackberry\n150 lbs\nDark.\n")
    again = run_import(small_delivery, store, mail_server)
    assert again.returncode != 0 or "symbolic link" in again.output
    untouched = outside.read_text() == "untouched\n"
    assert untouched
    record("hostile", "state files (.fruitstore/uploads.jsonl, progress.log) planted as links to a file elsewhere",
           line_with(again.output, "symbolic link"), "the file elsewhere untouched", untouched)


@pytest.mark.parametrize("name, content", [
    ("null", b"null"), ("a list", b"[1, 2, 3]"), ("cut short", b'{"images": {"001.tiff": {"out'),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\xff\xfe"), ("wrong shape", b'{"images": [1]}'),
])
def test_damaged_state_files_are_named_set_aside_and_rebuilt(store_factory, small_delivery, mail_server, name,
                                                            content):
    store = store_factory()
    assert run_import(small_delivery, store, mail_server).returncode == 0
    state = small_delivery / ".fruitstore"
    posts, mails = store.requests("POST"), len(mail_server.messages())
    seen = []
    # The manifest and the sent-mail record in one run (the journal still says the products were posted from here,
    # so the mail is due and its record is read), then the journal in the next.
    for damaged in (("images.json", "sent-mail.json"), ("uploads.jsonl",)):
        for file_name in damaged:
            (state / file_name).write_bytes(content + (b"\n" if file_name.endswith(".jsonl") else b""))
        result = run_import(small_delivery, store, mail_server)
        assert result.returncode == 0, result.output[-3000:]
        for file_name in damaged:
            seen.append(line_with(result.output, "is damaged", file_name))
            assert list(state.glob(file_name + ".damaged-*")), file_name
    intact = store.requests("POST") == posts and len(mail_server.messages()) == mails
    assert intact
    record("hostile", "state files (manifest, sent-mail record, upload journal) damaged: %s" % name,
           seen[1], "nothing posted or mailed again", intact)


def test_leftover_temporary_files_are_removed_and_never_taken_for_the_suppliers(store_factory, small_delivery,
                                                                               mail_server):
    store = store_factory()
    assert run_import(small_delivery, store, mail_server).returncode == 0
    leftovers = [small_delivery / "images" / ".003.jpeg.a1b2c3.fruitstore-tmp",
                 small_delivery / ".fruitstore" / ".images.json.d4e5f6.fruitstore-tmp"]
    for path in leftovers:
        path.write_bytes(b"half written when the disk filled up")
    (small_delivery / "images" / "003.jpeg").unlink()
    result = run_import(small_delivery, store, mail_server)
    assert result.returncode == 0, result.output[-3000:]
    clean = not any(path.exists() for path in leftovers) and "fruitstore-tmp" not in result.output
    assert clean
    record("hostile", "temporary files a full disk left behind (images/ and .fruitstore/)",
           line_with(result.output, "Images:"), "all 10; the leftovers removed, never counted", clean)


def test_names_are_stored_and_shown_faithfully(store_factory, small_delivery, mail_server):
    os.rename(small_delivery / "images" / "004.tiff", small_delivery / "images" / "red apple.tiff")
    os.rename(small_delivery / "descriptions" / "004.txt", small_delivery / "descriptions" / "red apple.txt")
    os.rename(small_delivery / "images" / "005.tiff", small_delivery / "images" / "red_apple.tiff")
    os.rename(small_delivery / "descriptions" / "005.txt", small_delivery / "descriptions" / "red_apple.txt")
    os.rename(small_delivery / "images" / "006.tiff", small_delivery / "images" / "lemon #6?.tiff")
    os.rename(small_delivery / "descriptions" / "006.txt", small_delivery / "descriptions" / "lemon #6?.txt")
    latin1 = os.fsencode(str(small_delivery / "images")) + b"/p\xeache.tiff"
    os.rename(small_delivery / "images" / "007.tiff", latin1)
    os.rename(small_delivery / "descriptions" / "007.txt",
              os.fsencode(str(small_delivery / "descriptions")) + b"/p\xeache.txt")
    _replace_description(small_delivery, "008", "Слива Сладкая\n150 lbs\nΚαλό φρούτο, śliwka 李子.\n".encode())
    (small_delivery / "descriptions" / "009.TXT").write_bytes(b"Twin\n5 lbs\nA second description for 009.\n")
    store = store_factory()
    result = run_import(small_delivery, store, mail_server)
    assert result.returncode != 0  # 009.txt and 009.TXT: which one is meant?
    seen = line_with(result.output, "FAILED", "009.TXT")
    assert "several files would be 009.txt" in seen
    products = requests.get(store.url + "/fruits/", timeout=10).json()
    images = [product["image_name"] for product in products]
    assert len(set(images)) == len(images) == 9, images
    for product in products:
        assert (store.images / product["image_name"]).exists(), product
    page = (small_delivery / "delivery.html").read_text()
    assert "lemon%20%236%3F.jpeg" in page and "p\\xeache" in page and "Слива Сладкая" in page
    from pypdf import PdfReader
    report = "\n".join(page.extract_text() for page in PdfReader(small_delivery / "processed.pdf").pages)
    assert "Слива Сладкая" in report
    record("hostile", "names: red apple.tiff beside red_apple.tiff, '#' and '?', a Latin-1 file name, Cyrillic, "
           "001.txt beside 001.TXT", seen, "9, each with its own picture; the name readable in the PDF", True)


def test_pictures_come_out_upright_and_an_undecodable_one_is_named(store_factory, small_delivery, mail_server):
    from PIL import Image
    upright = Image.new("RGBA", (300, 450), (200, 30, 30, 255))
    upright.paste((30, 30, 200, 255), (0, 0, 300, 60))  # a blue band at the top
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # stored turned, with the tag saying how to turn it back
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(small_delivery / "images" / "002.tiff", exif=exif)
    _float_rgb_tiff(small_delivery / "images" / "003.tiff")
    store = store_factory()
    result = run_import(small_delivery, store, mail_server, image_size=[200, 300])
    seen = line_with(result.output, "FAILED", "003.tiff")
    assert "a valid TIFF that cannot be decoded" in seen and "32-bit floating point" in seen
    with Image.open(small_delivery / "images" / "002.jpeg") as picture:
        top, bottom = picture.getpixel((100, 10)), picture.getpixel((100, 290))
    is_upright = top[2] > 150 and top[0] < 100 and bottom[0] > 150
    assert is_upright, (top, bottom)
    record("hostile", "an RGBA TIFF stored rotated (orientation tag); a 32-bit float TIFF", seen,
           "the rotated one upright; the float one named", is_upright)


def test_a_huge_description_is_refused_without_being_read_whole(store_factory, small_delivery, mail_server):
    with open(small_delivery / "descriptions" / "004.txt", "wb") as handle:
        handle.write(b"Grape\n200 lbs\n")
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB that take no disk
    store = store_factory()
    result = run_import(small_delivery, store, mail_server)
    seen = line_with(result.output, "FAILED", "004.txt")
    assert "over 64 kB" in seen
    record("hostile", "a 200 MB description", seen, "the other 9", len(names_in(store)) == 9)


def test_what_the_store_answers_is_checked(proxy, small_delivery, mail_server):
    def with_junk(body):
        return json.dumps(json.loads(body) + [1, "text", None, {"name": 5, "weight": "x"}]).encode()

    proxy.add(Fault("GET", "/fruits/", "rewrite", times=100, rewrite=with_junk))
    proxy.add(Fault("POST", "/fruits/", "status", times=100, status=201,
                    body={"id": 99, "name": "x", "weight": 1, "description": "x", "image_name": "x"}))
    proxy.url = proxy.url.replace("http://", "http://ops:s3cr3t-pw@")
    first = run_import(small_delivery, proxy, mail_server)
    assert first.returncode != 0 and "s3cr3t-pw" not in first.output
    seen = line_with(first.output, "FAILED", "001.txt")
    assert "accepted it (201 Created) but does not list it" in seen
    assert "entries that are not products" in first.output
    posts = len([request for request in proxy.seen if request == ("POST", "/fruits/")])
    second = run_import(small_delivery, proxy, mail_server)
    again = len([request for request in proxy.seen if request == ("POST", "/fruits/")]) - posts
    assert again == 0 and "never listed it" in second.output and "s3cr3t-pw" not in second.output
    record("hostile", "a store that lists non-products and accepts POSTs (201) it never lists; a password in "
           "store_url", seen, "nothing; the re-run posts nothing again, the password shown nowhere", again == 0)


def test_a_store_that_answers_a_byte_a_second_is_given_up_on_at_the_timeout(small_delivery, mail_server):
    with DrippingServer.http(interval=1.0) as store:
        started = time.monotonic()
        result = run_import(small_delivery, store, mail_server, store_timeout=3)
        took = time.monotonic() - started
    assert result.returncode != 0
    seen = line_with(result.output, "no whole answer within the timeout of 3")
    assert took < 30, took  # the playbook's own start-up and the conversion, plus the 3 s deadline
    record("hostile", "a store that answers a byte a second (store_timeout 3)", seen,
           "nothing; gave up after %.0f s in all" % took, True)
