"""Parsing the original script's .env file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tray_app.storage.envfile import EnvFileError, NotUtf8Error, parse_env, read_env


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


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_file_not_in_utf8_names_the_first_bad_line(
    tmp_path: Path, newline: str, bom: bytes
) -> None:
    path = tmp_path / ".env"
    text = newline.join(["# старый скрипт", "ACCESS_TOKEN=a", "CONTACT_EMAIL=x@y.ru", ""])
    path.write_bytes(bom + text.encode() + "# комментарий в cp1251".encode("cp1251") + b"\n")
    with pytest.raises(NotUtf8Error) as caught:
        read_env(path)
    assert caught.value.line_number == 4
