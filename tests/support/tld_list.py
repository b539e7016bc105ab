"""The IANA list of top-level domains, as vendored by hypothesis: the tests' own oracle of what Slack may auto-link.

`functions/shared/tlds.py` is generated from the same list, so the Lambda package needs no extra dependency:

    .venv/bin/python -m tests.support.tld_list > functions/shared/tlds.py

A test fails when hypothesis ships a newer list than the generated module holds.
"""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path

import hypothesis
import idna

IANA_FILE = Path(hypothesis.__file__).parent / "vendor" / "tlds-alpha-by-domain.txt"


def iana_version() -> str:
    """The list's version line, e.g. `Version 2026111700, Last Updated ...`."""
    return IANA_FILE.read_text().splitlines()[0].lstrip("# ").strip()


@cache
def iana_tlds() -> frozenset[str]:
    """Every TLD in lower case, the `xn--` ones also in their Unicode form (Slack shows and links either)."""
    names: set[str] = set()
    for line in IANA_FILE.read_text().splitlines():
        name = line.strip().lower()
        if not name or name.startswith("#"):
            continue
        names.add(name)
        if name.startswith("xn--"):
            names.add(_unicode_form(name))
    return frozenset(names)


def _unicode_form(name: str) -> str:
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name.encode("ascii").decode("idna")


def render_module() -> str:
    """The source of `functions/shared/tlds.py`: the ASCII names only (an IDN TLD in its `xn--` form)."""
    words = textwrap.fill(" ".join(sorted(n for n in iana_tlds() if n.isascii())), width=110, break_on_hyphens=False)
    return (
        '"""Top-level domains: a hostname ending in one of these is a link to Slack, so untrusted text defangs it.\n'
        "\n"
        f"Generated from the IANA list ({iana_version().split(',')[0]}) by `python -m tests.support.tld_list`;\n"
        "do not edit by hand. Internationalised TLDs are in their `xn--` form (`is_tld` converts a Unicode label).\n"
        '"""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        '_NAMES = """\n'
        f"{textwrap.indent(words, '    ')}\n"
        '"""\n'
        "TLDS: frozenset[str] = frozenset(_NAMES.split())\n"
        "\n"
        "\n"
        "def is_tld(label: str) -> bool:\n"
        '    """True when `label` (any case, ASCII or Unicode) is a top-level domain."""\n'
        "    name = label.casefold()\n"
        "    if name in TLDS:\n"
        "        return True\n"
        "    if name.isascii():\n"
        "        return False\n"
        "    try:\n"
        '        return "xn--" + name.encode("punycode").decode("ascii") in TLDS\n'
        "    except UnicodeError:\n"
        "        return False\n"
    )


if __name__ == "__main__":
    print(render_module(), end="")
