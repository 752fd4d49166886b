# SPDX-License-Identifier: MIT
"""meson install: the layout under a staging folder (--destdir), the installed
systemd user unit (systemd-analyze verify, man pages included), desktop entry
(desktop-file-validate), man pages, and the interface XML against what a
running daemon answers to Introspect.

The staged tree comes from a build folder of its own, configured from the
source tree with --prefix=/usr and the toolkit options of the build under
test, so that it cannot disturb that build."""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from ctl_helpers import INTERFACE_XML, interface_node
from helpers import BUILD_DIR, BUS_NAME, IFACE, SOURCE_DIR

FEATURES = ("gtk", "gtk4", "qt", "qt6", "wx", "tk")


def _run(argv, what, timeout=300, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode != 0:
        pytest.fail(f"{what} failed ({p.returncode}):\n{p.stdout[-5000:]}\n{p.stderr[-5000:]}")
    return p


def _toolkit_options():
    """-Dgtk=... for each toolkit feature, as configured in the build under test."""
    info = BUILD_DIR / "meson-info" / "intro-buildoptions.json"
    if not info.exists():
        return []
    opts = {o["name"]: o["value"] for o in json.loads(info.read_text())}
    return [f"-D{f}={opts[f]}" for f in FEATURES if f in opts]


def _build_options(build):
    info = build / "meson-info" / "intro-buildoptions.json"
    return {o["name"]: o["value"] for o in json.loads(info.read_text())}


def _setup(build, prefix):
    _run(["meson", "setup", str(build), str(SOURCE_DIR), f"--prefix={prefix}",
          "--buildtype=plain", "-Dman=enabled", *_toolkit_options()],
         "meson setup", cwd=SOURCE_DIR)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """(staging root, libdir relative to the prefix) after meson install --destdir."""
    base = tmp_path_factory.mktemp("install")
    build, stage = base / "build", base / "stage"
    _setup(build, "/usr")
    _run(["meson", "install", "-C", str(build), "--destdir", str(stage), "--quiet"],
         "meson install")
    return stage, _build_options(build)["libdir"]


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def _multiarch():
    for argv in (["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], ["gcc", "-print-multiarch"]):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except FileNotFoundError:
            continue
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.strip()
    return None


# -- layout -------------------------------------------------------------------------

EXPECTED = [
    "usr/bin/guiloopd",
    "usr/bin/guiloopctl",
    "usr/include/guiloop/plugin.h",
    "usr/lib/systemd/user/guiloopd.service",
    "usr/share/dbus-1/services/org.guiloop.GuiLoop1.service",
    "usr/share/dbus-1/interfaces/org.guiloop.GuiLoop1.xml",
    "usr/share/applications/guiloop.desktop",
    "usr/share/man/man1/guiloopctl.1",
    "usr/share/man/man8/guiloopd.8",
    "etc/xdg/guiloop/guiloopd.ini",
]


@pytest.mark.parametrize("path", EXPECTED)
def test_installed(staged, path):
    stage, _ = staged
    f = stage / path
    assert f.is_file(), f"{path} not installed; staged:\n" + "\n".join(_files(stage))
    assert f.stat().st_size > 0


@pytest.mark.parametrize("path", ["usr/bin/guiloopd", "usr/bin/guiloopctl"])
def test_programs_are_executable(staged, path):
    stage, _ = staged
    assert os.access(stage / path, os.X_OK)


def test_plugins_under_multiarch_libdir(staged):
    stage, libdir = staged
    triplet = _multiarch()
    if triplet:  # Debian: lib/<triplet>
        assert libdir == f"lib/{triplet}", libdir
    plugdir = stage / "usr" / libdir / "guiloop" / "plugins"
    built = sorted(p.name for p in (BUILD_DIR / "plugins").glob("*.so"))
    assert "gtk.so" in built, f"the build under test has no gtk plugin: {built}"
    installed = sorted(p.name for p in plugdir.glob("*.so")) if plugdir.is_dir() else []
    assert installed == built, f"plugins in {plugdir}: {installed}, built: {built}"


def test_nothing_outside_the_prefix(staged):
    stage, _ = staged
    stray = [f for f in _files(stage) if not f.startswith(("usr/", "etc/"))]
    assert not stray, stray
    # No test plugin, benchmark or unit test is installed.
    extra = [f for f in _files(stage) if re.search(r"test|bench|rtt", f)]
    assert not extra, extra


def test_installed_config_changes_nothing(staged):
    # Every key of the installed system configuration is commented out.
    text = (stage_file(staged, "etc/xdg/guiloop/guiloopd.ini")).read_text()
    active = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith(("#", ";"))
              and not re.fullmatch(r"\s*\[\w+\]\s*", l)]
    assert not active, active


def stage_file(staged, path):
    return staged[0] / path


def test_installed_files_name_the_installed_daemon(staged):
    unit = stage_file(staged, "usr/lib/systemd/user/guiloopd.service").read_text()
    act = stage_file(staged, "usr/share/dbus-1/services/org.guiloop.GuiLoop1.service").read_text()
    assert re.search(r"^ExecStart=/usr/bin/guiloopd$", unit, re.M), unit
    assert re.search(r"^Exec=/usr/bin/guiloopd$", act, re.M), act
    assert "@" not in unit and "@" not in act


def test_interface_xml_is_the_daemon_s(staged):
    xml = stage_file(staged, "usr/share/dbus-1/interfaces/org.guiloop.GuiLoop1.xml")
    assert xml.read_bytes() == INTERFACE_XML.read_bytes()


# -- the systemd user unit --------------------------------------------------------------

def _ini(text):
    """{section: {key: [values]}} of a systemd-style file (keys may repeat)."""
    out, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            section = out.setdefault(m.group(1), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_keys(staged):
    unit = _ini(stage_file(staged, "usr/lib/systemd/user/guiloopd.service").read_text())
    svc = unit["Service"]
    assert svc["Type"] == ["dbus"]
    assert svc["BusName"] == [BUS_NAME]
    assert svc["Restart"] == ["on-failure"]
    assert svc["ExecStart"] == ["/usr/bin/guiloopd"]
    u = unit["Unit"]
    assert "graphical-session.target" in " ".join(u["PartOf"]).split()
    assert "graphical-session.target" in " ".join(u["After"]).split()
    assert "man:guiloopd(8)" in " ".join(u["Documentation"]).split()
    assert unit["Install"]["WantedBy"] == ["graphical-session.target"]


def _verify(unit_path, tmp_path, manpath):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return subprocess.run(
        ["systemd-analyze", "verify", "--user", "--man=yes", str(unit_path)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path),
             "MANPATH": str(manpath), "LANG": "C.UTF-8"})


def test_unit_verifies(staged, tmp_path):
    """systemd-analyze verify on the installed unit, offline: ExecStart= is pointed
    at the staged daemon and man pages are looked up in the staged man folder."""
    for tool in ("systemd-analyze", "man"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed (tools/install-deps)")
    stage, _ = staged
    text = stage_file(staged, "usr/lib/systemd/user/guiloopd.service").read_text()
    staged_daemon = stage / "usr" / "bin" / "guiloopd"
    copy = tmp_path / "guiloopd.service"
    copy.write_text(re.sub(r"^ExecStart=/usr/bin/guiloopd$", f"ExecStart={staged_daemon}",
                           text, flags=re.M))
    p = _verify(copy, tmp_path, stage / "usr" / "share" / "man")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "guiloopd.service" not in p.stderr, p.stderr

    # The check is real: without the man pages, or with a daemon that is not
    # there, the same command fails.
    p = _verify(copy, tmp_path, tmp_path / "no-man-here")
    assert p.returncode != 0 and "guiloopd(8)" in p.stderr, p.stdout + p.stderr
    broken = tmp_path / "broken" / "guiloopd.service"
    broken.parent.mkdir()
    broken.write_text(text.replace("ExecStart=/usr/bin/guiloopd",
                                   f"ExecStart={tmp_path}/missing/guiloopd"))
    p = _verify(broken, tmp_path, stage / "usr" / "share" / "man")
    assert p.returncode != 0 and "missing/guiloopd" in p.stderr, p.stdout + p.stderr


def test_activation_file(staged):
    act = _ini(stage_file(staged, "usr/share/dbus-1/services/org.guiloop.GuiLoop1.service")
               .read_text())
    svc = act["D-BUS Service"]
    assert svc == {"Name": [BUS_NAME], "Exec": ["/usr/bin/guiloopd"],
                   "SystemdService": ["guiloopd.service"]}


# -- the desktop entry ------------------------------------------------------------------

def test_desktop_entry_validates(staged):
    if not shutil.which("desktop-file-validate"):
        pytest.fail("desktop-file-validate is not installed (tools/install-deps)")
    path = stage_file(staged, "usr/share/applications/guiloop.desktop")
    p = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True,
                       timeout=60)
    # Clean: no error, no warning, no hint.
    assert (p.returncode, p.stdout, p.stderr) == (0, "", ""), p.stdout + p.stderr
    entry = _ini(path.read_text())["Desktop Entry"]
    assert entry["Exec"] == ["guiloopctl run %f"]
    assert "text/x-python" in entry["MimeType"][0].split(";")
    assert entry["MimeType"][0].endswith(";")
    assert entry["Type"] == ["Application"]


# -- man pages -------------------------------------------------------------------------

def _render(path):
    if not shutil.which("man"):
        pytest.fail("man is not installed (tools/install-deps: man-db)")
    p = subprocess.run(["man", "--warnings", "-l", "-E", "UTF-8", str(path)],
                       capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "MANWIDTH": "100", "LANG": "C.UTF-8",
                            "MAN_KEEP_FORMATTING": "0", "MANPAGER": "cat", "PAGER": "cat"})
    assert p.returncode == 0, p.stderr
    assert p.stderr == "", p.stderr  # no troff warning
    # Plain text: drop overstrike bold/underline.
    return re.sub(r".\x08", "", p.stdout)


def test_guiloopd_man_page(staged):
    text = _render(stage_file(staged, "usr/share/man/man8/guiloopd.8"))
    assert re.search(r"^NAME\n\s+guiloopd - ", text, re.M), text[:500]
    for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONFIGURATION", "D-BUS INTERFACE",
                    "SIGNALS", "EXIT STATUS", "FILES", "SEE ALSO"):
        assert re.search(rf"^{section}$", text, re.M), f"no {section} section"
    for opt in ("--config", "--toolkit", "--tk-guest", "--instance", "--plugin-dir",
                "--check-config", "--list-plugins", "--verbose", "--version", "--help"):
        assert opt in text, f"{opt} undocumented"
    for code in ("64", "69", "70", "75", "78"):
        assert re.search(rf"^\s+{code}$", text, re.M), f"exit status {code} undocumented"
    for key in ("toolkit", "tk_guest", "instance", "plugin_dir", "allow_uids",
                "shutdown_grace", "startup", "path", "switch_interval", "timeout",
                "queue_limit", "max_output"):
        assert re.search(rf"\.{key} ", text), f"configuration key {key} undocumented"


