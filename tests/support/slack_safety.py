"""What a Slack message must never carry, whatever the alert, the logs or the model said: a reusable assertion.

`slack_safety_violations(message)` walks the top-level `text` (the push notification) and every string in every
block, recursively, and lists each way the message could mislead or endanger the reader:

* a clickable link off the AWS consoles: `<url|label>` or a button whose URL is not a console URL, a bare
  `scheme://` URL, a `www.` host, a `mailto:`, or a hostname or e-mail address with a known top-level domain (the
  IANA list, `tests.support.tld_list`: what Slack auto-links, in mrkdwn and plain_text alike). Inside the bot's own
  Diagnostics code block only URLs count: commands keep dotted names (buckets) pasteable, and Slack does not
  auto-link inside a code block;
* Slack control syntax: any `<` that does not open one of our console links (`<!channel>`, `<@U123>`, `<#C42>`,
  `<https://evil|click>`), or a bare `@channel` / `@here` / `@everyone`;
* an invisible character: bidi controls, zero-width characters (`functions.shared.untrusted_text`);
* a forged section: one of the bot's headings (`*Root cause*`, `*Diagnostics*`, ...) anywhere but the first line of
  a section block (or after lines that are all bot labels such as `*Source*: ...`), or twice; a code fence outside
  the code block that follows the bot's Diagnostics or Raw alert heading and ends the section; a quote line outside
  the bot's "Analysis failed" block; and, for `hostile_words` (words only the attacker's text contains), any
  formatting character glued to one (`*PWNED*`, `_PWNED_`, `` `PWNED` ``, `~PWNED~`) outside a code block;
* for a body that was posted (`posted=True`), `unfurl_links` or `unfurl_media` not false.

`bot_sections=False` is for the chat bot's answers: they have no sections of the bot's own to forge (the whole
answer is the model's, and keeps its one-line bold), so headings are not judged there; everything else is.

The TLD list is the tests' own copy (hypothesis' vendored IANA file), not the one the formatter uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from functions.shared.console_links import is_console_url
from functions.shared.untrusted_text import has_invisible_controls
from tests.support.tld_list import iana_tlds

BOT_HEADINGS = (
    "Root cause",
    "Why",
    "Do now",
    "Next step",
    "Evidence",
    "What we looked at",
    "Diagnostics",
    "Recommended next steps",
    "Unknowns",
    "Raw alert",
    "Analysis failed",
    "Pipeline",
)
_HEADING = re.compile(r"^\W*\*(" + "|".join(re.escape(h) for h in BOT_HEADINGS) + r")\*")
_CODE_HEADINGS = ("Diagnostics", "Raw alert")
_OUR_LINK = re.compile(r"<([^<>|\s]+)\|([^<>]*)>")
_BROADCAST = re.compile(r"(?<![\w@])@(?:channel|here|everyone)\b", re.IGNORECASE)
# Any `scheme://` but S3's and the defanged spellings (hxxp, hxxps, fxp, ...), which no client links.
_SCHEME = re.compile(
    r"(?<![a-z0-9])(?!(?:s3|hxxps?|fxps?|sfxp)://)[a-z][a-z0-9+.-]*://|(?<![a-z0-9])mailto:", re.IGNORECASE
)
_WWW = re.compile(r"(?<![\w.\u3002\uff0e\uff61-])www[.\u3002\uff0e\uff61][\w-]", re.IGNORECASE)
_DOTS = "[.\u3002\uff0e\uff61]"
_WORD_HOST = re.compile(rf"[\w-]+(?:{_DOTS}[\w-]+)+")
# A wider token: anything but spaces and the punctuation that ends a link, so combining marks stay in a label.
_WIDE_HOST = re.compile(r"[^\s\[\]()<>\"'`|,;:!?/\\@*~=+&{}]+")
_QUOTE_LINE = re.compile(r"^\s*(?:>|&gt;)")
_BOT_LINE = re.compile(r"^\W*\*")
_FENCE = "```"
_SKIP_KEYS = frozenset({"type", "action_id", "block_id", "style", "value", "emoji", "verbatim"})


def slack_safety_violations(
    message: dict[str, Any], *, posted: bool = True, hostile_words: Iterable[str] = (), bot_sections: bool = True
) -> list[str]:
    """Every safety problem in `message` (`{"text", "blocks", ...}` as posted); empty when it is safe."""
    problems: list[str] = []
    words = [w for w in hostile_words if w]
    if posted:
        for flag in ("unfurl_links", "unfurl_media"):
            if message.get(flag) is not False:
                problems.append(f"body: {flag} is {message.get(flag)!r}, not false")
    headings_seen: dict[str, str] = {}
    texts = [("text", "fallback", message.get("text") or "")]
    texts += list(_block_texts(message.get("blocks") or []))
    for where, role, text in texts:
        if role == "url":
            if not is_console_url(text):
                problems.append(f"{where}: button URL is not an AWS console URL: {text[:120]!r}")
            continue
        found = _text_problems(text, role, words, headings_seen if bot_sections else None, where)
        problems += [f"{where}: {p}" for p in found]
    return problems


def assert_slack_safe(
    message: dict[str, Any], *, posted: bool = True, hostile_words: Iterable[str] = (), bot_sections: bool = True
) -> None:
    problems = slack_safety_violations(message, posted=posted, hostile_words=hostile_words, bot_sections=bot_sections)
    assert not problems, "unsafe Slack message:\n  " + "\n  ".join(problems)


def link_problems(text: str) -> list[str]:
    """What Slack would auto-link in `text` (already free of our `<console|label>` links)."""
    problems = [f"clickable URL {m.group()!r}" for m in _SCHEME.finditer(text)]
    problems += [f"clickable www host near {text[m.start() : m.start() + 40]!r}" for m in _WWW.finditer(text)]
    hosts = {m.group() for m in _WORD_HOST.finditer(text)} | {m.group() for m in _WIDE_HOST.finditer(text)}
    for host in sorted(hosts):
        labels = [label.strip("-_") for label in re.split(_DOTS, host)]
        if len(labels) > 1 and labels[0] and any(_is_tld(label) for label in labels[1:] if label):
            problems.append(f"clickable hostname {host!r}")
    return problems


def _is_tld(label: str) -> bool:
    name = label.casefold()
    if name in iana_tlds():
        return True
    try:
        return not name.isascii() and "xn--" + name.encode("punycode").decode("ascii") in iana_tlds()
    except UnicodeError:
        return False


def _block_texts(blocks: list[Any]) -> Iterator[tuple[str, str, str]]:
    """(where, role, text) for every displayed string and URL; role is the kind of the text's top-level block
    ("section", "header", "context", ...), "field" for a section's fields, "url" for a URL."""
    for index, block in enumerate(blocks):
        kind = block.get("type", "?") if isinstance(block, dict) else "?"
        yield from _strings(block, f"blocks[{index}]", str(kind))


