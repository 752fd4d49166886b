# SPDX-License-Identifier: MIT
"""Configuration: lookup, --check-config, and bad files (one line FILE:LINE: why, exit 78).

Bad files are checked with no display and no bus, and with a plugin folder
that does not exist: the configuration error must come first."""
import re

import pytest

from helpers import EX_CONFIG, SOURCE_DIR, parse_ini, run_guiloopd

DEFAULTS = {
    ("daemon", "toolkit"): "gtk",
    ("daemon", "tk_guest"): "false",
    ("daemon", "shutdown_grace"): 5.0,
    ("python", "switch_interval"): 0.005,
    ("python", "matplotlib"): "true",
    ("execution", "timeout"): 0.0,
    ("execution", "queue_limit"): "64",
    ("execution", "max_output"): "1048576",
}
ALL_KEYS = {
    "daemon": ["toolkit", "tk_guest", "instance", "plugin_dir", "allow_uids", "shutdown_grace"],
    "python": ["startup", "path", "switch_interval", "matplotlib"],
    "execution": ["timeout", "queue_limit", "max_output"],
}


def test_check_config_prints_where_plugins_are_looked_for(cli_env):
    # The effective value, not the empty default: the build tree's plugins here.
    cfg = check_config(cli_env)
    assert value(cfg, "daemon", "plugin_dir").endswith("/plugins"), cfg


def check_config(cli_env, *args):
    p = run_guiloopd([*args, "--check-config"], cli_env)
    assert p.returncode == 0, (p.returncode, p.stderr)
    return parse_ini(p.stdout)


def value(cfg, section, key):
    assert section in cfg, f"no [{section}] in --check-config output: {cfg}"
    assert key in cfg[section], f"no {key} in [{section}]: {cfg[section]}"
    return cfg[section][key]


def check_defaults(cfg):
    for (section, key), want in DEFAULTS.items():
        got = value(cfg, section, key)
        if isinstance(want, float):
            assert float(got) == want, (section, key, got)
        else:
            assert got == want, (section, key, got)


def test_check_config_prints_defaults(guiloopd, cli_env):
    cfg = check_config(cli_env)
    check_defaults(cfg)
    assert value(cfg, "daemon", "instance") == ""
    assert value(cfg, "execution", "queue_limit") == "64"


def test_check_config_prints_every_key(guiloopd, cli_env, tmp_path):
    f = tmp_path / "all.ini"
    f.write_text("[daemon]\ninstance = foo\nplugin_dir = /plugins\nallow_uids = 1000\n"
                 "[python]\nstartup = /s.py\npath = /a\n")
    cfg = check_config(cli_env, "--config", str(f))
    for section, keys in ALL_KEYS.items():
        for key in keys:
            value(cfg, section, key)


def test_check_config_shows_file_values(guiloopd, cli_env, tmp_path):
    f = tmp_path / "g.ini"
    f.write_text("""\
; a comment
# another comment
[daemon]
toolkit = qt
tk_guest = true
instance = foo_1
plugin_dir = /opt/plugins
allow_uids = 1000,65534
shutdown_grace = 2

[python]
startup = /opt/startup.py
path = /opt/a:/opt/b
switch_interval = 0.01

[execution]
timeout = 3
queue_limit = 5
max_output = 4096
""")
    cfg = check_config(cli_env, "--config", str(f))
    assert value(cfg, "daemon", "toolkit") == "qt"
    assert value(cfg, "daemon", "tk_guest") == "true"
    assert value(cfg, "daemon", "instance") == "foo_1"
    assert value(cfg, "daemon", "plugin_dir") == "/opt/plugins"
    assert re.split(r"[,\s]+", value(cfg, "daemon", "allow_uids")) == ["1000", "65534"]
    assert float(value(cfg, "daemon", "shutdown_grace")) == 2
    assert value(cfg, "python", "startup") == "/opt/startup.py"
    assert value(cfg, "python", "path") == "/opt/a:/opt/b"
    assert float(value(cfg, "python", "switch_interval")) == 0.01
    assert float(value(cfg, "execution", "timeout")) == 3
    assert value(cfg, "execution", "queue_limit") == "5"
    assert value(cfg, "execution", "max_output") == "4096"


def test_check_config_output_is_a_valid_config(guiloopd, cli_env, tmp_path):
    f = tmp_path / "g.ini"
    f.write_text("[daemon]\ninstance = x\n[execution]\nqueue_limit = 9\ntimeout = 1.5\n")
    p1 = run_guiloopd(["--config", str(f), "--check-config"], cli_env)
    assert p1.returncode == 0, p1.stderr
    again = tmp_path / "again.ini"
    again.write_text(p1.stdout)
    p2 = run_guiloopd(["--config", str(again), "--check-config"], cli_env)
    assert p2.returncode == 0, p2.stderr
    assert parse_ini(p2.stdout) == parse_ini(p1.stdout)


