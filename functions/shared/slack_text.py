"""Making untrusted text safe and short for Slack.

Alert payloads, log lines, tool output and model output are attacker-influenced: a CloudWatch `NewStateReason`, a
custom error message or a Security Hub title can say `<!channel>`, `<https://evil.example|Reset your password>`,
`*Root cause*` or open a ``` block holding `aws iam delete-user`. All of it is quoted data, never markup. Everything
that did not come from our own code goes through `escape` (or `safe`, or `code_block`) before it reaches a message,
and comes out so that it

* cannot notify or link with Slack's syntax: `&`, `<`, `>` become entities, so `<!channel>`, `<@U123>`,
  `<#C42>` and `<https://x|y>` arrive as visible, inert text;
* cannot format: the mrkdwn control characters become their fullwidth forms, which every Slack client shows as the
  same symbol and none parses: `*` → U+FF0A, `~` → U+FF5E, a backtick → U+FF40, a `>` starting a line (a quote)
  → U+FF1E, and an `_` that could open or close italics → U+FF3F (one between two ASCII letters or digits, as in
  `alarm_name` or `MY_ENV_VAR`, stays: Slack never formats inside a word, and names must stay searchable).
  `@channel`, `@here` and `@everyone` get a fullwidth `@` (U+FF20). So alert text can never produce a bold
  `*Root cause*` line, a quote or a code block that looks like one of the bot's own sections;
* cannot be clicked: every URL, `www.` host, bare hostname with a known top-level domain (`functions.shared.tlds`,
  the IANA list: `evil.example.com`, `ops@evil.com`, but also `handler.py` and `README.md`, which Slack links too)
  and `mailto:` is defanged: `https://evil.example/x` → `hxxps://evil[.]example/x`, `www.evil.com` →
  `www[.]evil[.]com`. IP addresses, version numbers, ARNs and names such as `thumb.jpg` (no TLD) stay as they are:
  Slack does not link them, and on-call engineers copy them;
* holds no invisible control: `functions.shared.untrusted_text.clean_text` runs first, so a bidi override or a
  zero-width character shows as `\\u202e`.

Why fullwidth forms rather than a zero-width space after each control character, or plain_text blocks: zero-width
characters are what `clean_text` makes visible (they and bidi controls are how a name lies about itself), so the
rule "no invisible character in a message" holds without exceptions and a test can check it; plain_text would drop
the bot's own formatting around the quoted text, and Slack still auto-links URLs in it. Fullwidth forms are visible
and unambiguous in every client, push notifications included.

The only formatting and links in a message are the ones our code writes around escaped text: its `*Root cause*`
labels, its bullets, and the console deep links added with `link`, which accepts only AWS console URLs
(`functions.shared.console_links.is_console_url`). `code_block` keeps text literal inside one ``` block that the
text cannot close; for diagnostic commands (`commands=True`) dotted names such as bucket names stay pasteable.
"""

from __future__ import annotations

import re

from functions.shared.console_links import is_console_url
from functions.shared.tlds import is_tld
from functions.shared.untrusted_text import clean_text

ELLIPSIS = "…"

# The fullwidth forms (U+FF01-U+FF5E) that stand in for mrkdwn control characters in untrusted text.
FULLWIDTH_ASTERISK = "\uff0a"
FULLWIDTH_LOW_LINE = "\uff3f"
FULLWIDTH_TILDE = "\uff5e"
FULLWIDTH_GRAVE = "\uff40"
FULLWIDTH_GREATER_THAN = "\uff1e"
FULLWIDTH_AT = "\uff20"
DEFANGED_DOT = "[.]"

# Slack turns these into notifications even without the `<!...>` syntax in some clients and integrations. Every
# occurrence is defanged, wherever it stands and whatever follows: `@channels` or `ops@herecorp.example` is no
# mention, but shortening the text later (a field cut to its budget, "…" appended) can leave `@channel…` or
# `ops@here…`, which would be one. The fullwidth `@` looks the same to a reader.
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone))", re.IGNORECASE)
_FENCE = re.compile(r"`{3,}")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
# An `_` with no ASCII letter or digit on one side can open or close italics.
_FORMATTING_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_QUOTE_AT_LINE_START = re.compile(r"^([ \t]*)>", re.MULTILINE)