def _strings(value: Any, where: str, role: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]", role)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in _SKIP_KEYS:
                continue
            if key == "url" and isinstance(item, str):
                yield f"{where}.url", "url", item
            else:
                yield from _strings(item, f"{where}.{key}", "field" if key == "fields" else role)
    elif isinstance(value, str):
        yield where, role, value


def _text_problems(
    text: str, role: str, words: list[str], headings_seen: dict[str, str] | None, where: str
) -> list[str]:
    problems: list[str] = []
    if has_invisible_controls(text):
        problems.append(f"invisible control character in {text[:80]!r}")

    # Our own console links are the only `<...>` allowed; what is left must hold no link, ping or control.
    def unlink(match: re.Match[str]) -> str:
        url = match.group(1).replace("&amp;", "&")
        if not is_console_url(url):
            problems.append(f"link to a non-console URL {url[:120]!r}")
        return match.group(2)

    visible = _OUR_LINK.sub(unlink, text)
    if "<" in visible:
        index = visible.index("<")
        problems.append(f"Slack control syntax {visible[index : index + 30]!r}")
    if _BROADCAST.search(visible):
        problems.append(f"broadcast mention in {visible[:80]!r}")

    lines = visible.split("\n")
    # Lines inside a code block show as typed: they cannot be headings, quotes or formatting.
    inside: set[int] = set()
    in_code = False
    for number, line in enumerate(lines):
        if in_code:
            inside.add(number)
        if line.count(_FENCE) % 2:
            in_code = not in_code
    # The bot's headings: in a section, on its first line or after lines that are all the bot's own labels
    # (untrusted text can never start a line with an ASCII `*`), each at most once in the message.
    headings: dict[int, str] = {}
    for number, line in enumerate(lines):
        match = _HEADING.match(line)
        if match is None or number in inside:
            continue
        name = match.group(1)
        headings[number] = name
        if headings_seen is None:
            continue
        if role != "section" or not all(_BOT_LINE.match(earlier) for earlier in lines[:number]):
            problems.append(f"bot heading *{name}* forged on line {number + 1}: {line[:80]!r}")
        elif name in headings_seen:
            problems.append(f"bot heading *{name}* appears twice (also at {headings_seen[name]})")
        else:
            headings_seen[name] = where
    # A code block is the bot's own when it opens on the line after its Diagnostics or Raw alert heading and
    # closes on the text's last line; only the Diagnostics block holds commands.
    fence_lines = [n for n, line in enumerate(lines) if _FENCE in line]
    own_code_block = (
        role == "section"
        and len(fence_lines) == 2
        and visible.count(_FENCE) == 2
        and lines[fence_lines[0]] == _FENCE
        and lines[-1] == _FENCE
        and fence_lines[1] == len(lines) - 1
        and headings.get(fence_lines[0] - 1) in _CODE_HEADINGS
    )
    if fence_lines and not own_code_block:
        problems.append(f"code fence outside the bot's own code blocks ({visible.count(_FENCE)} fence marks)")
    if own_code_block and headings.get(fence_lines[0] - 1) == "Diagnostics":
        # Links, judged outside the commands; inside them only URLs count.
        code = "\n".join(lines[fence_lines[0] + 1 : -1])
        problems += link_problems("\n".join(lines[: fence_lines[0]]))
        problems += [p for p in link_problems(code) if not p.startswith(("clickable hostname", "clickable www"))]
    else:
        problems += link_problems(visible)
    heading = _HEADING.match(lines[0]) if lines else None
    analysis_failed = role == "section" and heading is not None and heading.group(1) == "Analysis failed"
    for number, line in enumerate(lines):
        if _QUOTE_LINE.match(line) and not analysis_failed and number not in inside:
            problems.append(f"quote line {line[:80]!r}")
    for word in words if role != "context" else ():  # the footer puts the dedup key in backticks
        glued = re.compile(rf"[*_~`]{re.escape(word)}|{re.escape(word)}[*_~`]")
        if any(glued.search(line) for number, line in enumerate(lines) if number not in inside):
            problems.append(f"formatting characters glued to hostile text {word!r}")
    return problems
