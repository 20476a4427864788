"""Endpoint profiles, credentials, SHConfig and the DataCollection host trap (QGIS-free)."""

from __future__ import annotations

import pytest
from sentinelhub import DataCollection
from shapely.geometry import box

from s2parity_plugin.core.errors import EndpointConfigError
from s2parity_plugin.core.service import endpoints
from s2parity_plugin.core.service.endpoints import (
    BUILTIN_IDS,
    Credentials,
    Endpoint,
    EndpointProfile,
    credentials_from_sh_profile,
    is_loopback_http,
    l2a_collection,
    resolve_endpoint,
    sh_config,
)

SECRET = "very-secret-value-123"


def test_builtin_profiles():
    assert BUILTIN_IDS == ("sentinelhub", "cdse", "custom")
    assert endpoints.profile_ids()[:3] == BUILTIN_IDS
    creds = Credentials("cid", SECRET)
    sh = resolve_endpoint("sentinelhub", creds)
    assert sh.base_url == "https://services.sentinel-hub.com"
    assert sh.token_url == "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token"
    cdse = resolve_endpoint("cdse", creds)
    assert cdse.base_url == "https://sh.dataspace.copernicus.eu"
    assert cdse.token_url == "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
    assert not sh.is_loopback_http and not cdse.is_loopback_http


def test_real_profiles_need_credentials():
    with pytest.raises(EndpointConfigError, match="No credentials for endpoint 'cdse'"):
        resolve_endpoint("cdse", None)
    with pytest.raises(EndpointConfigError, match="Unknown endpoint profile"):
        resolve_endpoint("nope", Credentials("a", "b"))


def test_custom_profile_checks_urls():
    creds = Credentials("cid", SECRET)
    with pytest.raises(EndpointConfigError, match="needs both a base URL"):
        resolve_endpoint("custom", creds, base_url="https://x.example")
    with pytest.raises(EndpointConfigError, match="unencrypted"):
        resolve_endpoint("custom", creds, base_url="http://x.example", token_url="https://x.example/token")
    with pytest.raises(EndpointConfigError, match="not an http"):
        resolve_endpoint("custom", creds, base_url="ftp://x", token_url="https://x.example/token")
    ep = resolve_endpoint(
        "custom", creds, base_url="https://services-uswest2.sentinel-hub.com/", token_url="https://x.example/token"
    )
    assert ep.base_url == "https://services-uswest2.sentinel-hub.com"


def test_secret_never_in_repr():
    creds = Credentials("cid", SECRET)
    ep = Endpoint("custom", "https://a", "https://a/t", creds)
    assert SECRET not in repr(creds) and SECRET not in repr(ep) and SECRET not in str(ep)
    assert not Credentials("", "")


def test_collection_bound_to_chosen_host_not_pinned():
    """The trap: SENTINEL2_L2A is pinned to services.sentinel-hub.com; our collection follows the endpoint."""
    assert DataCollection.SENTINEL2_L2A.service_url == "https://services.sentinel-hub.com"
    cdse = l2a_collection("https://sh.dataspace.copernicus.eu")
    assert cdse.service_url == "https://sh.dataspace.copernicus.eu"
    assert cdse.api_id == "sentinel-2-l2a"
    assert l2a_collection("https://sh.dataspace.copernicus.eu/") is cdse  # defining again is a no-op
    assert l2a_collection("https://services.sentinel-hub.com").service_url == "https://services.sentinel-hub.com"


def test_tests_and_plugin_share_one_collection_per_base_url():
    """A sample server may get a port an earlier one in the same process had: the collection the tests' support
    module builds for it must be the plugin's own one for that URL (sentinelhub refuses one URL under two names)."""
    import sample_endpoints_support as sup

    url = "http://127.0.0.1:42989"
    mine = l2a_collection(url)
    assert sup.collection({"sh": {"base_url": url}}, "sh") is mine


def test_process_request_url_follows_endpoint():
    from s2parity_plugin.core.fetch.pipeline import _Side, process_request
    from s2parity_plugin.core.model.spec import GridChoice, build_spec

    spec = build_spec(box(0, 0, 100, 100), 32633, "2020-10-04", "2020-10-04", grid=GridChoice(crs_epsg=32633))
    for base in ("https://sh.dataspace.copernicus.eu", "http://127.0.0.1:9/x"):
        ep = Endpoint("custom", base, base + "/token", Credentials("cid", SECRET))
        side = _Side("a", ep, None, None, 10.0)
        side.config = sh_config(ep)
        side.collection = l2a_collection(base)
        req = process_request(spec, spec.grid, side)
        assert req.url == f"{base}/api/v1/process"
        assert req.post_values == spec.to_process_body(spec.grid)