# Hostnames: labels of word characters (plus the combining marks of the scripts with internationalised TLDs, so
# `भारतम्` is one label) joined by a dot, or the ideographic and fullwidth dots that browsers read as one.
_DOT = "[.\u3002\uff0e\uff61]"
_LABEL_CHAR = (
    r"[\w\-\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    r"\u0900-\u0963\u0966-\u0eff\u3099\u309a]"
)
_HOSTNAME = re.compile(rf"{_LABEL_CHAR}+(?:{_DOT}{_LABEL_CHAR}+)+")
# Belt and braces: any other dot between a visible character and a whole label that is a TLD (`a·.com`).
_DOT_BEFORE_LABEL = re.compile(rf"(?<=[^\s\[]){_DOT}(?={_LABEL_CHAR})")
_LABEL = re.compile(rf"{_LABEL_CHAR}+")
_DOTS = re.compile(_DOT)
_UNDEFANGED_DOTS = re.compile(rf"(?<!\[){_DOT}|{_DOT}(?!\])")
_LABEL_CHAR_AT = re.compile(_LABEL_CHAR)
_PARTIAL_HOST_TAIL = re.compile(rf"{_DOT}{_LABEL_CHAR}*$")
# `scheme://authority`: the authority runs to the first path, query or fragment character, space or quote, and
# stops before another URL's scheme (`https://https://evil.com` is two).
_SCHEME = r"[a-z][a-z0-9+.-]{0,31}://"
_SCHEME_URL = re.compile(rf"(?<![a-z0-9])({_SCHEME[:-3]})://((?:(?!{_SCHEME})[^\s/?#\\<>\"'`|])*)", re.IGNORECASE)
_MAILTO = re.compile(r"(mailto):", re.IGNORECASE)
# Schemes Slack links, spelled so that it does not; `s3://bucket/key` is not a link (its host is judged as text).
_DEFANGED_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp", "ftps": "fxps", "sftp": "sfxp"}
_UNLINKED_SCHEMES = frozenset({"s3", *_DEFANGED_SCHEMES.values()})


def defang(text: str, *, bare_hosts: bool = True) -> str:
    """`text` with everything Slack would auto-link made unclickable but readable.

    `scheme://host` → `hxxp(s)://host[.]with[.]dots` (other schemes keep their name as `scheme[:]//`), `mailto:`
    → `mailto[:]`, and, with `bare_hosts`, every `www.` host and every hostname with a known TLD in any label
    after the first (`evil.com`, `evil.com.jpg`, `ops@evil.com`) gets `[.]` for each dot. Idempotent.
    """
    text = _SCHEME_URL.sub(_defang_url, text)
    text = _MAILTO.sub(r"\1[:]", text)
    if bare_hosts:
        text = _HOSTNAME.sub(_defang_host, text)
        hosts_done = text
        text = _DOT_BEFORE_LABEL.sub(lambda m: _defang_dot(m, hosts_done), hosts_done)
    return text


def _defang_url(match: re.Match[str]) -> str:
    scheme, authority = match.group(1), match.group(2)
    if scheme.lower() in _UNLINKED_SCHEMES:
        return match.group()
    host = _UNDEFANGED_DOTS.sub(DEFANGED_DOT, authority)
    defanged = _DEFANGED_SCHEMES.get(scheme.lower())
    if defanged is None:
        return f"{scheme}[:]//{host}"
    return f"{defanged.upper() if scheme.isupper() else defanged}://{host}"


def _defang_host(match: re.Match[str]) -> str:
    host = match.group()
    labels = _DOTS.split(host)
    if labels[0].strip("_-").casefold() == "www" or any(_tld_like(label) for label in labels[1:]):
        return _DOTS.sub(DEFANGED_DOT, host)
    return host


def _defang_dot(match: re.Match[str], text: str) -> str:
    label = _LABEL.match(text, match.end())
    return DEFANGED_DOT if label is not None and _tld_like(label.group()) else match.group()


