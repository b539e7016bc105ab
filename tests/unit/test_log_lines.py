"""Long log lines are shortened around their error: the exception's type and message survive, the middle goes."""

from __future__ import annotations

import json
import re

import pytest

from functions.shared.investigate.log_lines import MAX_LINE_BYTES, shorten_line
from functions.shared.investigate.logs import ERROR_PATTERN, group_errors
from tests.support.gather_fakes import log_row

REQUEST = "5f0c1a2b-1111-2222-3333-444455556666"
POSTGRES = (
    f"2026-11-25T18:58:01.123Z {REQUEST} ERROR Unhandled error while connecting to the orders database cluster "
    "orders-prod.cluster-abc123.us-east-1.rds.amazonaws.com:5432 after 3 retries: psycopg2.OperationalError: "
    'connection to server failed: FATAL: password authentication failed for user "app"'
)
WRAPPED = (
    f"[ERROR]\t2026-11-25T18:58:01.123Z\t{REQUEST}\tOperationalError: connection to server at "
    '"orders-db.cluster-c9x8y7z6.us-east-1.rds.amazonaws.com" (10.0.21.14), port 5432 failed: FATAL:  password '
    'authentication failed for user "orders_app"'
)
REPORT_OOM = (
    f"REPORT RequestId: {REQUEST}\tDuration: 2894.71 ms\tBilled Duration: 2895 ms\tMemory Size: 128 MB\t"
    "Max Memory Used: 128 MB\tInit Duration: 412.11 ms\tStatus: error\tError Type: Runtime.OutOfMemory"
)
REPORT_TIMEOUT = (
    f"REPORT RequestId: {REQUEST}\tDuration: 30000.00 ms\tBilled Duration: 30000 ms\tMemory Size: 1024 MB\t"
    "Max Memory Used: 212 MB\tInit Duration: 388.20 ms\tXRAY TraceId: 1-6740c1a9-0123456789abcdef01234567\t"
    "SegmentId: 0a1b2c3d4e5f6a7b\tSampled: true\tStatus: timeout"
)
JAVA = (
    "2026-11-25 18:58:01.123 ERROR 1 --- [nio-8080-exec-7] c.a.payments.PaymentController : Request processing "
    "failed\norg.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection\n"
    "\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException"
    "(HibernateJpaDialect.java:275)\n\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect."
    "translateExceptionIfPossible(HibernateJpaDialect.java:233)\nCaused by: java.sql.SQLTransientConnectionException: "
    "HikariPool-1 - Connection is not available, request timed out after 30000ms.\n\tat com.zaxxer.hikari.pool."
    "HikariPool.createTimeoutException(HikariPool.java:696)\n\t... 87 more"
)
POWERTOOLS = json.dumps(
    {
        "level": "ERROR",
        "location": "handler:41",
        "message": "Unhandled exception",
        "timestamp": "2026-11-25 18:58:01,123+0000",
        "service": "checkout",
        "xray_trace_id": "1-6740c1a9-0123456789abcdef01234567",
        "exception": 'Traceback (most recent call last):\n  File "/var/task/app.py", line 41, in handler\n    url = '
        'os.environ["PAYMENT_API_URL"]\n  File "<frozen os>", line 679, in __getitem__\nKeyError: \'PAYMENT_API_URL\'',
        "exception_name": "KeyError",
    }
)
NODE_JSON = json.dumps(
    {
        "timestamp": "2026-11-25T18:58:01.123Z",
        "level": "ERROR",
        "requestId": REQUEST,
        "service": "checkout",
        "xray_trace_id": "1-5f0c1a2b-abcdef0123456789abcdef01",
        "message": "Payment provider call failed",
        "error": {
            "type": "ReadTimeout",
            "message": "HTTPSConnectionPool(host='api.payments.example', port=443): Read timed out. (read timeout=10)",
            "stack": "ReadTimeout: ...\n    at Socket.<anonymous> (/var/task/node_modules/undici/client.js:1192:19)",
        },
    }
)


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (POSTGRES, ["2026-11-25T18:58:01.123Z", "psycopg2.OperationalError", "FATAL: password authentication failed"]),
        (
            WRAPPED,
            ["[ERROR] 2026-11-25T18:58:01.123Z", "OperationalError: connection", "FATAL: password authentication"],
        ),
        (REPORT_OOM, ["REPORT RequestId", "Status: error", "Error Type: Runtime.OutOfMemory"]),
        (REPORT_TIMEOUT, ["REPORT RequestId", "Status: timeout"]),
        (JAVA, ["2026-11-25 18:58:01.123 ERROR", "SQLTransientConnectionException", "request timed out after 30000ms"]),
        (POWERTOOLS, ["ERROR", "Unhandled exception", "KeyError: 'PAYMENT_API_URL'"]),
        (NODE_JSON, ["ERROR", "Payment provider call failed", "ReadTimeout: HTTPSConnectionPool", "read timeout=10"]),
    ],
    ids=[
        "postgres-fatal",
        "wrapped-fatal",
        "report-oom",
        "report-timeout",
        "java-caused-by",
        "powertools-json",
        "node-json",
    ],
)
def test_a_long_line_keeps_its_head_and_its_error(line, kept):
    shortened = shorten_line(line)

    assert len(shortened.encode()) <= MAX_LINE_BYTES < len(line.encode())
    for part in kept:
        assert part in shortened, (part, shortened)
    assert "\tat " not in shortened and "HibernateJpaDialect" not in shortened  # stack frames are elided


def test_a_line_that_fits_is_unchanged_but_for_whitespace():
    line = f"2026-11-25T18:58:01.123Z {REQUEST} Task timed out after 30.03 seconds"
    assert shorten_line(line) == line
    assert shorten_line("[ERROR]\tKeyError:  'X'\n") == "[ERROR] KeyError: 'X'"


def test_the_byte_bound_holds_for_multibyte_text_and_a_line_without_an_error_word():
    line = "Ünïcödé " * 80 + "ValueError: naïve datetime — ☃"
    shortened = shorten_line(line)
    assert len(shortened.encode()) <= MAX_LINE_BYTES
    assert shortened.endswith("ValueError: naïve datetime — ☃")
    plain = shorten_line("x" * 1000)
    assert len(plain.encode()) <= MAX_LINE_BYTES and plain.endswith("…")


@pytest.mark.parametrize(
    "line",
    [
        "Error Type: Runtime.OutOfMemory",
        '{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Runtime exited with error: signal: killed"}',
        "Runtime.OutOfMemory",
        "FATAL:  terminating connection due to administrator command",
        "2026-11-25T18:58:01.123Z 1 Task timed out after 30.03 seconds",
        "java.lang.OutOfMemoryError: Java heap space",
        "Container killed: OOMKilled",
    ],
)
def test_the_error_filter_matches_lambda_runtime_and_memory_errors(line):
    assert re.search(ERROR_PATTERN, line)


def test_the_filter_still_ignores_ordinary_lines():
    for line in ("[INFO] Order 88213 placed in 143 ms", "START RequestId: 1 Version: $LATEST", "Init Duration: 4 ms"):
        assert not re.search(ERROR_PATTERN, line)


def test_grouped_patterns_show_the_shortened_example():
    patterns = group_errors([log_row(2, REPORT_OOM), log_row(1, REPORT_OOM.replace("2894.71", "2911.02"))])

    assert len(patterns) == 1 and patterns[0].count == 2
    assert patterns[0].example.endswith("Error Type: Runtime.OutOfMemory")
    assert "2911.02" in patterns[0].example  # the newest line
