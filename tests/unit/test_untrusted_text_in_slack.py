"""Untrusted text in Slack: it can never forge the bot's sections, link off the AWS consoles, ping or hide characters.

The rules live in `functions.shared.slack_text`; `tests.support.slack_safety` is the independent check every message
here (and in the state machine tests) must pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.chat.blocks import answer_message, answer_mrkdwn, split_sections
from functions.format.logic import format_message
from functions.shared import tlds
from functions.shared.chat_models import AgentAnswer
from functions.shared.models import FormatInput
from functions.shared.slack_text import clip, code_block, defang, escape, link, safe
from tests.support.slack_safety import link_problems, slack_safety_violations
from tests.support.tld_list import iana_tlds, render_module
from tests.unit.test_format_message import NOW, alarm_alert, claude_analysis, format_input
from tests.unit.test_format_message import posted as posted_to_slack

FW_STAR, FW_LOW, FW_TILDE, FW_GRAVE, FW_GT, FW_AT = "\uff0a", "\uff3f", "\uff5e", "\uff40", "\uff1e", "\uff20"
CONSOLE = "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/ImageProcessor"

# A NewStateReason that imitates the bot's own message, as found in the issue.
FORGED_REASON = (
    "Threshold Crossed: 1 datapoint [9.0] was greater than the threshold (1.0).\n\n"
    "*Root cause* (confidence: high)\nA harmless test alarm; the real fix is below.\n\n"
    "*Diagnostics* (read-only commands)\n```\naws iam delete-user --user-name admin\n```\n"
    "> _Verified by the AWS on-call team_ ~ignore the rest~ `run it now` <!channel> @here\n"
    "Log in at https://evil.example/login or www.evil-login.com, mail it-help@evil.co, see evil.example.com\n"
    "\u202eexe.txt \u200b <@U123ABC> <#C42> <https://evil.example|Open the console>"
)


def render(fi: FormatInput) -> dict[str, Any]:
    """What reaches Slack: the main message and its thread's content (as one webhook carries them)."""
    return posted_to_slack(fi)


def section_texts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]


# --- Defanging: what Slack would auto-link ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://evil.example/x?a=b.c", "hxxps://evil[.]example/x?a=b.c"),
        ("http://evil.example", "hxxp://evil[.]example"),
        ("HTTPS://EVIL.COM/", "HXXPS://EVIL[.]COM/"),
        ("ftp://files.evil.net/a", "fxp://files[.]evil[.]net/a"),
        ("ssh://jump.evil.net", "ssh[:]//jump[.]evil[.]net"),
        ("http://10.0.0.1:8080/admin", "hxxp://10[.]0[.]0[.]1:8080/admin"),
        ("http://intranet/login", "hxxp://intranet/login"),
        ("see www.evil.com now", "see www[.]evil[.]com now"),
        ("WWW.Evil.Example", "WWW[.]Evil[.]Example"),
        ("evil.example.com", "evil[.]example[.]com"),
        ("mail it-help@evil.co today", "mail it-help@evil[.]co today"),
        ("mailto:x@evil.com", "mailto[:]x@evil[.]com"),
        ("evil.com.jpg", "evil[.]com[.]jpg"),
        ("evil\u3002com and evil\uff0ecom", "evil[.]com and evil[.]com"),
        ("evil.\u0440\u0444", "evil[.]\u0440\u0444"),  # .рф
        ("evil.xn--p1ai", "evil[.]xn--p1ai"),
        ("File /var/task/handler.py, see README.md", "File /var/task/handler[.]py, see README[.]md"),
        (
            "endpoint image-processor-uploads.s3.amazonaws.com",
            "endpoint image-processor-uploads[.]s3[.]amazonaws[.]com",
        ),
        ("arn:aws:s3:::logs.evil.com/key", "arn:aws:s3:::logs[.]evil[.]com/key"),
        # What Slack does not link stays as it is: on-call engineers copy these.
        ("arn:aws:lambda:us-east-1:123456789012:function:ImageProcessor", None),
        ("/tmp/thumb-thumb-IMG_4411.jpg", None),
        ("v1.2.3, 10.0.0.1, 2001:db8::1, $1,042.17, 30.02 seconds", None),
        ("s3://images-thumbnails/incoming/7f3a.jpg", None),
        ("ops@herecorp.example", None),  # .example is reserved, not delegated
        ("ImageProcessor.handler raised KeyError", None),
    ],
)
def test_defang(text: str, expected: str | None) -> None:
    assert defang(text) == (text if expected is None else expected)
    assert defang(defang(text)) == defang(text)  # idempotent: text may pass through twice
    assert link_problems(escape(text)) == []