def test_guiloopctl_man_page(staged):
    text = _render(stage_file(staged, "usr/share/man/man1/guiloopctl.1"))
    assert re.search(r"^NAME\n\s+guiloopctl - ", text, re.M), text[:500]
    for cmd in ("exec", "run", "interrupt", "shutdown", "status"):
        assert re.search(rf"^\s+{cmd}\b", text, re.M), f"command {cmd} undocumented"
    for code in ("0", "1", "2", "3", "130"):
        assert re.search(rf"^\s+{code}$", text, re.M), f"exit status {code} undocumented"
    assert "Ctrl-C" in text and "--instance" in text


# -- installed programs -------------------------------------------------------------------

def test_installed_guiloopctl_runs(staged):
    stage, _ = staged
    p = subprocess.run([str(stage / "usr/bin/guiloopctl"), "--version"], capture_output=True,
                       text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert (p.returncode, p.stdout) == (0, "guiloopctl 0.1.0\n"), p.stderr
    p = subprocess.run([str(stage / "usr/bin/guiloopd"), "--version"], capture_output=True,
                       text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert (p.returncode, p.stdout) == (0, "guiloopd 0.1.0\n"), p.stderr


# -- the interface XML against the running daemon -----------------------------------------

@pytest.mark.toolkits("gtk")
def test_installed_interface_matches_introspect(staged, daemon):
    installed = stage_file(staged, "usr/share/dbus-1/interfaces/org.guiloop.GuiLoop1.xml")
    answered = daemon.call("Introspect", iface="org.freedesktop.DBus.Introspectable")
    answered = answered[0] if isinstance(answered, tuple) else answered
    mine = interface_node(installed.read_text())
    theirs = interface_node(answered)
    assert mine["methods"] == theirs["methods"]
    assert mine["signals"] == theirs["signals"]
    assert mine["properties"] == theirs["properties"]
    assert mine == theirs
    # Sanity: the comparison sees the whole interface.
    assert set(mine["methods"]) == {"Execute", "RunFile", "Interrupt", "Shutdown", "Submit",
                                    "SubmitFile", "Wait", "Cancel", "Complete", "IsComplete", "Inspect",
                                    "Subscribe", "Unsubscribe", "Stacks"}
    assert set(mine["properties"]) == {"Version", "Toolkit", "TkGuest", "PythonVersion",
                                       "Busy", "QueueLength", "ExecutionCount", "Running",
                                       "LoopBlockedMs"}
    assert set(mine["signals"]) == {"Output", "Finished"}
    others = {i.get("name") for i in ET.fromstring(answered).findall("interface")}
    assert {"org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties",
            "org.freedesktop.DBus.Peer", IFACE} <= others, others


# -- another prefix ------------------------------------------------------------------------

def test_prefix_is_honoured(tmp_path):
    """With --prefix=/opt/guiloop every file goes below it (nothing hard-codes /usr)."""
    build = tmp_path / "build"
    _setup(build, "/opt/guiloop")
    p = _run(["meson", "introspect", "--installed", str(build)], "meson introspect")
    dests = sorted(json.loads(p.stdout).values())
    outside = [d for d in dests if not d.startswith("/opt/guiloop/")]
    assert not outside, outside
    for want in ("/opt/guiloop/lib/systemd/user/guiloopd.service",
                 "/opt/guiloop/share/dbus-1/services/org.guiloop.GuiLoop1.service",
                 "/opt/guiloop/share/dbus-1/interfaces/org.guiloop.GuiLoop1.xml",
                 "/opt/guiloop/share/applications/guiloop.desktop",
                 "/opt/guiloop/bin/guiloopctl"):
        assert want in dests, f"{want} not in:\n" + "\n".join(dests)
    unit = (build / "conf" / "guiloopd.service").read_text()
    act = (build / "conf" / "org.guiloop.GuiLoop1.service").read_text()
    assert "ExecStart=/opt/guiloop/bin/guiloopd\n" in unit
    assert "Exec=/opt/guiloop/bin/guiloopd\n" in act
