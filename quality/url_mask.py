"""Secrets out of every URL a person or a file may see: one masking rule for the whole platform.

Feeds, operators' databases and the warehouse are reached through URLs that may carry credentials,
either as userinfo (``https://agent:motdepasse@host``, ``postgresql://owner:pw@host/db``) or as a query
parameter (``?apikey=…``, ``?X-Amz-Signature=…``, ``?jeton=…``). Messages, batch records, reports and
the CLI show the URL through :func:`mask_url`, which keeps what helps a person find the source (scheme,
host, path, the other parameters) and replaces each secret with ``***``. It lives in ``quality/``, the
lowest package, so that resources, assets, reports and the CLI all call this one function.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "***"

# A parameter name is split into words (``X-Amz-Signature`` → x, amz, signature; ``accessKey`` →
# access, key) and is a secret when a word is one of these, or contains one of the longer stems.
_SECRET_WORDS = frozenset({"key", "sig", "pwd", "pass", "mdp", "cle", "clé", "otp", "sas", "hmac"})
_SECRET_STEMS = (
    "token",
    "secret",
    "passw",
    "signature",
    "credential",
    "jeton",
    "apikey",
    "auth",
    "session",
    "private",
    "motdepasse",
)
_WORD_BOUNDARY = re.compile(r"[^0-9A-Za-zÀ-ÿ]+|(?<=[a-zà-ÿ])(?=[A-Z])")
# A URL inside free text (an exception message echoing what it tried to reach).
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,;:)\]]")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter named ``name`` looks like it carries a credential."""
    words = [w for w in _WORD_BOUNDARY.split(name) if w]
    lowered = name.lower()
    return any(w.lower() in _SECRET_WORDS for w in words) or any(s in lowered for s in _SECRET_STEMS)


def mask_url(url: str) -> str:
    """``url`` with its userinfo password and every credential-looking query value replaced by ``***``.

    On the web a user name without a password is masked too, since that is how tokens are often
    passed (``https://<token>@host``); a database user alone is a role name and stays. An unparsable
    URL may still hold a secret, so none of it is shown.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port, like a parser would
    except ValueError:
        return "<URL illisible>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        if has_password:
            netloc = f"{user}:{MASK}@{host}"
        elif parts.scheme.lower() in ("http", "https"):
            netloc = f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = "&".join(
                f"{quote(k, safe='')}={MASK if is_secret_name(k) else quote(v, safe='/:,')}" for k, v in pairs
            )
    fragment = parts.fragment
    if fragment and "=" in fragment:
        # OAuth implicit flows put tokens in the fragment (#access_token=…).
        fragment = mask_url(f"x:?{fragment}").split("?", 1)[1]
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing secret: the URL exactly as given (urlunsplit drops an empty "//")
    authority = f"//{netloc}" if url[len(parts.scheme) + 1 :].startswith("//") else netloc
    return (
        f"{parts.scheme}:{authority}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{fragment}" if fragment else "")
    )


def mask_urls_in(text: str) -> str:
    """``text`` with every URL it contains masked (drivers and HTTP libraries echo what they reached)."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def scrub_password(text: str, url: str) -> str:
    """``text`` with the password of ``url`` (a database URL) replaced wherever it appears.

    Drivers sometimes echo a connection string in their own format (``password=…``), which
    :func:`mask_url` would not recognise as a URL: the known secret itself is removed.
    """
    password = urlsplit(url).password
    if not password:
        return text
    for secret in {password, unquote(password)}:
        text = text.replace(secret, MASK)
    return text
