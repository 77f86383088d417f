#!/usr/bin/env python3
"""test_media.py - uploaded images and documents (issue #17).

POST /api/v1/{m}/media takes the file itself as the body.  Checked here:
JPEG, PNG and PDF uploads answer 201 with the record; the same bytes again
answer 200 with the same record; a JPEG carrying EXIF GPS and an
orientation is stored upright and without its metadata; renditions exist
and are what they say; a PHP script sent as a PNG, an SVG, a polyglot (a
PNG with a script appended), a type mismatch and a PNG declaring
100000x100000 pixels are refused; a body over media.max_bytes gets 413 and
one over the municipality's quota 507 (tests/run.sh gives provkommun
media_quota_bytes = 300000); a file an item uses cannot be deleted (409)
and an unused one can; nginx serves the files with the right headers.
"""
import base64
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (PORTAL_CONF, PORTALCTL, Fail, Tap, create_token, expect,  # noqa: E402
                     expect_json, expect_problem, raw_request_status, request)

SLUG = "lerum"
QUOTA_SLUG = "provkommun"
QUOTA = 300000
MAX_BYTES = 20 * 1024 * 1024
MEDIA_DIR = os.path.join(os.environ.get("PORTAL_VAR", ""), "media")
S = {}

# a 64x32 grey gradient, baseline JPEG without metadata (made with libvips)
TINY_JPEG = base64.b64decode("/9j/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozv/wAARCAAgAEADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDyS17Vs2vasa17Vs2vagDate1bVr2rFte1bVr2oA2bXtW1a9qxbXtW1a9qANm17VtWvasW17VtWvagD5Mte1bNr2rGte1bNr2oA2rXtW1a9qxbXtW1a9qANm17VtWvasW17VtWvagDZte1bVr2rFte1bVr2oA//9k=")


