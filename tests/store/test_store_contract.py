"""The store answers as docs/store-api.md says, checked over HTTP against gunicorn."""
import base64
import html
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

FRUIT = {"name": "Apple", "weight": 500, "description": "Crisp and red.", "image_name": "001.jpeg"}


def post_fruit(store, session=requests, **fields):
    return session.post(store.url + "/fruits/", json={**FRUIT, **fields}, timeout=10)


def upload(store, name, data, session=requests):
    return session.post(store.url + "/upload/", files={"file": (name, data, "image/jpeg")}, timeout=10)


def test_fresh_store_lists_nothing(store):
    r = requests.get(store.url + "/fruits/", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == []


def test_post_returns_201_and_the_saved_object(store):
    r = post_fruit(store, name="Avocado", weight=200)
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "name", "weight", "description", "image_name"}
    assert body["name"] == "Avocado" and body["weight"] == 200 and isinstance(body["id"], int)


def test_list_is_oldest_first(store):
    ids = [post_fruit(store, name=f"Order {i}").json()["id"] for i in range(3)]
    listed = requests.get(store.url + "/fruits/", timeout=10).json()
    assert [f["id"] for f in listed] == sorted(f["id"] for f in listed)
    assert [f["name"] for f in listed if f["id"] in ids] == ["Order 0", "Order 1", "Order 2"]


def test_browser_get_of_the_api_gets_json(store):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = requests.get(store.url + "/fruits/", headers={"Accept": accept}, timeout=10)
    assert r.status_code == 200 and isinstance(r.json(), list)


@pytest.mark.parametrize("weight", [500, "500", "500.0"])
def test_weight_accepts_integer_forms(store, weight):
    r = post_fruit(store, weight=weight)
    assert r.status_code == 201 and r.json()["weight"] == 500


@pytest.mark.parametrize("weight", [-5, 10**9])
def test_weight_sanity_is_the_clients_job(store, weight):
    r = post_fruit(store, weight=weight)
    assert r.status_code == 201 and r.json()["weight"] == weight


@pytest.mark.parametrize("fields, bad", [
    ({"weight": "500 lbs"}, "weight"),
    ({"weight": 500.5}, "weight"),
    ({"weight": None}, "weight"),
    ({"description": ""}, "description"),
    ({"description": " \u00a0"}, "description"),
    ({"name": "x" * 101}, "name"),
    ({"name": ""}, "name"),
    ({"description": "x" * 5001}, "description"),
    ({"image_name": "x" * 101}, "image_name"),
])
def test_invalid_fields_give_400_with_field_errors(store, fields, bad):
    r = post_fruit(store, **fields)
    assert r.status_code == 400
    assert bad in r.json()


@pytest.mark.parametrize("missing", ["name", "weight", "image_name"])
def test_required_fields(store, missing):
    body = {k: v for k, v in FRUIT.items() if k != missing}
    r = requests.post(store.url + "/fruits/", json=body, timeout=10)
    assert r.status_code == 400 and missing in r.json()


def test_limits_are_inclusive(store):
    r = post_fruit(store, name="n" * 100, description="d" * 5000, image_name="i" * 100)
    assert r.status_code == 201


def test_strings_are_trimmed_nbsp_included(store):
    r = post_fruit(store, name=" Blackberry\u00a0", description="Dark and sweet.\u00a0\n", image_name=" 003.jpeg ")
    assert r.status_code == 201
    body = r.json()
    assert (body["name"], body["description"], body["image_name"]) == ("Blackberry", "Dark and sweet.", "003.jpeg")


def test_absent_description_is_stored_empty(store):
    body = {k: v for k, v in FRUIT.items() if k != "description"}
    r = requests.post(store.url + "/fruits/", json=body, timeout=10)
    assert r.status_code == 201 and r.json()["description"] == ""


def test_form_posts_work(store):
    r = requests.post(store.url + "/fruits/", data={**FRUIT, "weight": "250"}, timeout=10)
    assert r.status_code == 201 and r.json()["weight"] == 250


def test_every_post_adds_a_row(store):
    first, second = post_fruit(store, name="Twice"), post_fruit(store, name="Twice")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    names = [f["name"] for f in requests.get(store.url + "/fruits/", timeout=10).json()]
    assert names.count("Twice") == 2


def test_post_without_slash_is_500(store):
    r = requests.post(store.url + "/fruits", json=FRUIT, timeout=10, allow_redirects=False)
    assert r.status_code == 500


