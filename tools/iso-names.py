#!/usr/bin/env python3
"""iso-names.py - country and language names in the portal's languages,
from Debian's iso-codes (a well-kept dataset, not a table typed by hand).

    python3 tools/iso-names.py [--iso-codes DIR] [--locale DIR] > names.json

Reads DIR/iso_3166-1.json and DIR/iso_639-2.json (default
/usr/share/iso-codes/json) and their gettext catalogues
LOCALE/LANG/LC_MESSAGES/iso_3166-1.mo and iso_639-2.mo (default
/usr/share/locale), and prints one JSON object:

    {"countries": {"LV": {"en": "Latvia", "sv": "Lettland", "da": "Letland", ...}},
     "languages": {"sv": {"en": "Swedish", "sv": "svenska", "da": "svensk", ...}}}

Countries by ISO 3166-1 alpha-2 (the short `common_name` where iso-codes
has one: "Moldova", not "Moldova, Republic of"); languages by the code a
BCP 47 tag starts with (ISO 639-1 alpha-2, else ISO 639-2 alpha-3), the
first of the names iso-codes gives ("Romanian", not "Romanian; Moldavian;
Moldovan").  A
language without a translation of a name gets none (the core then falls
back to English).  The Makefile runs it at build time (the package
iso-codes is in scripts/deps.sh); core/web/tmpl.c's |country and
|language filters read the result, compiled in.  Python 3 standard library
only.
"""
import argparse
import gettext
import json
import os
import sys

LANGS = ["sv", "da", "en", "nb", "nn", "fi", "is", "de"]


def catalogue(domain, localedir, lang):
    try:
        return gettext.translation(domain, localedir, [lang])
    except OSError:
        return None


def translate(cat, lang, entry):
    """The entry's name in `lang`: the common name if translated, else the name."""
    names = [entry[k] for k in ("common_name", "name") if k in entry]
    if lang == "en" or cat is None:
        return names[0] if lang == "en" else None
    known = getattr(cat, "_catalog", {})  # a name the catalogue has, even when spelt alike
    for n in names:
        t = cat.gettext(n)
        if t != n or n in known:
            return t
    return None


def build(kind, path, key, domain, localedir, codes, first=False):
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)[key]
    cats = {lang: catalogue(domain, localedir, lang) for lang in LANGS}
    out = {}
    for e in entries:
        code = codes(e)
        if not code:
            continue
        names = {}
        for lang in LANGS:
            n = translate(cats[lang], lang, e)
            if n and first:  # "Romanian; Moldavian; Moldovan": the first name
                n = n.split(";")[0].strip()
            if n:
                names[lang] = n
        out[code] = names
    if not out:
        sys.exit("iso-names: no %s in %s" % (kind, path))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iso-codes", default="/usr/share/iso-codes/json")
    ap.add_argument("--locale", default="/usr/share/locale")
    a = ap.parse_args()
    for f in ("iso_3166-1.json", "iso_639-2.json"):
        if not os.path.exists(os.path.join(a.iso_codes, f)):
            sys.exit("iso-names: %s is missing: install Debian's iso-codes (make deps)"
                     % os.path.join(a.iso_codes, f))
    countries = build("countries", os.path.join(a.iso_codes, "iso_3166-1.json"), "3166-1",
                      "iso_3166-1", a.locale, lambda e: e.get("alpha_2"))
    languages = build("languages", os.path.join(a.iso_codes, "iso_639-2.json"), "639-2",
                      "iso_639-2", a.locale,
                      lambda e: e.get("alpha_2") or (e.get("alpha_3") if "-" not in e.get("alpha_3", "-") else None),
                      first=True)
    json.dump({"countries": countries, "languages": languages}, sys.stdout, ensure_ascii=False,
              sort_keys=True, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
