"""Signed shared-cache entries (ed25519, the Nix binary-cache model): keys made by
`ovrun cache keygen`, entries signed on push, only trusted signatures accepted on pull."""

from __future__ import annotations

import hashlib
import json
import stat

import pytest
from recipes_util import ovrun

from runner.cache.remote import Remote, RemoteError, checked_meta
from runner.cache.signing import load_signing_key, load_trust
from runner.cache.store import Cache
from runner.core.errors import OvrunError


def _entry(cache: Cache, key: str, files: dict[str, bytes]) -> None:
    staging = cache.begin(key)
    for rel, data in files.items():
        (staging.out / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging.out / rel).write_bytes(data)
    cache.publish(staging, {"task_id": "export", "op": "export"})


@pytest.fixture
def keys(tmp_path):
    made = {}
    for name in ("team-a", "mallory"):
        result = ovrun("cache", "keygen", name, "--out", str(tmp_path / "keys"))
        assert result.returncode == 0, result.stderr
        made[name] = (tmp_path / "keys" / f"{name}.key", tmp_path / "keys" / f"{name}.pub")
    return made


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path, keys):
    secret, public = keys["team-a"]
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert public.read_text().startswith("team-a:") and secret.read_text().startswith("team-a:")
    again = ovrun("cache", "keygen", "team-a", "--out", str(tmp_path / "keys"))
    assert again.returncode == 2 and "already exists" in again.stderr  # never overwritten
    bad = ovrun("cache", "keygen", "../x", "--out", str(tmp_path / "keys"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def _shared(tmp_path, keys, signer: str | None, key: str, data: bytes) -> str:
    url = str(tmp_path / "shared")
    a = Cache(tmp_path / f"a-{signer}")
    _entry(a, key, {"model/x.bin": data, "result.json": b"{}"})
    sk = load_signing_key(keys[signer][0]) if signer else None
    assert Remote(url, signer=sk).push(key, a) is True
    return url


def _meta_file(tmp_path, key):
    return tmp_path / "shared" / "objects" / key[:2] / key / "meta.json"


def test_signed_entry_is_pulled_by_who_trusts_the_key(tmp_path, keys):
    key = "ab" * 32
    url = _shared(tmp_path, keys, "team-a", key, b"\x01" * 64)
    assert json.loads(_meta_file(tmp_path, key).read_text())["signatures"][0].startswith("team-a:")
    b = Cache(tmp_path / "b")
    Remote(url, trust=load_trust([keys["team-a"][1]])).pull(key, b)
    assert b.has(key) and b.verify(key) == [] and b.meta(key)["signed_by"] == ["team-a"]


def test_tampered_but_rehashed_entry_is_refused(tmp_path, keys):
    """The attack the digests alone cannot catch: the artifact and its recorded sha256 are
    both rewritten. The signature covers the digests, so it no longer verifies."""
    key = "cd" * 32
    url = _shared(tmp_path, keys, "team-a", key, b"\x01" * 64)
    evil = b"\x02" * 64
    (tmp_path / "shared" / "objects" / key[:2] / key / "out" / "model" / "x.bin").write_bytes(evil)
    meta = json.loads(_meta_file(tmp_path, key).read_text())
    meta["outputs"]["model/x.bin"] = hashlib.sha256(evil).hexdigest()
    _meta_file(tmp_path, key).write_text(json.dumps(meta))

    trusting = Cache(tmp_path / "b")
    with pytest.raises(RemoteError, match="bad signature"):
        Remote(url, trust=load_trust([keys["team-a"][1]])).pull(key, trusting)
    assert not trusting.has(key) and not (trusting.root / "objects").exists()  # refused up front
    # without a trusted key only the digests are checked: this is what signing is for
    naive = Cache(tmp_path / "c")
    Remote(url).pull(key, naive)
    assert (naive.out_dir(key) / "model" / "x.bin").read_bytes() == evil


@pytest.mark.parametrize("signer, refusal", [(None, "unsigned"), ("mallory", "untrusted")])
def test_unsigned_or_foreign_entries_are_refused(tmp_path, keys, signer, refusal):
    key = "ef" * 32
    url = _shared(tmp_path, keys, signer, key, b"\x03" * 64)
    b = Cache(tmp_path / "b")
    with pytest.raises(RemoteError, match=refusal):
        Remote(url, trust=load_trust([keys["team-a"][1]])).pull(key, b)
    assert not b.has(key)


def test_signature_is_checked_against_the_key_it_names(tmp_path, keys):
    """mallory signs under team-a's name: the name matches, the key does not."""
    key = "12" * 32
    url = _shared(tmp_path, keys, "mallory", key, b"\x04" * 64)
    meta = json.loads(_meta_file(tmp_path, key).read_text())
    meta["signatures"] = ["team-a:" + meta["signatures"][0].partition(":")[2]]
    _meta_file(tmp_path, key).write_text(json.dumps(meta))
    with pytest.raises(RemoteError, match="bad signature"):
        Remote(url, trust=load_trust([keys["team-a"][1]])).pull(key, Cache(tmp_path / "b"))


@pytest.mark.parametrize(
    "meta",
    [
        [1, 2],
        "text",
        {"key": "34" * 32, "outputs": ["a"]},
        {"key": "34" * 32, "outputs": {"a": 5}},
        {"key": "34" * 32, "outputs": {"a": "not-a-digest"}},
        {"key": 7, "outputs": {}},
    ],
)
def test_malformed_remote_meta_is_not_used(tmp_path, meta):
    key = "34" * 32
    entry = tmp_path / "shared" / "objects" / key[:2] / key
    entry.mkdir(parents=True)
    (entry / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(RemoteError):
        checked_meta((entry / "meta.json").read_bytes(), key)
    b = Cache(tmp_path / "b")
    with pytest.raises(RemoteError):
        Remote(str(tmp_path / "shared")).pull(key, b)
    assert not b.has(key) and not (b.root / "objects").exists()


def test_bad_key_files_are_exit_2_errors(tmp_path):
    bad = tmp_path / "x.pub"
    bad.write_text("team:not base64!\n")
    with pytest.raises(OvrunError, match="not an ovrun public key"):
        load_trust([bad])
    with pytest.raises(OvrunError, match="cannot read"):
        load_trust([tmp_path / "missing.pub"])


@pytest.mark.slow  # two real exports of the tiny model
def test_team_b_rebuilds_an_entry_whose_signature_fails(tmp_path, keys, tiny_project):
    project = tiny_project(
        """
        version: 1
        name: tiny
        model: {source: {path: model}}
        variants: {fp32: {}}
        targets: {devices: [CPU], hints: [LATENCY]}
        """,
        dir=tmp_path / "project",
    )
    shared = tmp_path / "shared"
    signing = {"OVRUN_SIGNING_KEY": str(keys["team-a"][0])}
    first = ovrun(
        "run", str(project.recipe), "--only", "export", "--cache-dir", str(tmp_path / "a"),
        "--cache", str(shared), env=signing,
    )  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    assert "pushed 1 cache entries" in first.stdout
    export_key = project.results()["run"]["tasks"]["export"]["key"]
    entry = shared / "objects" / export_key[:2] / export_key
    meta = json.loads((entry / "meta.json").read_text())
    victim = sorted(meta["outputs"])[0]
    (entry / "out" / victim).write_bytes(b"rewritten by someone with write access")
    meta["outputs"][victim] = hashlib.sha256(b"rewritten by someone with write access").hexdigest()
    (entry / "meta.json").write_text(json.dumps(meta))

    second = ovrun(
        "run", str(project.recipe), "--only", "export", "--cache-dir", str(tmp_path / "b"),
        "--cache", str(shared), "--trusted-key", str(keys["team-a"][1]),
    )  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    assert "remote entry of export not used, building it here: refused: bad signature" in (
        second.stderr
    )
    assert project.results()["run"]["tasks"]["export"]["state"] == "ran"
    assert Cache(tmp_path / "b").verify(export_key) == []

    # no trusted key configured: said once, and the digest check alone lets it through
    third = ovrun(
        "run", str(project.recipe), "--only", "export", "--cache-dir", str(tmp_path / "c"),
        "--cache", str(shared), env={"OVRUN_TRUSTED_KEYS": ""},
    )  # fmt: skip
    assert third.returncode == 0, third.stderr
    assert third.stderr.count("no trusted cache keys configured") == 1


def test_keys_come_from_the_users_config_and_environment(tmp_path, keys, monkeypatch):
    from runner.cache.signing import configured_signing_key, configured_trust

    config = tmp_path / "config.toml"
    config.write_text(
        f'[cache]\nsigning_key = "{keys["team-a"][0]}"\ntrusted_keys = ["{keys["team-a"][1]}"]\n'
    )
    monkeypatch.setenv("OVRUN_CONFIG", str(config))
    monkeypatch.delenv("OVRUN_SIGNING_KEY", raising=False)
    monkeypatch.setenv("OVRUN_TRUSTED_KEYS", str(keys["mallory"][1]))
    assert configured_signing_key().name == "team-a"
    trust = configured_trust([])
    assert sorted(trust.keys) == ["mallory", "team-a"]  # environment and config together
    monkeypatch.setenv("OVRUN_SIGNING_KEY", str(keys["mallory"][0]))
    assert configured_signing_key().name == "mallory"  # the environment wins
    config.write_text("[cache\n")
    with pytest.raises(OvrunError, match="cannot read the ovrun config"):
        configured_trust([])


def test_a_second_team_adds_its_signature_beside_the_first(tmp_path, keys):
    """Pushing an entry the remote already has, intact, adds this pusher's signature and
    keeps the other team's: both teams' trusters can pull it."""
    key = "56" * 32
    url = _shared(tmp_path, keys, "team-a", key, b"\x05" * 64)
    b = Cache(tmp_path / "b")
    _entry(b, key, {"model/x.bin": b"\x05" * 64, "result.json": b"{}"})
    remote = Remote(url, signer=load_signing_key(keys["mallory"][0]))
    assert remote.push(key, b) is True  # only meta.json rewritten
    assert remote.push(key, b) is False  # now signed by both: nothing to do
    names = sorted(
        s.partition(":")[0] for s in json.loads(_meta_file(tmp_path, key).read_text())["signatures"]
    )
    assert names == ["mallory", "team-a"]
    for who in ("team-a", "mallory"):
        fresh = Cache(tmp_path / f"pull-{who}")
        Remote(url, trust=load_trust([keys[who][1]])).pull(key, fresh)
        assert fresh.verify(key) == []


def test_plan_shows_a_remote_hit_only_when_a_pull_would_accept_it(tmp_path, keys):
    """`ovrun plan` with a shared cache does not pull: it must still not promise an entry
    the trusted keys would refuse, nor a malformed one."""
    from runner.cache.decide import _remote_decision
    from runner.cache.decision import Decision

    local = Decision("run", "not in cache")
    trust = load_trust([keys["team-a"][1]])
    signed, foreign = "56" * 32, "78" * 32
    url = _shared(tmp_path, keys, "team-a", signed, b"\x05" * 64)
    assert _shared(tmp_path, keys, "mallory", foreign, b"\x06" * 64) == url
    remote = Remote(url, trust=trust)

    assert _remote_decision(remote, signed, local).state == "cached"
    refused = _remote_decision(remote, foreign, local)
    assert refused.state == "run" and "would be refused" in refused.reason
    assert "untrusted" in refused.reason
    assert _remote_decision(Remote(url), foreign, local).state == "cached"  # no trusted keys
    assert _remote_decision(remote, "9a" * 32, local) == local  # absent

    _meta_file(tmp_path, signed).write_text("[1, 2]")
    malformed = _remote_decision(remote, signed, local)
    assert malformed.state == "run" and "malformed" in malformed.reason
