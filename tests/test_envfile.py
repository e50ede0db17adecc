"""Parsing the original script's .env file."""

from __future__ import annotations

import pytest

from tray_app.storage.envfile import EnvFileError, parse_env


def test_common_dotenv_forms() -> None:
    env = parse_env(
        "# comment\n\nexport ACCESS_TOKEN=abc\nREFRESH_TOKEN = 'def'\n"
        'RESUME_ID="0123abcd"  # mine\nCHAT_ID=42 # chat\nOTHER=1\n'
    )
    assert env.values == {
        "ACCESS_TOKEN": "abc",
        "REFRESH_TOKEN": "def",
        "RESUME_ID": "0123abcd",
        "CHAT_ID": "42",
    }
    assert env.unknown_keys == ("OTHER",)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("ACCESS_TOKEN=a\nnonsense\n", 2),
        ("ACCESS_TOKEN='unclosed\n", 1),
        ("A=1\nB=2\nACCESS_TOKEN=two words\n", 3),
        ("ACCESS_TOKEN=a\nACCESS_TOKEN=b\n", 2),
        ('RESUME_ID="x" trailing\n', 1),
    ],
)
def test_malformed_lines_are_refused_with_their_number(text: str, line: int) -> None:
    with pytest.raises(EnvFileError) as caught:
        parse_env(text)
    assert caught.value.line_number == line
