# SPDX-License-Identifier: MIT
"""Plugin loading: lookup order, --list-plugins, and plugins that cannot load (exit 69)."""
import re
import shutil

import pytest

from helpers import BUILD_DIR, EX_UNAVAILABLE, PLUGIN_BUILD_DIR, dlerror_of, run_guiloopd

CORRUPT = "this is a text file, not a shared object\n" * 8


def plugin_dir(tmp_path, name="plugins", **files):
    """A folder of plugins: files maps toolkit name -> 'corrupt', 'real' or a Path to copy."""
    d = tmp_path / name
    d.mkdir()
    for tk, what in files.items():
        dest = d / f"{tk}.so"
        if what == "corrupt":
            dest.write_text(CORRUPT)
        elif what == "real":
            shutil.copy(PLUGIN_BUILD_DIR / f"{tk}.so", dest)
        else:
            shutil.copy(what, dest)
    return d


def reason_of(path):
    """The dlerror text for path, without the leading 'PATH: '."""
    msg = dlerror_of(path)
    return msg.split(": ", 1)[1] if msg.startswith(f"{path}: ") else msg


def assert_one_line_naming(stderr, path, *words):
    lines = [line for line in stderr.splitlines() if str(path) in line]
    assert len(lines) == 1, f"expected one line naming {path}:\n{stderr}"
    for w in words:
        assert w.lower() in lines[0].lower(), f"{w!r} not in {lines[0]!r}"
    return lines[0]


def test_list_plugins_shows_gtk(guiloopd, cli_env):
    # Listing loads no toolkit: no display or bus needed.
    p = run_guiloopd(["--list-plugins"], cli_env)
    assert p.returncode == 0, p.stderr
    out = p.stdout + p.stderr
    lines = [line for line in out.splitlines() if str(PLUGIN_BUILD_DIR / "gtk.so") in line]
    assert lines, f"{PLUGIN_BUILD_DIR / 'gtk.so'} not listed:\n{out}"
    assert re.search(r"\bgtk\b", lines[0].replace(str(PLUGIN_BUILD_DIR / "gtk.so"), "")), out


def test_list_plugins_shows_broken_plugin(guiloopd, cli_env, tmp_path):
    d = plugin_dir(tmp_path, gtk="real", qt="corrupt")
    p = run_guiloopd(["--list-plugins", "--plugin-dir", str(d)], cli_env)
    assert p.returncode == 0, p.stderr
    out = p.stdout + p.stderr
    assert str(d / "gtk.so") in out, out
    broken = [line for line in out.splitlines() if str(d / "qt.so") in line]
    assert broken, out
    assert reason_of(d / "qt.so") in out, out


def test_list_plugins_only_broken(guiloopd, cli_env, tmp_path):
    d = plugin_dir(tmp_path, gtk="corrupt")
    p = run_guiloopd(["--list-plugins", "--plugin-dir", str(d)], cli_env)
    assert p.returncode == 0, p.stderr
    out = p.stdout + p.stderr
    assert str(d / "gtk.so") in out and reason_of(d / "gtk.so") in out, out


def test_corrupt_plugin(guiloopd, make_env, tmp_path, toolkit):
    d = plugin_dir(tmp_path, **{toolkit: "corrupt"})
    p = run_guiloopd(["--toolkit", toolkit, "--plugin-dir", str(d)], make_env())
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, d / f"{toolkit}.so", reason_of(d / f"{toolkit}.so"))


def test_short_corrupt_plugin(guiloopd, make_env, tmp_path, toolkit):
    d = tmp_path / "plugins"
    d.mkdir()
    (d / f"{toolkit}.so").write_text("x\n")
    p = run_guiloopd(["--toolkit", toolkit, "--plugin-dir", str(d)], make_env())
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, d / f"{toolkit}.so", reason_of(d / f"{toolkit}.so"))