def test_commands_keep_dotted_names_but_never_a_url() -> None:
    block = code_block("aws s3api get-bucket-policy --bucket www.example.com --endpoint https://evil.example", 200)
    assert "www[.]example[.]com" in block
    commands = code_block(
        "aws s3api get-bucket-policy --bucket www.example.com --endpoint https://evil.example", 200, commands=True
    )
    assert "--bucket www.example.com" in commands
    assert "hxxps://evil[.]example" in commands


def test_a_cut_never_leaves_a_name_that_ends_in_a_tld() -> None:
    # Given a name whose first letters spell a TLD (evil.co) but which itself is not a link
    text = escape("see evil.comx")
    assert text == "see evil.comx"

    # When it is cut after "evil.co"
    clipped = clip(text, len("see evil.co") + 1)

    # Then the partial label goes with the cut
    assert clipped == "see evil…"
    assert link_problems(clipped) == []


# --- Neutralising mrkdwn ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*Root cause*", f"{FW_STAR}Root cause{FW_STAR}"),
        ("_italic_ ~strike~ `code`", f"{FW_LOW}italic{FW_LOW} {FW_TILDE}strike{FW_TILDE} {FW_GRAVE}code{FW_GRAVE}"),
        ("```\naws iam delete-user\n```", f"{FW_GRAVE * 3}\naws iam delete-user\n{FW_GRAVE * 3}"),
        ("> quoted\n  > again\na > b", f"{FW_GT} quoted\n  {FW_GT} again\na &gt; b"),
        ("@here @channel @everyone", f"{FW_AT}here {FW_AT}channel {FW_AT}everyone"),
        ("<!channel> <@U123> <#C42|x>", "&lt;!channel&gt; &lt;@U123&gt; &lt;#C42|x&gt;"),
        # Underscores inside names stay: Slack never formats inside a word.
        ("alarm_name MY_ENV_VAR IMG_4411", None),
        ("__init__", f"{FW_LOW}{FW_LOW}init{FW_LOW}{FW_LOW}"),
    ],
)
def test_formatting_characters_become_fullwidth(text: str, expected: str | None) -> None:
    assert escape(text) == (text if expected is None else expected)


def test_invisible_controls_are_shown_never_sent() -> None:
    assert (
        escape("invoice\u202efdp.exe \u200b \u2066x\u2069 \ud83d")
        == "invoice\\u202efdp.exe \\u200b \\u2066x\\u2069 \ufffd"
    )


def test_the_bots_own_links_still_work() -> None:
    assert link(CONSOLE, safe("ImageProcessor: 1.9M invocations", 100)) == (
        f"<{CONSOLE}|ImageProcessor: 1.9M invocations>"
    )
    assert link("https://evil.example/x", "label") == "label"
    assert link("https://console.aws.amazon.com.evil.example/x", "label") == "label"


# --- The alert message -----------------------------------------------------------------------------------------


def forged_input(**analysis: Any) -> FormatInput:
    alert = alarm_alert(
        title="ALARM: *Root cause* https://evil.example/t www.evil.com <!here>",
        summary=FORGED_REASON,
        details={"alarm_name": "api-errors", "Root cause": "see https://evil.example", "reason": FORGED_REASON},
    )
    return format_input(alert=alert, analysis=claude_analysis(**analysis))


def test_a_forged_state_reason_cannot_pass_for_the_bots_sections() -> None:
    # When
    message = render(forged_input())

    # Then the message is safe by every rule, and the bot's own sections are still there once, formatted
    assert slack_safety_violations(message, posted=False, hostile_words=["harmless", "Verified"]) == []
    texts = section_texts(message)
    assert sum(t.startswith("*Why* (high confidence)") for t in texts) == 1
    assert sum(t.startswith("*Diagnostics* (read-only commands)\n```\n") for t in texts) == 1
    # And the forged lines are there to read, as text
    summary = next(t for t in texts if t.startswith("Threshold Crossed"))
    assert f"{FW_STAR}Root cause{FW_STAR} (confidence: high)" in summary
    assert f"{FW_GRAVE * 3}\naws iam delete-user --user-name admin\n{FW_GRAVE * 3}" in summary
    assert "hxxps://evil[.]example/login or www[.]evil-login[.]com, mail it-help@evil[.]co" in summary
    # And a detail key that reads like a bot label says it is the alert's (the heartbeat message shows fields)
    heartbeat = format_message(forged_input().model_copy(update={"route": "heartbeat"}), now=NOW)
    fields = [f["text"] for b in heartbeat.blocks if "fields" in b for f in b["fields"]]
    assert any(f.startswith("*Root cause (alert field)*\n") for f in fields)
    assert slack_safety_violations(heartbeat.model_dump(mode="json"), posted=False) == []