def test_command_line_overrides_file(guiloopd, cli_env, tmp_path):
    f = tmp_path / "g.ini"
    f.write_text("[daemon]\ntoolkit = qt\ninstance = fromfile\nplugin_dir = /from/file\n")
    cfg = check_config(cli_env, "--config", str(f), "--toolkit", "gtk", "--instance", "cmdline",
                       "--plugin-dir", "/from/cmdline", "--tk-guest")
    assert value(cfg, "daemon", "toolkit") == "gtk"
    assert value(cfg, "daemon", "instance") == "cmdline"
    assert value(cfg, "daemon", "plugin_dir") == "/from/cmdline"
    assert value(cfg, "daemon", "tk_guest") == "true"


def test_toolkit_option_shows_in_check_config(guiloopd, cli_env):
    cfg = check_config(cli_env, "--toolkit", "tk")
    assert value(cfg, "daemon", "toolkit") == "tk"


def test_xdg_config_home_is_read(guiloopd, cli_env, home):
    d = home / ".config" / "guiloop"
    d.mkdir(parents=True)
    (d / "guiloopd.ini").write_text("[execution]\nqueue_limit = 7\n")
    cfg = check_config(cli_env)
    assert value(cfg, "execution", "queue_limit") == "7"


def test_home_config_is_read_without_xdg_config_home(guiloopd, cli_env, home):
    env = dict(cli_env)
    del env["XDG_CONFIG_HOME"]
    d = home / ".config" / "guiloop"
    d.mkdir(parents=True)
    (d / "guiloopd.ini").write_text("[execution]\nqueue_limit = 8\n")
    cfg = check_config(env)
    assert value(cfg, "execution", "queue_limit") == "8"


def test_xdg_config_home_wins_over_home(guiloopd, cli_env, home, tmp_path):
    xdg = tmp_path / "xdg"
    (xdg / "guiloop").mkdir(parents=True)
    (xdg / "guiloop" / "guiloopd.ini").write_text("[execution]\nqueue_limit = 11\n")
    (home / ".config" / "guiloop").mkdir(parents=True)
    (home / ".config" / "guiloop" / "guiloopd.ini").write_text("[execution]\nqueue_limit = 12\n")
    env = dict(cli_env, XDG_CONFIG_HOME=str(xdg))
    cfg = check_config(env)
    assert value(cfg, "execution", "queue_limit") == "11"


def test_config_option_wins_over_xdg(guiloopd, cli_env, home, tmp_path):
    d = home / ".config" / "guiloop"
    d.mkdir(parents=True)
    (d / "guiloopd.ini").write_text("[execution]\nqueue_limit = 7\n")
    f = tmp_path / "explicit.ini"
    f.write_text("[execution]\nqueue_limit = 13\n")
    cfg = check_config(cli_env, "--config", str(f))
    assert value(cfg, "execution", "queue_limit") == "13"


def test_bad_xdg_config_is_reported(guiloopd, cli_env, home):
    d = home / ".config" / "guiloop"
    d.mkdir(parents=True)
    f = d / "guiloopd.ini"
    f.write_text("[daemon]\nfoo = 1\n")
    p = run_guiloopd(["--check-config"], cli_env)
    assert p.returncode == EX_CONFIG, (p.returncode, p.stderr)
    assert p.stderr.startswith(f"{f}:2: "), p.stderr


def test_missing_config_file(guiloopd, cli_env, tmp_path):
    f = tmp_path / "nonexistent" / "g.ini"
    p = run_guiloopd(["--config", str(f)], cli_env)
    assert p.returncode == EX_CONFIG, (p.returncode, p.stderr)
    assert str(f) in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_missing_config_file_check_config(guiloopd, cli_env):
    p = run_guiloopd(["--config", "/nonexistent/guiloopd.ini", "--check-config"], cli_env)
    assert p.returncode == EX_CONFIG, (p.returncode, p.stderr)
    assert "/nonexistent/guiloopd.ini" in p.stderr