def test_sh_config_is_built_from_scratch(monkeypatch):
    monkeypatch.setenv("SH_CLIENT_ID", "from-env")
    ep = Endpoint("cdse", "https://sh.dataspace.copernicus.eu", "https://t.example/token", Credentials("cid", SECRET))
    config = sh_config(ep, timeout_s=12.0, max_retries_429=3)
    assert config.sh_client_id == "cid" and config.sh_client_secret == SECRET
    assert config.sh_base_url == ep.base_url and config.sh_token_url == ep.token_url
    assert config.download_timeout_seconds == 12.0 and config.max_retries == 3
    assert SECRET not in str(config) and SECRET not in repr(config)


def test_sentinelhub_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "sentinelhub").mkdir()
    (tmp_path / "sentinelhub" / "config.toml").write_text(
        '[cdse-profile]\nsh_client_id = "cid-cdse"\nsh_client_secret = "sec"\n'
        'sh_base_url = "https://sh.dataspace.copernicus.eu"\n'
        '[empty]\nsh_client_id = ""\n'
    )
    creds, base, _token = credentials_from_sh_profile("cdse-profile")
    assert creds == Credentials("cid-cdse", "sec") and base == "https://sh.dataspace.copernicus.eu"
    with pytest.raises(EndpointConfigError, match="no client id/secret"):
        credentials_from_sh_profile("empty")
    with pytest.raises(EndpointConfigError, match="no sentinelhub-py profile named 'missing'"):
        credentials_from_sh_profile("missing")


def test_loopback_detection():
    assert is_loopback_http("http://127.0.0.1:8080/x")
    assert is_loopback_http("http://localhost:1")
    assert is_loopback_http("http://[::1]:1/")
    assert not is_loopback_http("https://127.0.0.1/")
    assert not is_loopback_http("http://10.0.0.1/")


def test_registry_adds_and_removes_profiles_with_their_own_resolver():
    creds = Credentials("cid", SECRET)
    local = Endpoint("test-local", "http://127.0.0.1:1", "http://127.0.0.1:1/token", creds)
    endpoints.register_profile(EndpointProfile("test-local", "Test", resolver=lambda c: local, needs_credentials=False))
    try:
        assert "test-local" in endpoints.profile_ids()
        assert resolve_endpoint("test-local") is local
    finally:
        endpoints.unregister_profile("test-local")
    assert "test-local" not in endpoints.profile_ids()
    with pytest.raises(ValueError, match="built-in"):
        endpoints.register_profile(EndpointProfile("cdse", "not CDSE"))
    endpoints.unregister_profile("cdse")
    assert endpoints.get_profile("cdse") is endpoints.CDSE


def test_default_pair_is_real_once_credentials_exist_else_the_offline_pair(monkeypatch):
    monkeypatch.setattr(endpoints, "_REGISTRY", {p.id: p for p in (endpoints.SENTINELHUB, endpoints.CDSE)})
    assert endpoints.default_pair(False) == ("sentinelhub", "cdse")  # no offline pair installed
    for pid in ("off-a", "off-b"):
        endpoints.register_profile(EndpointProfile(pid, pid, resolver=lambda c: None, needs_credentials=False))
    assert endpoints.default_pair(False) == ("off-a", "off-b")
    assert endpoints.default_pair(True) == ("sentinelhub", "cdse")


def test_core_alone_knows_no_sample_profile_and_says_which_extra_adds_it():
    """Only ``sample_endpoints.profiles.register()`` adds them (the QGIS provider calls it); core never does."""
    import subprocess
    import sys

    code = (
        "from s2parity_plugin.core.service import endpoints\n"
        "assert endpoints.profile_ids() == ('sentinelhub', 'cdse', 'custom'), endpoints.profile_ids()\n"
        "try:\n    endpoints.resolve_endpoint('sample-sh')\nexcept Exception as e:\n    print(e)\n"
        "from s2parity_plugin.sample_endpoints import profiles\n"
        "assert profiles.register()\n"
        "print(endpoints.profile_ids())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "need the optional package mini-racer" in out
    assert "('sentinelhub', 'cdse', 'custom', 'sample-sh', 'sample-cdse')" in out