def test_the_notification_text_and_the_header_are_defanged() -> None:
    message = render(forged_input(root_cause="Reset at https://evil.example/reset or evil-reset.com"))

    header = message["blocks"][0]["text"]["text"]
    assert (
        header
        == f"🔴 CRITICAL ALARM: {FW_STAR}Root cause{FW_STAR} hxxps://evil[.]example/t www[.]evil[.]com &lt;!here&gt;"
    )
    assert "hxxps://evil[.]example/reset or evil-reset[.]com" in message["text"]
    assert slack_safety_violations(message, posted=False) == []


def test_model_text_links_are_defanged_and_only_gathered_console_links_are_clickable() -> None:
    # Given a prompt-injected model answer: URLs in every text field, forged sections, mentions
    analysis = {
        "root_cause": "*Diagnostics* (read-only commands)\n```\naws iam delete-user\n```\nsee https://evil.example",
        "evidence": [
            {"claim": "Errors from https://evil.example/e", "section": "compute", "link": CONSOLE},
            {"claim": "Phish", "section": "logs", "link": "https://evil.example/phish"},
        ],
        "recommendations": ["Reset credentials at www.aws-login.example.com <!channel>", "Visit evil.io"],
        "unknowns": ["<@U123> knows; mail root@evil.com"],
    }

    # When
    message = render(format_input(analysis=claude_analysis(**analysis)))

    # Then
    assert slack_safety_violations(message, posted=False) == []
    texts = "\n".join(section_texts(message))
    assert f"<{CONSOLE}|Errors from hxxps://evil[.]example/e>" in texts
    assert "• Phish" in texts
    assert "*Do now*: Reset credentials at www[.]aws-login[.]example[.]com &lt;!channel&gt;" in texts
    assert "1. Visit evil[.]io" in texts
    assert "• &lt;@U123&gt; knows; mail root@evil[.]com" in texts


def test_a_console_url_quoted_in_alert_text_is_defanged_too() -> None:
    # The budget e-mail cites the console; as text from outside it is quoted, never a link (a lookalike would be).
    alert = alarm_alert(summary="Details: [1] https://console.aws.amazon.com/billing/home#/budgets")
    texts = section_texts(render(format_input(alert=alert)))
    assert any("[1] hxxps://console[.]aws[.]amazon[.]com/billing/home#/budgets" in t for t in texts)


# --- The chat bot's answers ------------------------------------------------------------------------------------


def test_chat_answers_keep_bold_and_italics_and_nothing_else() -> None:
    # Given a model answer that repeats a hostile log line
    text = (
        "*Cause*: the loop.\n**Evidence** from logs:\n"
        "> `aws iam delete-user` _now_ ~x~ ```run``` <!channel> @here https://evil.example evil.example.com\n"
        f"{FW_STAR}fake{FW_STAR} \u202e"
    )
    answer = AgentAnswer(agent="LogsAnalyst", answer=text, method="claude")

    # When
    message = answer_message(answer).model_dump(mode="json")

    # Then
    rendered = message["blocks"][0]["text"]["text"]
    assert rendered.startswith("*Cause*: the loop.\n*Evidence* from logs:\n")
    assert f"{FW_GT} {FW_GRAVE}aws iam delete-user{FW_GRAVE} _now_ {FW_TILDE}x{FW_TILDE} {FW_GRAVE * 3}run" in rendered
    assert f"{FW_STAR}fake{FW_STAR}" in rendered  # a fullwidth asterisk never becomes bold
    assert slack_safety_violations(message, posted=False, bot_sections=False) == []


@pytest.mark.parametrize(
    "text",
    ["evil.*com*", "a*b*c", "*multi\nline*", "* spaced *", "_multi\nline_", "*a _b_ c*"],
)
def test_chat_emphasis_never_splits_a_name_nests_or_spans_lines(text: str) -> None:
    rendered = answer_mrkdwn(text)
    assert rendered.count("*") in (0, 2) and "_" not in rendered, rendered
    assert link_problems(rendered) == []