def png(w, h, nonce=b"", declared=None):
    """A PNG w x h (RGB gradient) from the standard library; `declared`
    (w, h) writes other dimensions in its header than its data has."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in ((x * 255 // w) & 255, (y * 255 // h) & 255,
                                                              (len(nonce) * 37) & 255))
                   for y in range(h))
    dw, dh = declared or (w, h)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", dw, dh, 8, 2, 0, 0, 0)) +
            (chunk(b"tEXt", b"Comment\0" + nonce) if nonce else b"") +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_size(data):
    expect(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r" % data[:16])
    return struct.unpack(">II", data[16:24])


def exif_gps(orientation=6):
    """An APP1 Exif segment: IFD0 with Orientation and a GPS IFD pointer,
    the GPS IFD with latitude 57.75 N (big-endian TIFF)."""
    def entry(tag, typ, count, value):
        return struct.pack(">HHI", tag, typ, count) + value
    # offsets from the TIFF header: IFD0 at 8 (2 entries), GPS IFD after it
    ifd0_len = 2 + 2 * 12 + 4
    gps_off = 8 + ifd0_len
    gps_entries = 2
    gps_len = 2 + gps_entries * 12 + 4
    rat_off = gps_off + gps_len
    ifd0 = (struct.pack(">H", 2) +
            entry(0x0112, 3, 1, struct.pack(">HH", orientation, 0)) +
            entry(0x8825, 4, 1, struct.pack(">I", gps_off)) + struct.pack(">I", 0))
    gps = (struct.pack(">H", gps_entries) +
           entry(0x0001, 2, 2, b"N\0\0\0") +
           entry(0x0002, 5, 3, struct.pack(">I", rat_off)) + struct.pack(">I", 0))
    rats = struct.pack(">IIIIII", 57, 1, 45, 1, 0, 1)
    tiff = b"MM\0*" + struct.pack(">I", 8) + ifd0 + gps + rats
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def jpeg_with_gps():
    return TINY_JPEG[:2] + exif_gps() + TINY_JPEG[2:]


def pdf(nonce, size=0):
    body = b"%PDF-1.4\n%" + nonce + b"\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    body += b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    while len(body) < size:
        body += b"% filler line to make the document larger than it needs to be\n"
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


def upload(data, ctype, slug=SLUG, token=None, query=None):
    return request("POST", "/api/v1/%s/media" % slug, raw=data, content_type=ctype,
                   token=token or S["tok"], query=query)


def fetch(url):
    return request("GET", url, headers={"Accept": "*/*"})


def setup():
    S["tok"] = create_token(SLUG, "editor")
    S["reader"] = create_token(SLUG, "reader")
    S["qtok"] = create_token(QUOTA_SLUG, "editor")
    S["h_tok"] = create_token("herrljunga", "editor")
    S["nonce"] = os.urandom(8).hex().encode()


def t_auth():
    r = request("POST", "/api/v1/%s/media" % SLUG, raw=TINY_JPEG, content_type="image/jpeg")
    expect_problem(r, 401)
    r = upload(TINY_JPEG, "image/jpeg", token=S["reader"])
    expect_problem(r, 403)


def t_png():
    data = png(600, 400, nonce=S["nonce"])
    r = upload(data, "image/png", query={"name": "gradient.png"})
    o = expect_json(r, 201)
    for k in ("id", "url", "type", "bytes", "sha256", "width", "height", "renditions"):
        expect(k in o, "no %r in %r" % (k, o))
    expect(o["type"] == "image/png" and o["width"] == 600 and o["height"] == 400, "record %r" % o)
    expect(o["bytes"] == len(data), "bytes %r, sent %d" % (o["bytes"], len(data)))
    expect(o["sha256"] == hashlib.sha256(data).hexdigest(), "sha256 %r" % o["sha256"])
    expect(r.header("Location") == "/api/v1/%s/media/%d" % (SLUG, o["id"]), "Location %r" % r.header("Location"))
    S["png"] = o
    # the renditions: 320 wide (PNG and WebP) and a full-size WebP; none larger than the original
    widths = sorted((x["width"], x["type"]) for x in o["renditions"])
    expect((320, "image/png") in widths and (320, "image/webp") in widths and (600, "image/webp") in widths,
           "renditions %r" % widths)
    expect(all(x["width"] <= 600 for x in o["renditions"]), "a rendition larger than the original")
    small = [x for x in o["renditions"] if x["width"] == 320 and x["type"] == "image/png"][0]
    f = fetch(small["url"])
    expect(f.status == 200, "GET %s: %d" % (small["url"], f.status))
    expect(png_size(f.body) == (320, 213), "the 320 rendition is %r" % (png_size(f.body),))
    w = fetch([x for x in o["renditions"] if x["type"] == "image/webp"][0]["url"])
    expect(w.status == 200 and w.body[:4] == b"RIFF" and w.body[8:12] == b"WEBP", "the WebP rendition is no WebP")


def t_dedupe():
    data = png(600, 400, nonce=S["nonce"])
    r = upload(data, "image/png")
    o = expect_json(r, 200)
    expect(o["id"] == S["png"]["id"] and o["url"] == S["png"]["url"], "another record: %r" % o)
    lst = expect_json(request("GET", "/api/v1/%s/media" % SLUG), 200)
    expect(sum(1 for x in lst["items"] if x["sha256"] == o["sha256"]) == 1, "listed twice")
    one = expect_json(request("GET", "/api/v1/%s/media/%d" % (SLUG, o["id"])), 200)
    expect(one["sha256"] == o["sha256"] and one["used_by"] == {}, "GET one: %r" % one)


def t_concurrent():
    """The same new bytes from six requests at once: one 201, the others 200
    (the record) or 409 (a twin still writing), never a 5xx."""
    import threading
    data = png(300, 200, nonce=S["nonce"] + b"c")
    res = []

    def go():
        res.append(upload(data, "image/png").status)
    ts = [threading.Thread(target=go) for _ in range(6)]
    for t_ in ts:
        t_.start()
    for t_ in ts:
        t_.join()
    expect(res.count(201) == 1 and all(x in (200, 201, 409) for x in res), "answers %r" % sorted(res))
    lst = expect_json(request("GET", "/api/v1/%s/media" % SLUG, query={"limit": "100"}), 200)
    sha = hashlib.sha256(data).hexdigest()
    expect(sum(1 for x in lst["items"] if x["sha256"] == sha) == 1, "not one record of the bytes")


def t_jpeg_gps():
    data = jpeg_with_gps()
    expect(b"GPS" not in data and data.count(b"Exif") == 1, "the test JPEG has no Exif")
    r = upload(data, "image/jpeg", query={"name": "photo-%s.jpg" % S["nonce"].decode()})
    o = expect_json(r, 200, 201)
    # orientation 6 (rotate 90) applied: 64x32 becomes 32x64
    expect(o["type"] == "image/jpeg" and (o["width"], o["height"]) == (32, 64),
           "stored %sx%s, not upright 32x64" % (o["width"], o["height"]))
    f = fetch(o["url"])
    expect(f.status == 200 and f.body[:2] == b"\xff\xd8", "GET %s: %d" % (o["url"], f.status))
    expect(b"Exif" not in f.body, "the stored JPEG still has an Exif segment")
    expect(b"N\0\0\0" not in f.body or b"\x00\x01\x00\x02" not in f.body, "GPS left in the stored file")
    S["jpeg"] = o


def t_pdf():
    data = pdf(S["nonce"])
    o = expect_json(upload(data, "application/pdf", query={"name": "Avtal Lerum-Kaunas.pdf"}), 201)
    expect(o["type"] == "application/pdf" and o["width"] is None and o["renditions"] == [], "record %r" % o)
    expect(o["name"] == "Avtal Lerum-Kaunas.pdf", "name %r" % o["name"])
    f = fetch(o["url"])
    expect(f.status == 200 and f.body == data, "GET %s: %d, %d bytes" % (o["url"], f.status, len(f.body)))
    S["pdf"] = o


def t_refused():
    cases = [
        ("a PHP script sent as a PNG", b"<?php system($_GET['c']); ?>\n", "image/png", (415, 422)),
        ("an SVG", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
         "image/svg+xml", (415,)),
        ("an SVG sent as a PNG", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
         "image/png", (415, 422)),
        ("a PNG with a script appended (polyglot)", png(20, 20, nonce=S["nonce"]) +
         b"<script>alert(document.cookie)</script>", "image/png", (415, 422)),
        ("a JPEG with PHP inside (polyglot)", TINY_JPEG[:-2] + b"<?php echo 1; ?>" + TINY_JPEG[-2:],
         "image/jpeg", (415, 422)),
        ("a PNG sent as a JPEG (type mismatch)", png(20, 20, nonce=S["nonce"] + b"m"), "image/jpeg", (415,)),
        ("a PDF sent as a PNG (type mismatch)", pdf(S["nonce"] + b"x"), "image/png", (415,)),
        ("an HTML page sent as a PDF", b"<!DOCTYPE html><html><body>hi</body></html>", "application/pdf",
         (415, 422)),
        ("a PDF with JavaScript", pdf(S["nonce"] + b"js").replace(b"/Type /Catalog",
                                                              b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
         "application/pdf", (415, 422)),
        ("a decompression bomb: a small PNG declaring 100000x100000",
         png(16, 16, declared=(100000, 100000)), "image/png", (422,)),
        ("a truncated PNG", png(64, 64, nonce=S["nonce"] + b"t")[:200], "image/png", (415, 422)),
        ("a text file", b"just some text\n", "text/plain", (415,)),
        ("no Content-Type", TINY_JPEG, None, (415,)),
        ("an empty body", b"", "image/png", (400, 415, 422)),
    ]
    bad = []
    for what, data, ctype, codes in cases:
        r = upload(data, ctype)
        if r.status not in codes or r.ctype != "application/problem+json":
            bad.append("%s: %d %s (want %s)" % (what, r.status, r.text[:200], codes))
    if bad:
        raise Fail("; ".join(bad))


def t_too_large():
    body = b"%PDF-1.4\n" + b"0" * (MAX_BYTES + 1 - 9)
    r = raw_request_status("POST", "/api/v1/%s/media" % SLUG,
                           {"Authorization": "Bearer " + S["tok"], "Content-Type": "application/pdf"}, body,
                           timeout=60)
    expect_problem(r, 413)


def t_quota():
    # start empty: what earlier runs left in provkommun goes
    lst = expect_json(request("GET", "/api/v1/%s/media" % QUOTA_SLUG, query={"limit": "100"}), 200)
    for x in lst["items"]:
        expect(request("DELETE", "/api/v1/%s/media/%d" % (QUOTA_SLUG, x["id"]), token=S["qtok"]).status == 204,
               "cannot clear provkommun")
    a = upload(pdf(S["nonce"] + b"qa", 200000), "application/pdf", slug=QUOTA_SLUG, token=S["qtok"])
    expect_json(a, 201)
    b = upload(pdf(S["nonce"] + b"qb", 200000), "application/pdf", slug=QUOTA_SLUG, token=S["qtok"])
    p = expect_problem(b, 507)
    expect("300000" in p.get("detail", ""), "the message does not say the quota: %r" % p)
    # the same bytes again take no more room
    expect_json(upload(pdf(S["nonce"] + b"qa", 200000), "application/pdf", slug=QUOTA_SLUG, token=S["qtok"]), 200)


def t_served():
    f = fetch(S["jpeg"]["url"])
    expect(f.status == 200, "GET %s: %d" % (S["jpeg"]["url"], f.status))
    expect(f.ctype == "image/jpeg", "Content-Type %r" % f.ctype)
    expect(f.header("Cache-Control") == "public, max-age=31536000, immutable", "Cache-Control %r" % f.header("Cache-Control"))
    expect(f.header("X-Content-Type-Options") == "nosniff", "no nosniff")
    p = fetch(S["pdf"]["url"])
    expect(p.ctype == "application/pdf", "PDF Content-Type %r" % p.ctype)
    expect((p.header("Content-Disposition") or "").startswith("attachment"), "PDF Content-Disposition %r" % p.header("Content-Disposition"))
    expect(p.header("X-Content-Type-Options") == "nosniff", "PDF without nosniff")
    for path in ("/media/tmp/", "/media/", "/media/" + S["pdf"]["sha256"][:2] + "/" + S["pdf"]["sha256"] + ".php",
                 S["pdf"]["url"].replace(".pdf", ".png")):
        r = fetch(path)
        expect(r.status in (403, 404), "GET %s: %d" % (path, r.status))
    r = request("POST", S["pdf"]["url"], raw=b"x", content_type="application/pdf")
    expect(r.status in (403, 405), "POST to a file: %d" % r.status)


def t_delete():
    # an unused file can be deleted; the files stay while another record has them
    o = expect_json(upload(png(40, 30, nonce=S["nonce"] + b"del"), "image/png"), 201)
    r = request("DELETE", "/api/v1/%s/media/%d" % (SLUG, o["id"]), token=S["reader"])
    expect_problem(r, 403)
    r = request("DELETE", "/api/v1/%s/media/%d" % (SLUG, o["id"]), token=S["tok"])
    expect(r.status == 204, "DELETE: %d %s" % (r.status, r.text))
    expect_problem(request("GET", "/api/v1/%s/media/%d" % (SLUG, o["id"])), 404)
    expect(fetch(o["url"]).status == 404, "the file is still served after its last record went")
    expect_problem(request("GET", "/api/v1/%s/media/999999999" % SLUG), 404)
    expect_problem(request("GET", "/api/v1/%s/media/abc" % SLUG), 404)
    expect_problem(request("PUT", "/api/v1/%s/media/%d" % (SLUG, S["pdf"]["id"]), token=S["tok"], body={}), 405)


def t_news_image():
    """A news item with image {media, alt}: alt required, the media must be an
    image of the municipality; the page shows it with srcset, width and
    height; the file cannot be deleted while the item uses it."""
    img = S["png"]
    base = {"title": "Bild %s" % S["nonce"].decode(), "lang": "sv", "status": "published",
            "published_at": "2026-01-01T10:00:00Z", "body": "Text."}
    r = request("POST", "/api/v1/%s/news" % SLUG, body=dict(base, image={"media": img["id"]}), token=S["tok"])
    p = expect_problem(r, 422)
    expect(any(e.get("field") == "image.alt" for e in p.get("errors", [])), "no error for image.alt: %r" % p)
    r = request("POST", "/api/v1/%s/news" % SLUG, body=dict(base, image={"media": S["pdf"]["id"], "alt": "x"}),
                token=S["tok"])
    p = expect_problem(r, 422)
    expect(any(e.get("field") == "image.media" for e in p.get("errors", [])), "a PDF as an image: %r" % p)
    r = request("POST", "/api/v1/%s/news" % SLUG, body=dict(base, image={"media": 999999999, "alt": "x"}),
                token=S["tok"])
    expect_problem(r, 422)
    r = request("POST", "/api/v1/%s/news" % SLUG,
                body=dict(base, image={"media": img["id"], "alt": "En färgskala från blått till rött"}),
                token=S["tok"])
    n = expect_json(r, 201)
    S["news"] = n["id"]
    expect(n["image"]["media"] == img["id"] and n["image_file"]["url"] == img["url"], "image %r" % n)
    expect(n["image_file"]["width"] == 600 and "320w" in n["image_file"]["srcset"], "image_file %r" % n["image_file"])
    page = request("GET", "/%s/news/%d" % (SLUG, n["id"]), headers={"Accept": "text/html"})
    expect(page.status == 200, "the page: %d" % page.status)
    expect('srcset="' in page.text and 'width="600"' in page.text and 'height="400"' in page.text and
           'alt="En färgskala från blått till rött"' in page.text and img["url"] in page.text,
           "the page does not show the image with srcset, width, height and alt")
    # still used: 409 naming the item
    r = request("DELETE", "/api/v1/%s/media/%d" % (SLUG, img["id"]), token=S["tok"])
    p = expect_problem(r, 409)
    expect("news %d" % n["id"] in p.get("detail", ""), "409 does not name the item: %r" % p)
    one = expect_json(request("GET", "/api/v1/%s/media/%d" % (SLUG, img["id"])), 200)
    expect(n["id"] in one["used_by"].get("news", []), "used_by %r" % one["used_by"])
    # the old form still works
    r = request("PATCH", "/api/v1/%s/news/%d" % (SLUG, n["id"]), token=S["tok"],
                body={"image": {"media": None, "url": "https://example.se/a.jpg"}},
                content_type="application/merge-patch+json")
    j = expect_json(r, 200)
    expect(j["image"]["url"] == "https://example.se/a.jpg" and j["image_file"] is None, "image %r" % j["image"])
    # no longer used: the file may go
    r = request("DELETE", "/api/v1/%s/media/%d" % (SLUG, img["id"]), token=S["tok"])
    expect(r.status == 204, "DELETE after the item let go: %d %s" % (r.status, r.text))


def t_agreement_document():
    """A partnership's agreement with document (an uploaded PDF): an image
    there is 422; the page lists the document with name, type and size; the
    PDF cannot be deleted while the agreement uses it."""
    base = {"partner": {"name": "Testort %s" % S["nonce"].decode(), "country": "LT"},
            "kind": "cooperation", "status": "active"}
    bad = dict(base, agreements=[{"kind": "cooperation_agreement", "document": S["jpeg"]["id"]}])
    p = expect_problem(request("POST", "/api/v1/%s/partnerships" % SLUG, body=bad, token=S["tok"]), 422)
    expect(any(e.get("field") == "agreements[0].document" for e in p.get("errors", [])), "an image as a document: %r" % p)
    good = dict(base, agreements=[{"kind": "cooperation_agreement", "date": "2024-05",
                                   "title": "Samarbetsavtal", "document": S["pdf"]["id"]}])
    j = expect_json(request("POST", "/api/v1/%s/partnerships" % SLUG, body=good, token=S["tok"]), 201)
    S["partnership"] = j["id"]
    expect(j["agreements"][0]["document"] == S["pdf"]["id"], "agreements %r" % j["agreements"])
    d = j.get("documents") or []
    expect(len(d) == 1 and d[0]["url"] == S["pdf"]["url"] and d[0]["type"] == "PDF" and d[0]["size"],
           "documents %r" % d)
    page = request("GET", "/%s/partnerships/%d" % (SLUG, j["id"]), headers={"Accept": "text/html"})
    expect(page.status == 200 and S["pdf"]["url"] in page.text and "Avtal Lerum-Kaunas.pdf" in page.text and
           "PDF, " in page.text, "the page does not list the document with name, type and size")
    r = request("DELETE", "/api/v1/%s/media/%d" % (SLUG, S["pdf"]["id"]), token=S["tok"])
    p = expect_problem(r, 409)
    expect("partnerships %d" % j["id"] in p.get("detail", ""), "409 does not name the partnership: %r" % p)



# ---- the browser editor: multipart/form-data uploads (no JavaScript) ----

def multipart(fields, files, boundary="----portalTestBoundary7MA4YWxkTrZu0gW"):
    """fields {name: value}, files {name: (filename, bytes, type)} as a
    browser encodes them."""
    out = []
    for k, v in fields.items():
        out.append(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" %
                   (boundary.encode(), k.encode(), v.encode()))
    for k, (fn, data, typ) in files.items():
        out.append(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                   b"Content-Type: %s\r\n\r\n" % (boundary.encode(), k.encode(), fn.encode(), typ.encode()) +
                   data + b"\r\n")
    out.append(b"--%s--\r\n" % boundary.encode())
    return b"".join(out), "multipart/form-data; boundary=%s" % boundary


def editor(slug=SLUG):
    import test_editor as te
    email = "media%d%s@%s.example" % (os.getpid(), S["nonce"].decode()[:6], slug)
    pw = te.add_user(email, "editor", muni=slug, name="Mia Media")
    return te.sign_in(email, pw), te


def post_multipart(b, path, fields, files, raw=None, ctype=None):
    body, ct = multipart(fields, files)
    return b.go("POST", path, raw=raw if raw is not None else body,
                headers={"Content-Type": ctype or ct})


def csrf_of(p):
    m = re.search(r'name="csrf" value="([^"]*)"', p.text)
    expect(m, "no csrf in the page")
    return m.group(1)


def media_count(slug=SLUG):
    return len(expect_json(request("GET", "/api/v1/%s/media" % slug, query={"limit": "100"}), 200)["items"])


def error_beside(p, field, words):
    """The GOV.UK error: a summary linking to the field, the message beside it."""
    expect('class="error-summary"' in p.text and 'href="#f-%s"' % field in p.text,
           "no error summary linking to #f-%s:\n%s" % (field, p.text[:3000]))
    m = re.search(r'<p class="error-message" id="f-%s-error">(.*?)</p>' % re.escape(field), p.text, re.S)
    expect(m, "no message beside %s" % field)
    expect(any(w in m.group(1) for w in words), "the message beside %s: %r" % (field, m.group(1)))


def t_editor_upload():
    """The Files page: a PNG and a PDF uploaded by a signed-in editor with a
    multipart form (303, listed with name, type and size, in the API with
    the same bytes); each refusal on the page with the error summary and the
    message beside the input; CSRF holds for multipart forms too."""
    b, te = editor()
    S["browser"], S["te"] = b, te
    base = "/edit/%s/media/" % SLUG
    p = b.go("GET", base)
    expect(p.status == 200 and 'enctype="multipart/form-data"' in p.text and 'type="file" name="file"' in p.text,
           "the Files page has no multipart upload form: %d" % p.status)
    csrf = csrf_of(p)
    data = png(300, 200, nonce=S["nonce"] + b"editor")
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("Vänort.png", data, "image/png")})
    expect(p.status == 303 and "uploaded=" in (p.header("location") or ""), "upload: %s" % p.describe())
    fid = int(p.header("location").split("uploaded=")[1])
    rec = expect_json(request("GET", "/api/v1/%s/media/%d" % (SLUG, fid)), 200)
    expect(rec["sha256"] == hashlib.sha256(data).hexdigest() and rec["name"] == "Vänort.png" and
           rec["width"] == 300, "the record of the browser's upload: %r" % rec)
    S["ed_png"] = rec
    p = b.go("GET", p.header("location"))
    expect(p.status == 200 and "Vänort.png" in p.text and "PNG" in p.text and 'role="status"' in p.text,
           "the list after the upload does not show it")
    doc = pdf(S["nonce"] + b"editor", size=3000)
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("Rapport 2026.pdf", doc, "application/pdf")})
    expect(p.status == 303, "PDF upload: %s" % p.describe())
    S["ed_pdf"] = expect_json(request("GET", "/api/v1/%s/media/%s" % (SLUG, p.header("location").split("=")[1])), 200)
    expect(S["ed_pdf"]["type"] == "application/pdf", "PDF record %r" % S["ed_pdf"])

    before = media_count()
    # wrong type: a PHP script named .png
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("x.png", b"<?php system($_GET['c']); ?>", "image/png")})
    expect(p.status == 415, "PHP as PNG: %d" % p.status)
    error_beside(p, "file", ("accepted", "PHP", "text/"))
    # no file chosen
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("", b"", "application/octet-stream")})
    expect(p.status == 422, "no file: %d" % p.status)
    error_beside(p, "file", ("Select a file",))
    # a polyglot
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("p.png", png(8, 8, nonce=S["nonce"] + b"pg") +
                                                           b"<script>alert(1)</script>", "image/png")})
    expect(p.status == 422, "polyglot: %d" % p.status)
    error_beside(p, "file", ("polyglot",))
    # too big
    big = b"%PDF-1.4\n" + b"0" * (MAX_BYTES + 10)
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("big.pdf", big, "application/pdf")})
    expect(p.status == 413, "over media.max_bytes: %d" % p.status)
    error_beside(p, "file", ("larger than 20 MB",))
    # CSRF: none, a wrong one
    p = post_multipart(b, base, {}, {"file": ("c.png", png(9, 9, nonce=S["nonce"] + b"c"), "image/png")})
    expect(p.status == 403, "multipart without csrf: %d" % p.status)
    p = post_multipart(b, base, {"csrf": "x" * 43}, {"file": ("c.png", png(9, 9, nonce=S["nonce"] + b"c"), "image/png")})
    expect(p.status == 403, "multipart with a wrong csrf: %d" % p.status)
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("c.png", png(9, 9, nonce=S["nonce"] + b"c"), "image/png")})
    expect(b.go("POST", base, raw=multipart({"csrf": csrf}, {})[0],
                headers={"Content-Type": "multipart/form-data; boundary=x", "Origin": "https://evil.example",
                         "Sec-Fetch-Site": "cross-site"}).status in (400, 403), "cross-site multipart")
    expect(p.status == 303, "the same form with its csrf: %d" % p.status)
    request("DELETE", "/api/v1/%s/media/%s" % (SLUG, p.header("location").split("=")[1]), token=S["tok"])
    expect(media_count() == before, "a refused upload left a record")
    leftovers = [f for f in os.listdir(os.path.join(MEDIA_DIR, "tmp"))] if os.path.isdir(os.path.join(MEDIA_DIR, "tmp")) else []
    expect(leftovers == [], "temporary files left in media.dir/tmp: %r" % leftovers)


def t_editor_hostile():
    """Broken multipart bodies: a 4xx page naming the problem, never a 5xx."""
    b = S["browser"]
    base = "/edit/%s/media/" % SLUG
    csrf = csrf_of(b.go("GET", base))
    body, ct = multipart({"csrf": csrf}, {"file": ("a.png", png(4, 4), "image/png")})
    cases = [
        (body[:-8], ct, 400, "no closing boundary"),
        (body, "multipart/form-data", 400, "no boundary parameter"),
        (body, "multipart/form-data; boundary=" + "b" * 71, 400, "a boundary of 71 characters"),
        (body.replace(b'name="csrf"', b'name="csrf"\r\nX-Pad: ' + b"p" * 9000, 1), ct, 413, "8 KiB of headers"),
        (body.replace(b'name="csrf"', b'', 1), ct, 400, "a part without a name"),
        (body.replace(b'name="csrf"', b'name="a b"', 1), ct, 422, "a name that is no field path"),
        (b"".join(b"--B\r\nContent-Disposition: form-data; name=f%d; filename=f%d.png\r\n\r\nx\r\n" % (i, i)
                  for i in range(21)) + b"--B--\r\n", "multipart/form-data; boundary=B", 422, "21 files"),
    ]
    for raw, typ, want, what in cases:
        p = b.go("POST", base, raw=raw, headers={"Content-Type": typ})
        expect(p.status == want, "%s: %d, want %d\n%s" % (what, p.status, want, p.text[:400]))


def t_editor_item_upload():
    """A news item's form is multipart with a file input beside image.media:
    an image uploaded with the form becomes the item's image; a refused one
    is an error beside image.media with the other input kept."""
    b = S["browser"]
    p = b.go("GET", "/edit/%s/news/new" % SLUG)
    expect(p.status == 200 and 'enctype="multipart/form-data"' in p.text and
           'name="_file.image.media"' in p.text, "the news form has no file input for image.media")
    f = S["te"].form_of(p)
    title = "Bild från formuläret %s" % S["nonce"].decode()
    f.update({"title": title, "lang": "sv", "status": "draft", "body": "Text.",
              "image.alt": "Ett vänortsmöte"})
    f.pop("_file.image.media", None)
    p = post_multipart(b, "/edit/%s/news/new" % SLUG, f,
                       {"_file.image.media": ("x.png", b"<?php echo 1; ?>", "image/png")})
    expect(p.status == 422, "a PHP file on the item form: %d" % p.status)
    error_beside(p, "image.media", ("accepted",))
    expect('value="%s"' % title in p.text and "Ett vänortsmöte" in p.text, "the input was not kept")
    data = png(200, 100, nonce=S["nonce"] + b"item")
    p = post_multipart(b, "/edit/%s/news/new" % SLUG, f, {"_file.image.media": ("möte.png", data, "image/png")})
    expect(p.status == 303 and "saved=1" in (p.header("location") or ""), "save with an image: %s" % p.describe())
    nid = int(p.header("location").split("/")[-1].split("?")[0])
    S["ed_news"] = nid
    n = expect_json(request("GET", "/api/v1/%s/news/%d" % (SLUG, nid), token=S["tok"]), 200)
    rec = expect_json(request("GET", "/api/v1/%s/media/%d" % (SLUG, n["image"]["media"])), 200)
    S.setdefault("extra_media", []).append(rec["id"])
    expect(rec["sha256"] == hashlib.sha256(data).hexdigest() and n["image"]["alt"] == "Ett vänortsmöte",
           "the item's image is not the uploaded file: %r" % n["image"])
    # the file is in use: deleting it from the Files page is a 409 naming the item
    base = "/edit/%s/media/" % SLUG
    p = b.go("POST", base, form={"csrf": csrf_of(b.go("GET", base)), "_delete": str(rec["id"])})
    expect(p.status == 409 and ("news %d" % nid) in p.text and 'class="error-summary"' in p.text,
           "deleting a used file from the Files page: %d" % p.status)


def t_editor_quota():
    """Quota full, from the browser: 507 with the message beside the input."""
    b, _ = editor(QUOTA_SLUG)
    base = "/edit/%s/media/" % QUOTA_SLUG
    csrf = csrf_of(b.go("GET", base))
    p = post_multipart(b, base, {"csrf": csrf}, {"file": ("q.pdf", pdf(S["nonce"] + b"q", size=QUOTA + 1000),
                                                           "application/pdf")})
    expect(p.status == 507, "over the quota: %d" % p.status)
    error_beside(p, "file", ("does not fit",))


def t_quota_concurrent():
    """Uploads at once near the quota: 8 different PDFs of 90,000 bytes into
    provkommun's 300,000: at most 3 get 201, the others 507; the files
    together never go over the quota."""
    import concurrent.futures
    for x in expect_json(request("GET", "/api/v1/%s/media" % QUOTA_SLUG, query={"limit": "100"}), 200)["items"]:
        request("DELETE", "/api/v1/%s/media/%d" % (QUOTA_SLUG, x["id"]), token=S["qtok"])
    docs = [pdf(S["nonce"] + b"c%d" % i, size=90000 - 200) for i in range(8)]

    def one(d):
        return upload(d, "application/pdf", slug=QUOTA_SLUG, token=S["qtok"]).status
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(one, docs))
    items = expect_json(request("GET", "/api/v1/%s/media" % QUOTA_SLUG, query={"limit": "100"}), 200)["items"]
    used = sum(x["bytes"] for x in items)
    expect(codes.count(201) <= 3 and all(c in (201, 507) for c in codes), "statuses %r" % codes)
    expect(codes.count(201) == len(items) and used <= QUOTA, "stored %d files, %d bytes of %d (statuses %r)" %
           (len(items), used, QUOTA, codes))
    for x in items:
        request("DELETE", "/api/v1/%s/media/%d" % (QUOTA_SLUG, x["id"]), token=S["qtok"])


def new_pdf(tag):
    d = pdf(S["nonce"] + tag, size=5000)
    o = expect_json(upload(d, "application/pdf", query={"name": "%s.pdf" % tag.decode()}), 201)
    S.setdefault("extra_media", []).append(o["id"])
    return o


def t_report_document():
    """projects reports[].document: a PDF of the municipality (an image is a
    422 naming the field); documents lists it with the report's period;
    the page shows name, type and size; 409 while the report uses it, 204
    once the report lets go."""
    doc = new_pdf(b"rapport-2025-H1")
    base = {"title": "Projekt %s" % S["nonce"].decode(), "status": "running"}
    bad = dict(base, reports=[{"period": "2025-H1", "document": S["jpeg"]["id"]}])
    p = expect_problem(request("POST", "/api/v1/%s/projects" % SLUG, body=bad, token=S["tok"]), 422)
    expect(any(e.get("field") == "reports[0].document" for e in p.get("errors", [])), "an image as a report: %r" % p)
    p = expect_problem(request("POST", "/api/v1/%s/projects" % SLUG, token=S["tok"],
                               body=dict(base, reports=[{"period": "2025-H1", "document": 999999999}])), 422)
    expect(any(e.get("field") == "reports[0].document" for e in p.get("errors", [])), "an unknown file: %r" % p)
    j = expect_json(request("POST", "/api/v1/%s/projects" % SLUG, token=S["tok"],
                            body=dict(base, reports=[{"period": "2025-H1", "summary": "Första halvåret",
                                                      "document": doc["id"]}])), 201)
    S["project"] = j["id"]
    d = j.get("documents") or []
    expect(len(d) == 1 and d[0]["url"] == doc["url"] and d[0]["period"] == "2025-H1" and d[0]["type"] == "PDF" and
           d[0]["size"] == "6 kB" and d[0]["name"] == "rapport-2025-H1.pdf", "documents %r" % d)
    page = request("GET", "/%s/projects/%d" % (SLUG, j["id"]), headers={"Accept": "text/html"})
    expect(page.status == 200 and doc["url"] in page.text and "rapport-2025-H1.pdf" in page.text and
           "(PDF, 6 kB)" in page.text, "the project's page does not list the report's document")
    p = expect_problem(request("DELETE", "/api/v1/%s/media/%d" % (SLUG, doc["id"]), token=S["tok"]), 409)
    expect("projects %d" % j["id"] in p.get("detail", ""), "409 does not name the project: %r" % p)
    r = request("PATCH", "/api/v1/%s/projects/%d" % (SLUG, j["id"]), token=S["tok"],
                body={"reports": [{"period": "2025-H1"}]}, content_type="application/merge-patch+json")
    expect(expect_json(r, 200)["documents"] == [], "documents after the report let go")
    r = request("DELETE", "/api/v1/%s/media/%d" % (SLUG, doc["id"]), token=S["tok"])
    expect(r.status == 204, "DELETE once no report uses it: %d" % r.status)
    S["extra_media"].remove(doc["id"])


def t_page_attachments():
    """pages attachments [{media, title}]: PDFs of the municipality (an image
    is a 422 naming attachments[0].media); documents with the title or the
    file's name; the page lists them with type and size; 409 while used."""
    a, b2 = new_pdf(b"strategi"), new_pdf(b"handlingsplan")
    base = {"title": "Bilagor %s" % S["nonce"].decode(), "lang": "sv", "status": "published", "body": "Text."}
    p = expect_problem(request("POST", "/api/v1/%s/pages" % SLUG, token=S["tok"],
                               body=dict(base, attachments=[{"media": S["jpeg"]["id"]}])), 422)
    expect(any(e.get("field") == "attachments[0].media" for e in p.get("errors", [])), "an image attached: %r" % p)
    p = expect_problem(request("POST", "/api/v1/%s/pages" % SLUG, token=S["tok"],
                               body=dict(base, attachments=[{"title": "utan fil"}])), 422)
    expect(any(e.get("field") == "attachments[0].media" for e in p.get("errors", [])), "no media: %r" % p)
    j = expect_json(request("POST", "/api/v1/%s/pages" % SLUG, token=S["tok"],
                            body=dict(base, attachments=[{"media": a["id"], "title": "Vår strategi 2030"},
                                                         {"media": b2["id"]}])), 201)
    S["page"] = j["id"]
    S["page_files"] = [a, b2]
    d = j.get("documents") or []
    expect([x["name"] for x in d] == ["Vår strategi 2030", "handlingsplan.pdf"] and
           all(x["type"] == "PDF" and x["size"] == "6 kB" for x in d), "documents %r" % d)
    page = request("GET", "/%s/pages/%d" % (SLUG, j["id"]), headers={"Accept": "text/html"})
    expect(page.status == 200 and a["url"] in page.text and "Vår strategi 2030</a> (PDF, 6 kB)" in page.text and
           "handlingsplan.pdf</a> (PDF, 6 kB)" in page.text, "the page does not list its documents")
    for x in (a, b2):
        p = expect_problem(request("DELETE", "/api/v1/%s/media/%d" % (SLUG, x["id"]), token=S["tok"]), 409)
        expect("pages %d" % j["id"] in p.get("detail", ""), "409 does not name the page: %r" % p)