def test_get_without_slash_redirects(store):
    r = requests.get(store.url + "/fruits", timeout=10, allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"].endswith("/fruits/")


def test_upload_is_201_with_empty_body(store):
    data = b"\xff\xd8first upload"
    r = upload(store, "upload1.jpeg", data)
    assert r.status_code == 201
    assert r.content == b""
    assert (store.images / "upload1.jpeg").read_bytes() == data


def test_upload_without_file_field_is_400(store):
    r = requests.post(store.url + "/upload/", files={"image": ("x.jpeg", b"x")}, timeout=10)
    assert r.status_code == 400
    r = requests.post(store.url + "/upload/", data={}, timeout=10)
    assert r.status_code == 400


def test_second_upload_of_a_name_is_stored_under_another_name(store):
    assert upload(store, "twice.jpeg", b"one").status_code == 201
    assert upload(store, "twice.jpeg", b"two").status_code == 201
    assert (store.images / "twice.jpeg").read_bytes() == b"one"
    others = [p for p in store.images.iterdir() if re.fullmatch(r"twice_[A-Za-z0-9]{7}\.jpeg", p.name)]
    assert len(others) == 1 and others[0].read_bytes() == b"two"


@pytest.mark.parametrize("sent, stored", [("my fruit.jpeg", "my_fruit.jpeg"), ("a@b#c (1).jpeg", "abc_1.jpeg")])
def test_upload_names_are_cleaned_like_django_storage(store, sent, stored):
    assert upload(store, sent, b"data").status_code == 201
    assert (store.images / stored).read_bytes() == b"data"


def test_catalog_page_lists_products_with_images(store):
    post_fruit(store, name="Grape", weight=200, description="Sweet \u2019n small.", image_name="004.jpeg")
    post_fruit(store, name="<b>Bad & Co</b>", weight=7, image_name="x.jpeg")
    r = requests.get(store.url + "/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    page = r.text
    assert "<title>Fruit Catalog</title>" in page
    for fruit in requests.get(store.url + "/fruits/", timeout=10).json():
        assert html.escape(fruit["name"]) in page
        assert f"Weight: {fruit['weight']} lbs" in page
        assert f'<img src="/media/images/{html.escape(fruit["image_name"])}"' in page
    assert "Sweet \u2019n small." in page
    assert "<b>Bad" not in page and "&lt;b&gt;Bad &amp; Co&lt;/b&gt;" in page


def test_media_is_served_by_default(store):
    upload(store, "served.jpeg", b"served bytes")
    r = requests.get(store.url + "/media/images/served.jpeg", timeout=10)
    assert r.status_code == 200 and r.content == b"served bytes"
    assert requests.get(store.url + "/media/images/absent.jpeg", timeout=10).status_code == 404


def test_media_is_404_when_django_must_not_serve_it(store_factory):
    bare = store_factory(FRUITSTORE_STORE_SERVE_MEDIA="0")
    assert upload(bare, "hidden.jpeg", b"x").status_code == 201
    assert (bare.images / "hidden.jpeg").exists()
    assert requests.get(bare.url + "/media/images/hidden.jpeg", timeout=10).status_code == 404


def test_session_keeps_the_connection_alive(store):
    with requests.Session() as session:
        for _ in range(5):
            assert session.get(store.url + "/fruits/", timeout=10).status_code == 200
            assert post_fruit(store, session).status_code == 201
        assert upload(store, "keepalive.jpeg", b"k", session).status_code == 201
        pools = session.get_adapter(store.url).poolmanager.pools
        assert [pools[key].num_connections for key in pools.keys()] == [1]


def test_concurrent_posts_all_succeed(store):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: post_fruit(store, name=f"Concurrent {i}"), range(40)))
    assert [r.status_code for r in results] == [201] * 40
    assert len({r.json()["id"] for r in results}) == 40


def test_token_auth(store_factory):
    locked = store_factory(FRUITSTORE_STORE_TOKEN="s3cret")
    url = locked.url + "/fruits/"
    r = requests.get(url, timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Token"
    assert requests.get(url, headers={"Authorization": "Token wrong"}, timeout=10).status_code == 401
    good = {"Authorization": "Token s3cret"}
    assert requests.get(url, headers=good, timeout=10).status_code == 200
    assert requests.post(url, json=FRUIT, headers=good, timeout=10).status_code == 201
    assert requests.post(url, json=FRUIT, timeout=10).status_code == 401
    files = {"file": ("t.jpeg", b"t")}
    assert requests.post(locked.url + "/upload/", files=files, timeout=10).status_code == 401
    assert requests.post(locked.url + "/upload/", files=files, headers=good, timeout=10).status_code == 201
    assert requests.get(locked.url + "/", timeout=10).status_code == 200  # the page stays public


def test_basic_auth(store_factory):
    locked = store_factory(FRUITSTORE_STORE_BASIC_AUTH="fruit:pass:word")
    url = locked.url + "/fruits/"
    r = requests.get(url, timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(url, auth=("fruit", "wrong"), timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Basic !!notbase64"}, timeout=10).status_code == 401
    assert requests.get(url, auth=("fruit", "pass:word"), timeout=10).status_code == 200
    assert requests.post(url, json=FRUIT, auth=("fruit", "pass:word"), timeout=10).status_code == 201
    files = {"file": ("b.jpeg", b"b")}
    assert requests.post(locked.url + "/upload/", files=files, timeout=10).status_code == 401
    token = base64.b64encode(b"fruit:pass:word").decode()
    assert requests.post(locked.url + "/upload/", files=files, headers={"Authorization": f"Basic {token}"},
                         timeout=10).status_code == 201
    assert requests.get(locked.url + "/", timeout=10).status_code == 200