# (id, file text, acceptable error lines, words of which one must be in the reason)
BAD_FILES = [
    ("syntax", "# comment\n[daemon]\ntoolkit = gtk\nthis is not ini\n", [4], []),
    ("syntax-section", "[daemon]\ntoolkit = gtk\n[python\n", [3], []),
    ("unknown-section", "[daemon]\ntoolkit = gtk\n[nope]\nfoo = 1\n", [3, 4], ["nope"]),
    ("unknown-key", "[daemon]\n\nfoo = 1\n", [3], ["foo"]),
    ("unknown-key-execution", "[execution]\ntimeout = 1\nbogus_key = 2\n", [3], ["bogus_key"]),
    ("key-in-wrong-section", "[python]\ntoolkit = gtk\n", [2], ["toolkit"]),
    ("toolkit", "[daemon]\ntoolkit = Foo\n", [2], ["toolkit", "Foo"]),
    ("queue_limit", "[execution]\nqueue_limit = -1\n", [2], ["queue_limit", "-1"]),
    ("queue_limit-text", "[execution]\nqueue_limit = many\n", [2], ["queue_limit", "many"]),
    ("tk_guest", "[daemon]\ntk_guest = maybe\n", [2], ["tk_guest", "maybe"]),
    ("switch_interval", "[python]\nswitch_interval = 0\n", [2], ["switch_interval"]),
    ("switch_interval-text", "[python]\nswitch_interval = fast\n", [2],
     ["switch_interval", "fast"]),
    ("max_output", "[execution]\nmax_output = lots\n", [2], ["max_output", "lots"]),
    ("timeout", "[execution]\ntimeout = -1\n", [2], ["timeout", "-1"]),
    ("shutdown_grace", "[daemon]\nshutdown_grace = -2\n", [2], ["shutdown_grace", "-2"]),
    ("instance", "[daemon]\ninstance = 9bad\n", [2], ["instance", "9bad"]),
    ("allow_uids", "[daemon]\nallow_uids = abc\n", [2], ["allow_uids", "abc"]),
    ("tk_guest-with-tk", "[daemon]\ntoolkit = tk\ntk_guest = true\n", [2, 3],
     ["tk_guest", "tk"]),
    ("tk_guest-with-tk-reversed", "[daemon]\n\ntk_guest = true\ntoolkit = tk\n", [3, 4],
     ["tk_guest", "tk"]),
]


@pytest.mark.parametrize("text,lines,words", [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])
def test_bad_config_file(guiloopd, cli_env, tmp_path, text, lines, words):
    f = tmp_path / "g.ini"
    f.write_text(text)
    # No display, no bus, no plugins: the file is checked before any of them is needed.
    p = run_guiloopd(["--config", str(f), "--plugin-dir", str(tmp_path / "no-plugins")],
                     cli_env)
    assert p.returncode == EX_CONFIG, (p.returncode, p.stderr)
    err = p.stderr.strip().splitlines()
    assert len(err) == 1, f"expected exactly one line on stderr:\n{p.stderr}"
    m = re.fullmatch(rf"{re.escape(str(f))}:(\d+): (.+)", err[0])
    assert m, f"not FILE:LINE: reason: {err[0]!r}"
    assert int(m.group(1)) in lines, err[0]
    if words:
        assert any(w in m.group(2) for w in words), err[0]


def test_bad_config_file_with_check_config(guiloopd, cli_env, tmp_path):
    f = tmp_path / "g.ini"
    f.write_text("[daemon]\ntoolkit = gtk\n\n[daemon]\nfoo = 1\n")
    p = run_guiloopd(["--config", str(f), "--check-config"], cli_env)
    assert p.returncode == EX_CONFIG, (p.returncode, p.stderr)
    assert p.stderr.strip().startswith(f"{f}:5: "), p.stderr
    assert "foo" in p.stderr and "[daemon]" in p.stderr, p.stderr


def test_unknown_key_message(guiloopd, cli_env, tmp_path):
    f = tmp_path / "g.ini"
    f.write_text("[daemon]\ntoolkit = gtk\nfoo = bar\n")
    p = run_guiloopd(["--config", str(f)], cli_env)
    assert p.returncode == EX_CONFIG
    assert p.stderr == f"{f}:3: unknown key 'foo' in section [daemon]\n"


def test_empty_config_file_means_defaults(guiloopd, cli_env, tmp_path):
    f = tmp_path / "empty.ini"
    f.write_text("")
    check_defaults(check_config(cli_env, "--config", str(f)))


def test_shipped_config_documents_the_defaults(guiloopd, cli_env):
    shipped = SOURCE_DIR / "conf" / "guiloopd.ini"
    assert shipped.exists(), f"{shipped} is missing"
    text = shipped.read_text()
    for keys in ALL_KEYS.values():
        for key in keys:
            assert re.search(rf"^[;#]?\s*{key}\s*=", text, re.M), f"{key} not documented"
    check_defaults(check_config(cli_env, "--config", str(shipped)))
