# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  store_url:
    description:
      - Base URL of the store, for example V(http://localhost/) or V(https://store.example.com/).
      - The API is expected at C(fruits/) and C(upload/) below it, media at C(media/images/).
      - As with the Python library requests, a proxy that the environment names for this URL is used
        (C(HTTP_PROXY), C(HTTPS_PROXY), C(ALL_PROXY), C(NO_PROXY)), and when neither O(api_token), O(url_username) nor
        the URL gives credentials, C(~/.netrc) may give them for the store's host.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the store's TLS certificate. Only set to V(false) for a store you trust on a private network.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority that signed the store's certificate (for a private CA).
      - Without it, the store's certificate is verified against the bundle that C(REQUESTS_CA_BUNDLE) or
        C(CURL_CA_BUNDLE) names, else the one of the Python package certifi.
    type: path
  url_username:
    description:
      - User name for HTTP basic authentication. Requires O(url_password).
    type: str
  url_password:
    description:
      - Password for HTTP basic authentication. Never logged.
    type: str
  api_token:
    description:
      - "Token sent as C(Authorization: Token <api_token>). Takes precedence over basic authentication. Never logged."
    type: str
  timeout:
    description:
      - Seconds one request to the store may take, a deadline for its whole answer however slowly the store sends
        it, retries included; for a POST, its retries and the read-back before each retry share it too.
      - An import makes one request to list the store, then one per picture it checks or uploads and one per product
        it posts, a few at a time (O(fruitstore.catalog.delivery_import#module:upload_workers)); each has this
        deadline.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is tried again after a connection failure, a timeout or a 5xx answer,
        with exponential backoff. Before a POST is tried again, the store is read back, so that a POST whose
        answer was lost is never repeated.
    type: int
    default: 3
"""