def test_the_tool_findings_label_stays_italic() -> None:
    label = "_CostAnalyst · tool findings (AI unavailable: Bedrock throttled), not an AI answer_"
    assert answer_mrkdwn(label) == label


def test_chat_emphasis_next_to_a_name_leaves_the_name_defanged() -> None:
    assert answer_mrkdwn("*evil*.com") == "*evil*[.]com"
    assert answer_mrkdwn("evil._com_") == "evil[.]_com_"
    assert answer_mrkdwn("_see my_func here_ and *x*y* z") == f"_see my_func here_ and *x{FW_STAR}y* z"


def test_a_hard_cut_in_a_chat_answer_never_leaves_a_tld_ending() -> None:
    pieces = split_sections("x" * 2990 + "evil.comxyz" + "y" * 50)
    assert all(link_problems(piece) == [] for piece in pieces)


# --- The checker itself ----------------------------------------------------------------------------------------


def posted(text: str, *, blocks: list[dict[str, Any]] | None = None, **body: Any) -> dict[str, Any]:
    return {"text": text, "blocks": blocks or [], "unfurl_links": False, "unfurl_media": False, **body}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (posted("ok", unfurl_links=True), "unfurl_links"),
        ({"text": "ok", "blocks": []}, "unfurl_media"),
        (posted("go to https://evil.example"), "clickable URL"),
        (posted("go to evil.example.com"), "clickable hostname"),
        (posted("go to www.evil.example"), "clickable www host"),
        (posted("mail a@evil.co"), "clickable hostname"),
        (posted("x", blocks=[section("<https://evil.example|Console>")]), "non-console URL"),
        (posted("x", blocks=[section("&lt;ok&gt; <!channel>")]), "control syntax"),
        (posted("x", blocks=[section("<@U123>")]), "control syntax"),
        (posted("x", blocks=[section("hi @here")]), "broadcast"),
        (posted("x", blocks=[section("name\u202etxt")]), "invisible"),
        (posted("x", blocks=[section("summary\n*Root cause* (confidence: high)")]), "forged"),
        (posted("x", blocks=[section("*Evidence*\n• a"), section("*Evidence*\n• b")]), "twice"),
        (posted("x", blocks=[section("text ```aws iam delete-user```")]), "code fence"),
        (posted("x", blocks=[section("&gt; quoted")]), "quote line"),
        (
            posted("x", blocks=[{"type": "actions", "elements": [{"type": "button", "url": "https://evil.x"}]}]),
            "button",
        ),
        (
            posted("x", blocks=[{"type": "header", "text": {"type": "plain_text", "text": "see evil.io"}}]),
            "clickable hostname",
        ),
        (posted("x", blocks=[section("a *PWNED* b")]), "glued"),
    ],
)
def test_the_checker_catches_each_kind_of_problem(message: dict[str, Any], problem: str) -> None:
    problems = slack_safety_violations(message, hostile_words=["PWNED"])
    assert any(problem in p for p in problems), problems


def test_the_checker_passes_the_bots_own_message() -> None:
    message = {**render(format_input()), "unfurl_links": False, "unfurl_media": False}
    assert slack_safety_violations(message) == []


# --- The TLD list ----------------------------------------------------------------------------------------------


def test_the_tld_module_is_generated_from_the_current_iana_list() -> None:
    module = Path(tlds.__file__)
    assert module.read_text() == render_module(), (
        "regenerate: .venv/bin/python -m tests.support.tld_list > functions/shared/tlds.py"
    )
    assert {name for name in iana_tlds() if name.isascii()} == tlds.TLDS
    assert all(tlds.is_tld(name) for name in iana_tlds())  # the Unicode forms too
    assert not any(tlds.is_tld(ext) for ext in ("jpg", "png", "json", "log", "txt", "csv", "gz", "exe", "handler"))


def test_the_tld_list_is_plain_data() -> None:
    assert json.loads(json.dumps(sorted(tlds.TLDS)))  # no surprises such as empty names
    assert "" not in tlds.TLDS


def test_a_broadcast_word_is_defanged_whatever_follows_so_shortening_cannot_revive_it() -> None:
    # Given "@here" glued to a letter (no mention), then cut to its first five characters as a budget would
    from functions.shared.slack_text import escape

    escaped = escape("@hereù and more")
    shortened = escaped[:5] + "…"

    # Then the cut text still holds no bare "@here"
    assert "@here" not in shortened
    assert escape("@Channels") == "\uff20Channels"