def t_editor_page_attachment():
    """A page's form: a PDF uploaded with it (the file input beside
    attachments[0].media) becomes the attachment; an image there is an
    error beside the field with the input kept."""
    b = S["browser"]
    p = b.go("GET", "/edit/%s/pages/new" % SLUG)
    f = S["te"].form_of(p)
    f.update({"title": "Sida med bilaga %s" % S["nonce"].decode(), "lang": "sv", "status": "published",
              "body": "Se bilagan.", "attachments[0].title": "Årsrapport", "attachments[0].media": "",
              "_n.attachments": "1"})
    p = post_multipart(b, "/edit/%s/pages/new" % SLUG, f,
                       {"_file.attachments[0].media": ("bild.png", png(10, 10, nonce=S["nonce"] + b"att"), "image/png")})
    expect(p.status == 422, "an image as a page's attachment: %s" % p.describe())
    # the image was stored (an upload is the API's, whatever the form then
    # says); it is this test's to delete
    S.setdefault("extra_media", []).extend(
        x["id"] for x in expect_json(request("GET", "/api/v1/%s/media" % SLUG, query={"limit": "100"}), 200)["items"]
        if x["name"] == "bild.png")
    error_beside(p, "attachments[0].media", ("not a PDF",))
    expect('value="Årsrapport"' in p.text and 'name="_file.attachments[0].media"' in p.text,
           "the attachment's title was not kept, or no file input")
    doc = pdf(S["nonce"] + b"arsrapport", size=2000)
    p = post_multipart(b, "/edit/%s/pages/new" % SLUG, f,
                       {"_file.attachments[0].media": ("Årsrapport 2025.pdf", doc, "application/pdf")})
    expect(p.status == 303, "save with a PDF: %s" % p.describe())
    pid = int(p.header("location").split("/")[-1].split("?")[0])
    S["ed_page"] = pid
    j = expect_json(request("GET", "/api/v1/%s/pages/%d" % (SLUG, pid), token=S["tok"]), 200)
    rec = expect_json(request("GET", "/api/v1/%s/media/%d" % (SLUG, j["attachments"][0]["media"])), 200)
    expect(rec["sha256"] == hashlib.sha256(doc).hexdigest() and rec["name"] == "Årsrapport 2025.pdf" and
           j["documents"][0]["name"] == "Årsrapport", "the page's attachment %r" % j["attachments"])
    S.setdefault("extra_media", []).append(rec["id"])


