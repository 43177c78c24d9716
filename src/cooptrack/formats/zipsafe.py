"""A ZIP from elsewhere (a backup's .zip, an .xlsx workbook) read as hostile: its directory is
checked before a byte is unpacked. Members whose names could reach outside a folder (absolute,
``..``, backslashes), links and other special files, duplicate names and encrypted members are
findings; members that unpack to more than the caps allow (in all, or many times their packed
size: a ZIP bomb) are TooLarge. The sizes a ZIP declares bound what Python's zipfile unpacks (it
stops there, and a member that holds more fails its CRC check), so the declared sizes are the
ones to check.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from cooptrack.errors import TooLarge
from cooptrack.findings import Finding

MB = 1024 * 1024
RATIO_FLOOR = MB  # smaller members may pack as well as they like
_S_IFMT, _S_IFREG, _S_IFDIR, _S_IFLNK = 0o170000, 0o100000, 0o040000, 0o120000


@dataclass(frozen=True)
class ZipLimits:
    """How far a ZIP may unpack: ``max_bytes`` in all, and no member over RATIO_FLOOR more than
    ``max_ratio`` times its packed size."""

    max_bytes: int
    max_ratio: int


def zip_limits(environ: Mapping[str, str] | None = None) -> ZipLimits:
    """COOPTRACK_MAX_UNZIPPED_MB in all (default 1000) and COOPTRACK_MAX_ZIP_RATIO times a
    member's packed size (default 200), read when asked, like the upload limit
    (COOPTRACK_MAX_UPLOAD_MB)."""
    env = os.environ if environ is None else environ

    def number(name: str, default: float) -> float:
        raw = env.get(name, "")
        try:
            value = float(raw) if raw.strip() else default
        except ValueError:
            value = default
        return value if value > 0 else default

    return ZipLimits(int(number("COOPTRACK_MAX_UNZIPPED_MB", 1000) * MB), int(number("COOPTRACK_MAX_ZIP_RATIO", 200)))


def unsafe_members(infos: list[zipfile.ZipInfo], label: str, holder: str) -> list[Finding]:
    """Every member that is not a plain, safe file, once each. ``holder`` names what the ZIP is
    in the fixes ("a backup", "a workbook")."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts or \
                "\x00" in name:
            findings.append(Finding("unsafe_path", f"member '{name}' of {label} has an unsafe name (an absolute "
                                    f"path, '..' or a backslash); {holder}'s members are plain file names",
                                    source=label, value=name))
            continue
        if name in seen:
            findings.append(Finding("duplicate_member", f"member '{name}' appears more than once in {label}; "
                                    f"{holder} names each file once", source=label, value=name))
        seen.add(name)
        kind = (info.external_attr >> 16) & _S_IFMT
        if kind == _S_IFLNK:
            findings.append(Finding("link_member", f"member '{name}' of {label} is a symbolic link; {holder} "
                                    "holds plain files only", source=label, value=name))
        elif kind not in (0, _S_IFREG, _S_IFDIR) or (kind == _S_IFDIR) != info.is_dir():
            findings.append(Finding("special_member", f"member '{name}' of {label} is not a plain file; {holder} "
                                    "holds plain files only", source=label, value=name))
        elif info.flag_bits & 0x1:
            findings.append(Finding("encrypted_member", f"member '{name}' of {label} is encrypted; {holder} is "
                                    "not", source=label, value=name))
    return findings


def size_problem(infos: list[zipfile.ZipInfo], label: str, limits: ZipLimits, outcome: str,
                 sizes: bool = False) -> TooLarge | None:
    """TooLarge when the members unpack to more than ``limits`` allow, the message ending with
    ``outcome`` ("nothing was restored"); ``sizes``: the message names the member's (the
    largest one's, over the total) unpacked and packed sizes too."""
    total = sum(i.file_size for i in infos)
    if total > limits.max_bytes:
        largest = max(infos, key=lambda i: i.file_size)
        which = (f" (the largest member, '{largest.filename}', {largest.file_size:,} bytes from "
                 f"{largest.compress_size:,})") if sizes else ""
        return TooLarge(f"{label} unpacks to {total:,} bytes{which}, over the limit of {limits.max_bytes:,} bytes "
                        f"(COOPTRACK_MAX_UNZIPPED_MB); {outcome}")
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            packed = f" ({info.file_size:,} bytes from {info.compress_size:,})" if sizes else ""
            return TooLarge(f"member '{info.filename}' of {label} unpacks to {ratio:,.0f} times its packed size"
                            f"{packed}, over the limit of {limits.max_ratio:,} (COOPTRACK_MAX_ZIP_RATIO): it looks "
                            f"like a ZIP bomb; {outcome}")
    return None