def _tld_like(label: str) -> bool:
    """A TLD, also with `_` or `-` around it or an `_` after it: Slack may end a link there (`evil.co_`)."""
    name = label.strip("_-")
    return is_tld(name) or is_tld(name.split("_", 1)[0])


def _neutralise_mrkdwn(text: str) -> str:
    """Fullwidth forms for the characters that would make `text` bold, italic, struck, code, a quote or a ping."""
    text = text.replace("*", FULLWIDTH_ASTERISK).replace("~", FULLWIDTH_TILDE).replace("`", FULLWIDTH_GRAVE)
    text = _FORMATTING_UNDERSCORE.sub(FULLWIDTH_LOW_LINE, text)
    text = _QUOTE_AT_LINE_START.sub(lambda m: m.group(1) + FULLWIDTH_GREATER_THAN, text)
    return _BROADCAST.sub(FULLWIDTH_AT, text)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: object) -> str:
    """Untrusted text as inert mrkdwn (see the module docstring): invisible controls shown, links defanged,
    formatting characters replaced by their fullwidth forms, `&`, `<`, `>` as entities.

    After this, `<!channel>`, `<@U123>` and `<https://x|y>` arrive as visible, inert text, `*Root cause*` is not
    bold, and `evil.example.com` is not a link. Also right for plain_text (headers), which Slack auto-links too.
    """
    return _entities(_neutralise_mrkdwn(defang(clean_text(str(text)))))


def slack_length(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts twice): the conservative reading of Slack's
    character limits, which never undercounts."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def clip(text: str, limit: int) -> str:
    """Cut already-escaped `text` to at most `limit` characters (counted by `slack_length`), ending with "…",
    never mid-entity, and never leaving the start of a longer name that now ends in a TLD (`evil.comx` cut
    to `evil.co…` would be a link)."""
    if len(text) <= limit and slack_length(text) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - 1  # room for the ellipsis
    end = 0
    for ch in text:
        budget -= 2 if ord(ch) > 0xFFFF else 1
        if budget < 0:
            break
        end += 1
    kept = text[:end]
    if end < len(text) and _LABEL_CHAR_AT.fullmatch(text[end]):
        kept = _PARTIAL_HOST_TAIL.sub("", kept)
    return _PARTIAL_ENTITY.sub("", kept) + ELLIPSIS


def safe(text: object, limit: int) -> str:
    """`escape` then `clip`: the one call for alert-, tool- or model-supplied text in mrkdwn."""
    raw = str(text)
    # Clip the raw text first so a huge input is not escaped in full just to be thrown away.
    return clip(escape(raw[: limit + 1] if len(raw) > limit else raw), limit)


def one_line(text: object) -> str:
    """Collapse whitespace (newlines included) so a value fits on one bullet line."""
    return " ".join(str(text).split())


def code_block(text: object, limit: int, *, commands: bool = False) -> str:
    """A ``` block of `text` kept literal, whose own backtick fences are broken, so it cannot end the block early.

    Inside the block Slack applies no formatting, so only what could escape or link is changed: fences (runs of
    three or more backticks become fullwidth), `&`, `<`, `>`, broadcast words, invisible controls and links. With
    `commands` (the diagnostics, each judged read-only by `functions.analyze.commands`) only `scheme://` URLs are
    defanged: a bucket or host name with dots must stay pasteable, and Slack does not auto-link inside a code block.
    """
    raw = str(text)
    raw = raw[: limit + 1] if len(raw) > limit else raw
    body = defang(clean_text(raw), bare_hosts=not commands).strip("\n")
    body = _FENCE.sub(lambda m: FULLWIDTH_GRAVE * len(m.group()), body)
    body = _entities(_BROADCAST.sub(FULLWIDTH_AT, body))
    # The fences take 8 characters ("```\n" + "\n```"); the newline keeps a trailing backtick off the fence.
    return "```\n" + clip(body, max(limit - 8, 1)) + "\n```"


def link(url: str | None, label: str) -> str:
    """`<url|label>` when `url` is an AWS console link, else just `label` (already escaped by the caller).

    Characters that would end the link early are percent-encoded in the URL.
    """
    if url is None or not is_console_url(url):
        return label
    target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{target}|{label}>"