def t_transfer_documents():
    """A page with attachments exported from lerum and imported into
    flyttkommun: the PDFs are uploaded there and attachments[].media point
    at flyttkommun's records of the same bytes."""
    out = S.get("tmpdir") or tempfile.mkdtemp(prefix="portal-media-")
    S["tmpdir"] = out
    r = portalctl("export", SLUG, "-o", os.path.join(out, "pages.json"))
    expect(r.returncode == 0, "portalctl export: %s" % r.stderr.decode(errors="replace"))
    doc = json.load(open(os.path.join(out, "pages.json")))
    media = {m["id"]: m for m in doc.get("media", [])}
    item = [x for x in doc["modules"]["pages"] if x["id"] == S["page"]][0]
    item.pop("uid", None)
    small = dict(doc, modules={"pages": [item]}, media=[media[f["id"]] for f in S["page_files"]])
    path = os.path.join(out, "pages-small.json")
    json.dump(small, open(path, "w"))
    r = portalctl("import", "flyttkommun", path)
    expect(r.returncode == 0, "portalctl import: %s" % r.stderr.decode(errors="replace"))
    S["f_tok"] = create_token("flyttkommun", "editor")
    lst = expect_json(request("GET", "/api/v1/flyttkommun/pages", token=S["f_tok"], query={"limit": "100"}), 200)
    got = [x for x in lst["items"] if x["title"] == item["title"]]
    expect(len(got) == 1, "the imported page is not in flyttkommun")
    S["f_page"] = got[0]["id"]
    ids = [a["media"] for a in got[0]["attachments"]]
    S["f_media"] = ids
    recs = [expect_json(request("GET", "/api/v1/flyttkommun/media/%d" % i), 200) for i in ids]
    expect([x["sha256"] for x in recs] == [f["sha256"] for f in S["page_files"]],
           "attachments[].media do not name flyttkommun's copies of the files: %r" % got[0]["attachments"])
    expect([x["name"] for x in got[0]["documents"]] == ["Vår strategi 2030", "handlingsplan.pdf"],
           "documents after the import: %r" % got[0]["documents"])

