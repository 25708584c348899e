"""Personal data in free text: found and masked before any text leaves the process.

:func:`scrub` replaces e-mail addresses, phone numbers, payment-card and other long numbers,
street addresses and given user ids with placeholders (``[EMAIL]``, ``[PHONE]``, ``[CARD]``,
``[NUMBER]``, ``[ADDRESS]``, ``[USER]``). It runs on every user text sent to a generative model
endpoint (:mod:`semrec.llm`), so the endpoint never sees them.

Detectors:

* e-mail: the dot-atom form of RFC 5322 (ASCII local part and domain);
* phone: Google's libphonenumber (``phonenumbers``, ``PhoneNumberMatcher`` at ``VALID``
  leniency) for international numbers and national numbers of the regions in :data:`REGIONS`,
  plus any run of at least 9 digits with phone-style separators;
* cards: 13-19 digits (spaces or dashes between groups) passing the Luhn check; any other run of
  13 or more digits is ``[NUMBER]``;
* street addresses: house-number + street-type patterns of English, French, German, Spanish,
  Italian and Portuguese,
  and the road + number (路/街/大道 ... 号, 丁目) forms of Chinese and Japanese addresses;
* user ids: the ids the caller passes (the requesting user's), as whole tokens.

Recall on the labelled set ``tests/data/pii_labelled.jsonl`` (English, French, German, Spanish,
Chinese, Japanese) is tested (``tests/text/test_pii.py``). Rules are not a named-entity model:
names of people are not detected.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

REGIONS = ("US", "GB", "FR", "DE", "ES", "IT", "CN", "JP", "IN", "BR")
"""Regions whose national phone formats (no ``+`` prefix) are recognised."""

EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
LONG_NUMBER = re.compile(r"(?<![A-Za-z0-9+])\+?(?:\(\d{1,5}\)[\s.-]?)?\d(?:[\s().-]{0,2}\d){8,}(?![A-Za-z0-9])")
"""At least 9 digits with phone-style separators; the neighbours may be CJK characters (no spaces there)."""
CAP = r"[A-ZÀ-ÝÄÖÜ][\w'’.-]*"
ADDRESS = [
    # English: 742 Evergreen Terrace, 1600 Pennsylvania Avenue NW, 221B Baker Street
    re.compile(
        r"\b\d{1,5}[A-Za-z]?\s+(?:[^\W\d_][\w'’.-]*\s+){0,3}"
        r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|terrace|close|"
        r"crescent|square|sq|parkway|pkwy|highway|hwy|row|mews|walk)\b\.?(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
    ),
    # French: 15 rue de la Paix, 8 bis avenue des Champs-Élysées
    re.compile(
        r"\b\d{1,4}\s*(?:bis|ter|b)?,?\s+(?i:rue|avenue|av\.|boulevard|bd|chemin|allée|allee|impasse|place|quai|"
        r"route|cours|square|passage)\s+(?:(?:de|du|des|la|le|les|l'|l’|d'|d’)\s*)*" + CAP + rf"(?:[\s-]{CAP}){{0,3}}"
    ),
    # German: Hauptstraße 5, Goethestr. 12a, Am Markt 3 is not covered (no street word)
    re.compile(
        r"\b[A-ZÄÖÜ][\wäöüß-]*(?i:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee)\s*\d{1,4}\s?[a-z]?\b"
    ),
    # Spanish: Calle Mayor 10, Avenida de la Constitución 25, C/ Alcalá nº 4
    re.compile(
        r"(?i:calle|c/|avenida|avda\.?|plaza|paseo|camino|carrera|ronda|travesía)\s+"
        r"(?:(?:de|del|la|las|los|el)\s+)*" + CAP + r"(?:\s+(?:(?:de|del|la|las|los|el)\s+)*" + CAP + r"){0,3}"
        r",?\s*(?:n[º°o]\.?\s*)?\d{1,4}"
    ),
    # Italian and Portuguese: Via Roma 15, Piazza di Spagna 3, Rua Augusta 100, Praça do Comércio 12
    re.compile(
        r"(?i:via|viale|piazza|corso|largo|vicolo|rua|avenida|av\.|praça|praca|travessa|estrada|alameda)\s+"
        r"(?:(?:di|del|della|dei|degli|da|do|dos|das|de)\s+)*"
        + CAP
        + r"(?:\s+(?:(?:di|del|della|da|do|dos|das|de)\s+)*"
        + CAP
        + r"){0,3},?\s*(?:n[º°o.]\s*)?\d{1,4}"
    ),
    # Chinese: 北京市朝阳区建国路88号 (3楼), 中山大道西55号; Japanese: 丸の内1丁目9-1
    re.compile(
        r"[\u4e00-\u9fff]{1,10}?(?:路|街|大道|大街|道|巷|弄|胡同|里)[东西南北中]?(?:[一二三四五六七八九十\d]{1,2}段)?"
        r"\s*\d{1,5}\s*[号號](?:\s*\d{1,4}\s*[楼樓层層室])?"
    ),
    re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]{1,8}\d{1,3}\s*丁目\s*\d{1,4}(?:\s*[-−ー番]\s*\d{1,4})*\s*[号號]?"),
]


@dataclass
class Scrubbed:
    """A masked text, what was found (kind -> count) and where, as ``(start, end, kind)`` of the input."""

    text: str
    found: Counter = field(default_factory=Counter)
    spans: list[tuple[int, int, str]] = field(default_factory=list)


def _luhn(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch)
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def detect(text: str, user_ids: Iterable[str] = ()) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of every piece of personal data in ``text``, overlaps merged
    (the first kind found wins), in text order."""
    spans: list[tuple[int, int, str]] = []
    for user_id in {u for u in user_ids if u and len(u) >= 2}:
        whole = rf"(?<![\w-]){re.escape(user_id)}(?![\w-])"
        spans += [(m.start(), m.end(), "USER") for m in re.finditer(whole, text)]
    spans += [(m.start(), m.end(), "EMAIL") for m in EMAIL.finditer(text)]
    for m in LONG_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and not m.group().startswith("+"):
            spans.append((m.start(), m.end(), "CARD" if _luhn(digits) else "NUMBER"))
        else:
            spans.append((m.start(), m.end(), "PHONE" if len(digits) <= 15 else "NUMBER"))
    if any(ch.isdigit() for ch in text):
        for region in REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                spans.append((match.start, match.end, "PHONE"))
        for pattern in ADDRESS:
            spans += [(m.start(), m.end(), "ADDRESS") for m in pattern.finditer(text)]
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, kind))
    return merged


def scrub(text: str, user_ids: Iterable[str] = ()) -> Scrubbed:
    """``text`` with every detected piece of personal data replaced by ``[KIND]``.

    Args:
        text: Any language.
        user_ids: Ids to mask as ``[USER]`` wherever they appear as a whole token.
    """
    spans = detect(text, user_ids)
    out, last = [], 0
    for start, end, kind in spans:
        out += [text[last:start], f"[{kind}]"]
        last = end
    out.append(text[last:])
    return Scrubbed("".join(out), Counter(kind for _, _, kind in spans), spans)


__all__ = ["REGIONS", "Scrubbed", "detect", "scrub"]
