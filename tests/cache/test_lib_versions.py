"""Library versions in keys come from dist-info names; they must be what importlib.metadata says."""

from __future__ import annotations

from importlib import metadata

from runner.cache.key import lib_version


def test_every_installed_distribution_has_its_metadata_version() -> None:
    # metadata.version() answers with the first distribution of a name on sys.path, as ovrun does
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    mismatched = {
        name: (lib_version(name), metadata.version(name))
        for name in names
        if lib_version(name) != metadata.version(name)
    }
    assert mismatched == {}
    assert lib_version("openvino") == metadata.version("openvino")


def test_a_missing_distribution_is_absent() -> None:
    assert lib_version("ovrun-no-such-distribution") == "absent"