def portalctl(*args):
    cmd = [PORTALCTL] + (["-c", PORTAL_CONF] if PORTAL_CONF else []) + list(args)
    return subprocess.run(cmd, capture_output=True, timeout=120)


def t_transfer():
    """portalctl export has the files (records and bytes); import into
    another municipality uploads them again and points the items at the new
    ids."""
    img = expect_json(upload(png(400, 300, nonce=S["nonce"] + b"x"), "image/png", query={"name": "x.png"}), 201)
    n = expect_json(request("POST", "/api/v1/%s/news" % SLUG, token=S["tok"],
                            body={"title": "Export %s" % S["nonce"].decode(), "lang": "sv", "status": "draft",
                                  "image": {"media": img["id"], "alt": "Export"}}), 201)
    S["export_news"] = n["id"]
    out = tempfile.mkdtemp(prefix="portal-media-")
    S["tmpdir"] = out
    r = portalctl("export", SLUG, "-o", os.path.join(out, "all.json"))
    expect(r.returncode == 0, "portalctl export: %s" % r.stderr.decode(errors="replace"))
    doc = json.load(open(os.path.join(out, "all.json")))
    media = {m["id"]: m for m in doc.get("media", [])}
    expect(img["id"] in media and S["pdf"]["id"] in media, "the export lacks the files: %r" % list(media))
    stored = fetch(img["url"]).body
    expect(base64.b64decode(media[img["id"]]["data"]) == stored, "the exported bytes are not the stored file's")
    expect(base64.b64decode(media[S["pdf"]["id"]]["data"]) == pdf(S["nonce"]), "the exported PDF differs")
    # into herrljunga: the news item and the two files
    item = [x for x in doc["modules"]["news"] if x["id"] == n["id"]][0]
    item.pop("uid", None)  # a copy within one installation: the uid is lerum's item's
    small = dict(doc, modules={"news": [item]}, media=[media[img["id"]], media[S["pdf"]["id"]]])
    path = os.path.join(out, "small.json")
    json.dump(small, open(path, "w"))
    r = portalctl("import", "herrljunga", path)
    expect(r.returncode == 0, "portalctl import: %s" % r.stderr.decode(errors="replace"))
    lst = expect_json(request("GET", "/api/v1/herrljunga/news", token=S["h_tok"], query={"status": "draft"}), 200)
    got = [x for x in lst["items"] if x["title"] == item["title"]]
    expect(len(got) == 1, "the imported item is not in herrljunga: %r" % [x["title"] for x in lst["items"]])
    S["h_news"] = got[0]["id"]
    new_id = got[0]["image"]["media"]
    rec = expect_json(request("GET", "/api/v1/herrljunga/media/%d" % new_id), 200)
    S["h_media"] = [new_id]
    expect(rec["type"] == "image/png" and (rec["width"], rec["height"]) == (400, 300),
           "the imported image: %r" % rec)
    expect(got[0]["image_file"] and got[0]["image_file"]["url"] == rec["url"], "image_file %r" % got[0]["image_file"])
    hl = expect_json(request("GET", "/api/v1/herrljunga/media", query={"limit": "100"}), 200)
    p2 = [x for x in hl["items"] if x["sha256"] == S["pdf"]["sha256"]]
    expect(len(p2) == 1 and p2[0]["name"] == S["pdf"]["name"], "the PDF was not imported with its name")
    S["h_media"].append(p2[0]["id"])