def test_missing_plugin(guiloopd, make_env, tmp_path, toolkit):
    d = plugin_dir(tmp_path)
    p = run_guiloopd(["--toolkit", toolkit, "--plugin-dir", str(d)], make_env())
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, d / f"{toolkit}.so")


@pytest.mark.parametrize("fixture,words", [
    ("abi-mismatch", ["abi"]),
    ("no-entry", ["guiloop_plugin_entry"]),
    ("small-table", []),
])
def test_plugin_that_does_not_fit(guiloopd, make_env, tmp_path, fixture, words):
    # The unit tests' broken plugins (tests/meson.build), installed as gtk.so.
    src = BUILD_DIR / "tests" / f"test-{fixture}.so"
    if not src.exists():
        pytest.skip(f"{src} not built")
    d = plugin_dir(tmp_path, gtk=src)
    p = run_guiloopd(["--toolkit", "gtk", "--plugin-dir", str(d)], make_env())
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, d / "gtk.so", *words)


def test_plugin_dir_option_with_a_real_plugin(start_daemon, tmp_path, toolkit):
    d = plugin_dir(tmp_path, **{toolkit: "real"})
    dm = start_daemon(args=["--plugin-dir", str(d)])
    assert dm.ok("6*7") == "42"


def test_plugin_dir_from_environment(guiloopd, make_env, tmp_path):
    d = plugin_dir(tmp_path, gtk="corrupt")
    p = run_guiloopd(["--toolkit", "gtk"], make_env(GUILOOP_PLUGIN_DIR=d))
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, d / "gtk.so")


def test_plugin_dir_config_wins_over_environment(guiloopd, make_env, tmp_path):
    from_env = plugin_dir(tmp_path, "env", gtk="corrupt")
    from_cfg = plugin_dir(tmp_path, "cfg")
    cfg = tmp_path / "g.ini"
    cfg.write_text(f"[daemon]\nplugin_dir = {from_cfg}\n")
    p = run_guiloopd(["--config", str(cfg)], make_env(GUILOOP_PLUGIN_DIR=from_env))
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, from_cfg / "gtk.so")
    assert str(from_env) not in p.stderr


def test_plugin_dir_option_wins_over_config(guiloopd, make_env, tmp_path):
    from_cfg = plugin_dir(tmp_path, "cfg", gtk="corrupt")
    from_opt = plugin_dir(tmp_path, "opt")
    cfg = tmp_path / "g.ini"
    cfg.write_text(f"[daemon]\nplugin_dir = {from_cfg}\n")
    p = run_guiloopd(["--config", str(cfg), "--plugin-dir", str(from_opt)], make_env())
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, from_opt / "gtk.so")
    assert str(from_cfg) not in p.stderr


def only_gtk(tmp_path):
    """A plugin folder holding a copy of the built gtk.so and nothing else."""
    folder = tmp_path / "only-gtk"
    folder.mkdir()
    shutil.copy(PLUGIN_BUILD_DIR / "gtk.so", folder / "gtk.so")
    return folder


@pytest.mark.parametrize("tk", ["qt", "wx", "tk"])
def test_toolkit_without_plugin(guiloopd, make_env, tmp_path, tk):
    folder = only_gtk(tmp_path)
    p = run_guiloopd(["--plugin-dir", str(folder), "--toolkit", tk], make_env())
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, folder / f"{tk}.so")


def test_no_display(guiloopd, make_env, toolkit):
    p = run_guiloopd(["--toolkit", toolkit], make_env(display=False))
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert "display" in p.stderr.lower(), p.stderr


def test_tk_guest_without_tk_plugin(guiloopd, make_env, tmp_path):
    folder = only_gtk(tmp_path)
    p = run_guiloopd(["--plugin-dir", str(folder), "--toolkit", "gtk", "--tk-guest"], make_env())
    assert p.returncode == EX_UNAVAILABLE, (p.returncode, p.stderr)
    assert_one_line_naming(p.stderr, folder / "tk.so")