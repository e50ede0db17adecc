"""Strips the debug symbols from a wheel's shared libraries, in place, and rewrites its
RECORD (the hashes pip checks against): curl_cffi's library is 41 MB as the wheel
ships it and 7 MB stripped (scripts/build does the same for the executable).

    python scripts/strip-wheel.py WHEEL...
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def strip_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as source:
        files = {info.filename: source.read(info) for info in source.infolist()}
    with tempfile.TemporaryDirectory() as scratch:
        for name, data in files.items():
            if ".so" in Path(name).suffixes:
                library = Path(scratch, Path(name).name)
                library.write_bytes(data)
                subprocess.run(["strip", "--strip-unneeded", str(library)], check=True)
                files[name] = library.read_bytes()
    record = next(name for name in files if name.endswith(".dist-info/RECORD"))
    rows = []
    for row in csv.reader(io.StringIO(files[record].decode())):
        if row and row[0] in files and row[0] != record:
            row = [row[0], _record_hash(files[row[0]]), str(len(files[row[0]]))]
        rows.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    files[record] = out.getvalue().encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in files.items():
            target.writestr(name, data)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        strip_wheel(Path(argument))