def cleanup():
    if "f_page" in S:
        request("DELETE", "/api/v1/flyttkommun/pages/%d" % S["f_page"], token=S["f_tok"])
    for i in S.get("f_media", []):
        request("DELETE", "/api/v1/flyttkommun/media/%d" % i, token=S["f_tok"])
    for k, m in (("project", "projects"), ("page", "pages"), ("ed_page", "pages"), ("ed_news", "news")):
        if k in S:
            request("DELETE", "/api/v1/%s/%s/%d" % (SLUG, m, S[k]), token=S["tok"])
    for i in S.get("extra_media", []):
        request("DELETE", "/api/v1/%s/media/%d" % (SLUG, i), token=S["tok"])
    for k in ("ed_png", "ed_pdf"):
        if k in S:
            request("DELETE", "/api/v1/%s/media/%d" % (SLUG, S[k]["id"]), token=S["tok"])
    if "h_news" in S:
        request("DELETE", "/api/v1/herrljunga/news/%d" % S["h_news"], token=S["h_tok"])
    for i in S.get("h_media", []):
        request("DELETE", "/api/v1/herrljunga/media/%d" % i, token=S["h_tok"])
    if "export_news" in S:
        request("DELETE", "/api/v1/%s/news/%d" % (SLUG, S["export_news"]), token=S["tok"])
    if S.get("tmpdir"):
        import shutil
        shutil.rmtree(S["tmpdir"], ignore_errors=True)
    if "news" in S:
        request("DELETE", "/api/v1/%s/news/%d" % (SLUG, S["news"]), token=S["tok"])
    if "partnership" in S:
        request("DELETE", "/api/v1/%s/partnerships/%d" % (SLUG, S["partnership"]), token=S["tok"])


