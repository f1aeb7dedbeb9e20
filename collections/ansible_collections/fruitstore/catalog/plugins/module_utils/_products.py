# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Reading a supplier's product descriptions and pairing them with their images.

from __future__ import annotations

import hashlib
import os
import re

from ansible_collections.fruitstore.catalog.plugins.module_utils._files import displayable, escaping_link

# The store's model limits (docs/store-api.md in the project's repository): refuse before posting rather than after a 400.
NAME_MAX = 100
DESCRIPTION_MAX = 5000
IMAGE_NAME_MAX = 100
WEIGHT_MAX = 100000
# A description is three lines; more than this is not a description, and is not read whole.
DESCRIPTION_BYTES_MAX = 64 * 1024

# What an import did to each product of a delivery (its action): posted now, already in the store, listed there from
# another delivery (kept as it is), left out as a conflict, failed.
CREATE, PRESENT, LISTED, CONFLICT, FAILED = ACTIONS = ("create", "present", "listed", "conflict", "failed")

_WEIGHT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)\s*lbs?\.?$", re.IGNORECASE)


class DescriptionError(Exception):
    """A description file cannot become a product; the text says why."""


def parse_weight(text):
    """'500 lbs' -> 500. Refuse anything that is not a whole, sane number of pounds."""
    match = _WEIGHT.match(text)
    if not match:
        raise DescriptionError("weight '%s' is not a number of lbs like '500 lbs'" % text)
    weight = int(match.group(1).replace(",", ""))
    if not 0 < weight <= WEIGHT_MAX:
        raise DescriptionError("weight %d lbs is out of range (1 to %d)" % (weight, WEIGHT_MAX))
    return weight


def decode(data):
    """Bytes of a description -> text: UTF-8 (with or without a BOM), else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_description(text):
    """Three meaningful lines -> {'name', 'weight', 'description'}."""
    # str.strip() also removes the trailing no-break spaces (U+00A0) suppliers leave; curly quotes are kept.
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) < 3:
        raise DescriptionError("expected three lines (name, weight, description), found %d" % len(lines))
    name, weight, description = lines[0], lines[1], " ".join(lines[2:])
    if len(name) > NAME_MAX:
        raise DescriptionError("name is %d characters long; the store allows %d" % (len(name), NAME_MAX))
    if len(description) > DESCRIPTION_MAX:
        raise DescriptionError("description is %d characters long; the store allows %d" % (len(description), DESCRIPTION_MAX))
    return {"name": name, "weight": parse_weight(weight), "description": description}


def stored_name(file_name):
    """The name Django's storage keeps an uploaded file under (django.utils.text.get_valid_filename)."""
    cleaned = re.sub(r"(?u)[^-\w.]", "", str(file_name).strip().replace(" ", "_"))
    return cleaned


def image_name_for(delivery_id, stem, extension):
    """The name a product's picture has in the store: its file stem, cleaned as the store cleans names, and a token
    of the delivery and the stem, so that deliveries numbered alike (every supplier starts at 001) never share or
    take each other's names, and the same item of the same delivery has the same name on every run, on any host."""
    token = hashlib.sha256(("%s\0%s" % (delivery_id, stem)).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    stem = stored_name(stem)[:IMAGE_NAME_MAX - len(token) - 1 - len(extension)]
    return "%s-%s%s" % (stem, token, extension) if stem else token + extension


def read_delivery(descriptions_dir, image_paths, delivery_id):
    """Pair every description with its converted image (by file stem).

    Returns (products, problems): products sorted by file stem, each with name, weight,
    description, image_path, image_name (see image_name_for) and source; problems as {'source', 'error'}.
    """
    products, problems = [], []
    images = dict((os.path.splitext(os.path.basename(path))[0], path) for path in image_paths)
    descriptions, refused = files_by_stem(descriptions_dir, ".txt")
    problems.extend(refused)
    for stem in sorted(set(images) | set(descriptions)):
        source = descriptions.get(stem) or images[stem]
        try:
            if stem not in descriptions:
                raise DescriptionError("an image without a description (%s.txt is missing)" % stem)
            if stem not in images:
                raise DescriptionError("a description without an image (no converted image %s.*)" % stem)
            with open(descriptions[stem], "rb", buffering=0) as handle:
                data = handle.read(DESCRIPTION_BYTES_MAX + 1)
            if len(data) > DESCRIPTION_BYTES_MAX:
                raise DescriptionError("over %d kB: a description is three lines (name, weight, description)"
                                       % (DESCRIPTION_BYTES_MAX >> 10))
            product = parse_description(decode(data))
            extension = stored_name(os.path.splitext(images[stem])[1].lower())
        except (DescriptionError, OSError) as e:
            problems.append({"source": source, "error": str(e)})
            continue
        product.update(image_path=images[stem], image_name=image_name_for(delivery_id, stem, extension),
                       source=descriptions[stem])
        products.append(product)
    return products, problems


def files_by_stem(directory, extension):
    """({stem: path}, refused) of the visible files of directory with that extension (any case).

    Refused, each {source, error}: a symbolic link that leads out of the directory (nothing outside a delivery is
    read), and files whose names differ only in the extension's case (001.txt and 001.TXT), which would be one."""
    found, refused = {}, []
    real_directory = os.path.realpath(directory)
    with os.scandir(directory) as entries:  # knows each entry's type without a stat per file
        for entry in sorted(entries, key=lambda entry: entry.name):
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() != extension or entry.name.startswith(".") or not entry.is_file():
                continue
            escaping = escaping_link(entry, directory, real_directory)
            if escaping:
                refused.append(escaping)
            elif stem in found:
                clash = [path for path in (found[stem], entry.path) if path]
                refused.extend({"source": path, "error": "several files would be %s%s (%s); rename all but one" % (
                    stem, extension, entry.name)} for path in clash)
                found[stem] = None
            else:
                found[stem] = entry.path
    return {stem: path for stem, path in found.items() if path}, refused


def errors_message(errors, what):
    """The message of a module that fails on item errors: '<count> <what>: <source>: <cause>; ...'."""
    items = "; ".join("%s: %s" % (item["source"], item["error"]) for item in errors)
    return displayable("%d %s: %s" % (len(errors), what, items))


def product_options(*required):
    """A product of a delivery as product_upload and delivery_import return it (RV products) and delivery_page and
    report_pdf take it: the suboptions of their option products (doc fragment fruitstore.catalog._products), with
    the keys this module needs required; the others are accepted, so that a returned product can be passed on."""
    options = dict(
        name=dict(type="str"),
        weight=dict(type="int"),
        description=dict(type="str"),
        image_name=dict(type="str"),
        image=dict(type="path"),
        source=dict(type="path"),
        action=dict(type="str", choices=list(ACTIONS)),
        error=dict(type="str"),
        note=dict(type="str"),
        picture_restored=dict(type="bool"),
    )
    for key in required:
        options[key]["required"] = True
    return options
