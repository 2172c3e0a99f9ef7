"""The Lambda benchmark finds the project's functions in the synthesized templates and sizes their packages."""

from __future__ import annotations

import zipfile

from bench.lambdas import handlers, package_size


def test_every_project_function_is_found_with_its_asset(dev_assembly):
    found = handlers(dev_assembly)
    names = [h["function"] for h in found]
    assert "intake" in names
    assert "trigger_etl_dag" in names
    assert len(names) == len(set(names)) == 10  # nine order functions and the DAG trigger; no CDK helpers
    for handler in found:
        assert (handler["asset"] / handler["function"] / "handler.py").is_file()
        assert all(isinstance(v, str) for v in handler["environment"].values())


def test_package_size_is_the_deflated_zip_of_the_folder(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "handler.py").write_text("x = 1\n" * 1000)
    zipped, unzipped = package_size(tmp_path)
    assert unzipped == 6000
    assert 0 < zipped < unzipped
    archive = tmp_path.parent / "check.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(tmp_path / "pkg" / "handler.py", "pkg/handler.py")
    assert abs(archive.stat().st_size - zipped) < 64