def main():
    t = Tap()
    if t.check("setup: tokens", setup) is None:
        return t.done()
    t.check("uploads need an editor's token (401, 403)", t_auth)
    if t.check("a PNG: 201 with the record, sha256, renditions 320 px (PNG, WebP) and WebP", t_png):
        t.check("the same bytes again: 200 with the same record, listed once", t_dedupe)
    t.check("the same new bytes from 6 requests at once: one 201, then 200 or 409, no 5xx", t_concurrent)
    t.check("a JPEG with EXIF GPS and orientation 6: stored upright, without Exif", t_jpeg_gps)
    t.check("a PDF: 201, kept as sent, with its name", t_pdf)
    t.check("refused: PHP as PNG, SVG, polyglots, type mismatches, a decompression bomb, ...", t_refused)
    t.check("a body over media.max_bytes: 413", t_too_large)
    t.check("over the municipality's quota: 507 saying so; the same bytes again: 200", t_quota)
    if "jpeg" in S and "pdf" in S:
        t.check("nginx serves the files: type, immutable, nosniff, PDFs as attachments; nothing else",
                t_served)
    t.check("DELETE: an unused file goes (204), its files too; 403 for a reader; 404, 405", t_delete)
    try:
        if "png" in S and "pdf" in S:
            t.check("news image {media, alt}: alt required, an image of the municipality; the page "
                    "has srcset, width, height; 409 while used, 204 after", t_news_image)
        if "jpeg" in S and "pdf" in S:
            t.check("partnerships agreements[].document: a PDF of the municipality; the page lists it "
                    "with name, type and size; 409 while used", t_agreement_document)
            t.check("projects reports[].document: a PDF; the page lists it with name, type and size; "
                    "409 while used, 204 after", t_report_document)
            t.check("pages attachments[{media, title}]: PDFs; the page lists them with name, type and "
                    "size; 409 while used", t_page_attachments)
            if "page" in S:
                t.check("a page's attachments exported and imported into flyttkommun point at its "
                        "copies of the files", t_transfer_documents)
            t.check("portalctl export has the files; import into another municipality uploads them "
                    "and rewrites image.media", t_transfer)
        if "png" in S:
            if t.check("the editor's Files page: PNG and PDF uploaded with multipart forms; wrong type, "
                       "no file, polyglot, too big refused beside the input; CSRF", t_editor_upload):
                t.check("broken multipart bodies: 400, 413, 422 naming the problem", t_editor_hostile)
                t.check("a news item's form: an image uploaded with it becomes image.media; a refused one "
                        "keeps the input; deleting the file from the Files page is 409", t_editor_item_upload)
                if "jpeg" in S:
                    t.check("a page's form: a PDF uploaded with it becomes attachments[0].media; an image "
                            "there is refused beside the field", t_editor_page_attachment)
            t.check("the Files page over the quota: 507 beside the input", t_editor_quota)
        t.check("8 uploads at once near the quota: at most 3 fit, the rest 507, never over", t_quota_concurrent)
    finally:
        cleanup()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
