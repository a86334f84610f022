"""The environment the tests run in was installed cleanly (scripts/setup): caldav imports and speaks through
niquests on urllib3-future, which lives beside urllib3 as ``urllib3_future`` and has not taken urllib3's place,
so requests (google-auth, msal) and everything else still run on the real urllib3.

urllib3-future's wheel writes its own files over urllib3's and ships a ``.pth`` that copies them there again at
every interpreter start; its versions end in 9xx (2.25.904), real urllib3's do not."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import site
import sys
import sysconfig
from pathlib import Path


def _patch(version: str) -> int:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    assert match, version
    return int(match.group(3))


def _site_dirs() -> set[Path]:
    dirs = {Path(p) for p in site.getsitepackages()}
    dirs |= {Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    if site.ENABLE_USER_SITE:
        dirs.add(Path(site.getusersitepackages()))
    return {d for d in dirs if d.is_dir()}


def test_no_pth_file_puts_urllib3_future_in_urllib3s_place() -> None:
    pth_files = [pth for d in _site_dirs() for pth in d.glob("*.pth")]
    assert pth_files  # the editable install of this project is one: the scan does look in the right places
    hooks = [pth for pth in pth_files if "urllib3_future" in pth.read_text("utf-8", "replace")]
    assert hooks == [], "urllib3-future was installed from its wheel: run scripts/setup"


def test_urllib3_is_the_real_urllib3_with_its_own_files() -> None:
    import urllib3

    assert _patch(urllib3.__version__) < 900, f"urllib3 {urllib3.__version__} is urllib3-future"
    folder = Path(urllib3.__file__).parent
    assert not (folder / ".u3f_sync").exists()
    dist = importlib.metadata.distribution("urllib3")
    assert dist.version == urllib3.__version__
    checked = 0
    for entry in dist.files or []:
        if entry.suffix != ".py" or entry.hash is None or entry.hash.mode != "sha256":
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(Path(str(entry.locate())).read_bytes()).digest())
        assert digest.rstrip(b"=").decode() == entry.hash.value, f"{entry} is not the file urllib3 installed"
        checked += 1
    assert checked >= 20  # urllib3/__init__.py, connectionpool.py, util/*.py, ...


def test_caldav_runs_on_urllib3_future_beside_urllib3() -> None:
    import caldav
    import caldav.aio
    import niquests.packages
    import urllib3
    import urllib3_future

    assert caldav.__version__.startswith("3.")
    assert caldav.aio.AsyncDAVClient.__module__ == "caldav.async_davclient"
    used = niquests.packages.urllib3  # the urllib3 niquests (and so caldav) speaks HTTP with
    assert used is urllib3_future and _patch(used.__version__) >= 900
    assert Path(used.__file__).parent != Path(urllib3.__file__).parent


def test_requests_and_its_users_run_on_urllib3() -> None:
    import requests.adapters
    import urllib3

    assert requests.adapters.PoolManager.__module__ == "urllib3.poolmanager"
    assert _patch(urllib3.__version__) < 900
    assert Path(sys.modules["urllib3.poolmanager"].__file__ or "").parent == Path(urllib3.__file__).parent
    import google.auth.transport.requests  # google-auth's HTTP goes through requests
    import msal.managed_identity  # so does msal's (its default client is a requests.Session)

    assert google.auth.transport.requests.requests is requests
    assert msal.managed_identity.requests is requests
