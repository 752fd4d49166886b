# SPDX-License-Identifier: MIT
"""Deployment files: the systemd user unit, the D-Bus activation file, the desktop entry.

Each is looked for as configured in the build tree (BUILD/conf/NAME) first,
then as is in the source tree (conf/NAME)."""
import configparser
import re
import shutil
import subprocess

import pytest

from helpers import BUILD_DIR, BUS_NAME, GUILOOPD, SOURCE_DIR


def deployment_file(name):
    for p in (BUILD_DIR / "conf" / name, SOURCE_DIR / "conf" / name):
        if p.exists():
            return p
    pytest.fail(f"conf/{name} is missing (neither in {BUILD_DIR / 'conf'} nor in "
                f"{SOURCE_DIR / 'conf'})")


def read_ini(path):
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str
    cp.read(path)
    return cp


def test_systemd_unit_keys():
    unit = read_ini(deployment_file("guiloopd.service"))
    assert unit["Service"]["Type"] == "dbus"
    assert unit["Service"]["BusName"] == BUS_NAME
    assert unit["Service"].get("Restart") in ("on-failure", "on-abnormal", "always")
    assert re.search(r"(^|/)guiloopd(\s|$)", unit["Service"]["ExecStart"])


def test_systemd_unit_verifies(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is not installed")
    src = deployment_file("guiloopd.service")
    # Point ExecStart at the built daemon: the installed path need not exist here.
    text = src.read_text().replace("@bindir@/guiloopd", str(GUILOOPD))  # a template
    text = re.sub(r"^(ExecStart=[-:+!]*)\S*guiloopd\b", rf"\g<1>{GUILOOPD}", text, flags=re.M)
    unit = tmp_path / "guiloopd.service"
    unit.write_text(text)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    p = subprocess.run(["systemd-analyze", "verify", "--user", "--man=no", str(unit)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path,
                       env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime),
                            "HOME": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert str(unit) not in p.stderr and "guiloopd.service" not in p.stderr, p.stderr


def test_dbus_activation_file():
    path = deployment_file(f"{BUS_NAME}.service")
    svc = read_ini(path)["D-BUS Service"]
    assert svc["Name"] == BUS_NAME
    assert svc["SystemdService"] == "guiloopd.service"
    assert re.search(r"(^|/)guiloopd(\s|$)", svc["Exec"]), svc["Exec"]


def test_desktop_entry():
    if not shutil.which("desktop-file-validate"):
        pytest.fail("desktop-file-validate is not installed")
    path = deployment_file("guiloop.desktop")
    p = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "error" not in (p.stdout + p.stderr).lower(), \
        p.stdout + p.stderr
    entry = read_ini(path)["Desktop Entry"]
    assert re.search(r"guiloopctl run %f", entry["Exec"]), entry["Exec"]
    assert "text/x-python;" in entry["MimeType"]


@pytest.mark.parametrize("dest", [
    r"/bin/guiloopd",
    r"/lib/.*guiloop/plugins/gtk\.so",
    r"/include/guiloop/plugin\.h",
    r"/share/dbus-1/interfaces/org\.guiloop\.GuiLoop1\.xml",
    r"/share/dbus-1/services/org\.guiloop\.GuiLoop1\.service",
    r"/systemd/user/guiloopd\.service",
    r"/share/applications/guiloop\.desktop",
], ids=["daemon", "gtk-plugin", "plugin-header", "interface-xml", "activation-file",
        "user-unit", "desktop-entry"])
def test_meson_installs(dest):
    p = subprocess.run(["meson", "introspect", "--installed", str(BUILD_DIR)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    import json
    installed = json.loads(p.stdout).values()
    assert any(re.search(dest + "$", d) for d in installed), \
        f"nothing installed as ...{dest}:\n" + "\n".join(sorted(installed))
