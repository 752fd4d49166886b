"""guiloopd's wx plugin, Python side: the daemon's wx.App, and unmodified
wx programs on it.

Measured with wxPython 4.2.0 (wx 3.2.2, GTK 3):

- At the start of run() the plugin makes an application of its own through
  create_app() below, so that wx.GetApp() answers before any program ran.
- A program's own wx.App() or wx.App subclass is a real second application:
  wx initialises itself only once per process (the first app did it), a
  later PyApp becomes wx.GetApp() and its OnInit runs, and the daemon's
  loop (a wx event loop, which is gtk_main on GLib's default context)
  dispatches its frames and timers as before.  Every application object is
  kept alive here: wxPyApp's destructor resets wxTheApp, which made a later
  wx.Frame() fail.  wx.App's clearSigInt (SIGINT to SIG_DFL) is turned off.
- MainLoop() returns 0 at once: the daemon's loop already runs.
  ExitMainLoop() and closing the last frame end no loop of the daemon (its
  run() enters its loop again, and a program's app has no main loop).
- Nested loops (wx.Dialog.ShowModal(), wx.GUIEventLoop.Run(), wx.Yield(),
  wx.SafeYield(), App.Yield(), wx.MessageBox() and the other dialog
  functions) run through _guiloop_boot.run_nested(), so Interrupt ends them
  and raises KeyboardInterrupt where they were called.  wx runs its message
  and file dialogs natively, with gtk_dialog_run(), which EndModal() does
  not end (measured: the execution went on waiting): those get GTK's cancel
  response.
  matplotlib's wx canvas is mended so that plt.pause() works again after
  an interrupted one.
"""
import ctypes
import ctypes.util

from _guiloop_boot import after_import, run_nested

app = None     # the daemon's own application
_apps = []     # every application object made in this process


log_target = None


def _route_log(wx):
    """wx's log messages to stderr, as a console wx program prints them
    ("12:00:00: Warning: text"), instead of wxLogGui's message boxes: a
    modal box that nobody sees would hold the daemon's GUI thread."""
    global log_target
    log_target = wx.LogStderr()  # kept alive here, whoever owns it
    wx.Log.SetActiveTarget(log_target)


def create_app():
    """Called by the plugin at the start of run(), in the GUI thread."""
    global app
    import wx

    existing = wx.GetApp()
    if isinstance(existing, wx.PyApp):
        # python.startup made one before us: adopt it rather than replace it.
        made = existing
    else:
        class GuiloopApp(wx.App):
            """guiloopd's application: get it with wx.GetApp()."""

            def OnInit(self):
                return True

        made = GuiloopApp(redirect=False)
    # Windows come and go; the daemon's loop stays until guiloopd quits.
    made.SetExitOnFrameDelete(False)
    _route_log(wx)
    app = made
    return made


_gtk = None


def _end_native_dialogs():
    """End the GTK dialogs that wx runs natively with gtk_dialog_run()
    (wx.MessageDialog, wx.MessageBox, the file and colour choosers), which
    EndModal() does not reach: each visible modal GtkDialog gets the
    response GTK_RESPONSE_CANCEL."""
    global _gtk
    if _gtk is None:
        _gtk = ctypes.CDLL(ctypes.util.find_library("gtk-3") or "libgtk-3.so.0")
        _gtk.gtk_window_list_toplevels.restype = ctypes.c_void_p
        _gtk.gtk_dialog_get_type.restype = ctypes.c_size_t
        _gtk.g_type_check_instance_is_a.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        _gtk.gtk_window_get_modal.argtypes = [ctypes.c_void_p]
        _gtk.gtk_widget_get_visible.argtypes = [ctypes.c_void_p]
        _gtk.gtk_dialog_response.argtypes = [ctypes.c_void_p, ctypes.c_int]
        _gtk.g_list_free.argtypes = [ctypes.c_void_p]
    dialog_type = _gtk.gtk_dialog_get_type()
    head = _gtk.gtk_window_list_toplevels()
    node = head
    found = []
    while node:
        data, nxt = ctypes.cast(node, ctypes.POINTER(ctypes.c_void_p * 2)).contents
        if (data and _gtk.g_type_check_instance_is_a(data, dialog_type)
                and _gtk.gtk_window_get_modal(data) and _gtk.gtk_widget_get_visible(data)):
            found.append(data)
        node = nxt
    if head:
        _gtk.g_list_free(head)
    for dialog in found:
        _gtk.gtk_dialog_response(dialog, -6)  # GTK_RESPONSE_CANCEL


def _end_modal(dialog, wx):
    try:
        dialog.EndModal(wx.ID_CANCEL)
    except Exception:
        pass  # a native dialog: wx asserts
    _end_native_dialogs()


def _patch(wx):
    if getattr(wx.App, "_guiloop_patched", False):
        return
    real_init = wx.App.__init__

    def __init__(self, redirect=False, filename=None, useBestVisual=False, clearSigInt=True):
        # clearSigInt would set SIGINT to SIG_DFL: Ctrl-C would kill the daemon.
        real_init(self, redirect, filename, useBestVisual, False)
        _apps.append(self)

    __init__.__doc__ = real_init.__doc__
    wx.App.__init__ = __init__

    def MainLoop(self):
        return 0

    wx.PyApp.MainLoop = MainLoop
    wx.App.MainLoop = MainLoop

    # wx.Dialog and every dialog class that has a ShowModal of its own
    # (MessageDialog, FileDialog, ..., PrintDialog: measured in wxPython 4.2).
    for cls in list(vars(wx).values()):
        if not isinstance(cls, type) or "ShowModal" not in cls.__dict__:
            continue

        def ShowModal(self, _real=cls.ShowModal):
            return run_nested(lambda: _end_modal(self, wx), _real, self)

        cls.ShowModal = ShowModal

    real_run = wx.GUIEventLoop.Run

    def Run(self):
        return run_nested(lambda: self.ScheduleExit(0), real_run, self)

    wx.GUIEventLoop.Run = Run

    for name in ("MessageBox", "FileSelector", "DirSelector", "GetTextFromUser",
                 "GetPasswordFromUser", "GetSingleChoice"):
        real = getattr(wx, name, None)
        if real is None:
            continue

        def dialog_function(*args, _real=real, **kwargs):
            return run_nested(_end_native_dialogs, _real, *args, **kwargs)

        dialog_function.__name__ = name
        dialog_function.__doc__ = getattr(real, "__doc__", None)
        setattr(wx, name, dialog_function)

    for owner, name in ((wx, "Yield"), (wx, "SafeYield"), (wx.PyApp, "Yield")):
        real = getattr(owner, name, None)
        if real is None:
            continue

        def function(*args, _real=real, **kwargs):
            return run_nested(None, _real, *args, **kwargs)

        function.__name__ = name
        setattr(owner, name, function)
    wx.App._guiloop_patched = True


def _patch_matplotlib(backend):
    """matplotlib's wx canvas keeps its _event_loop when the loop ends by an
    exception (an Interrupt in plt.pause()), and every later plt.pause()
    then raises "Event loop already running"."""
    cls = getattr(backend, "_FigureCanvasWxBase", None)
    real = getattr(cls, "start_event_loop", None)
    if real is None:
        return

    def start_event_loop(self, timeout=0):
        try:
            return real(self, timeout)
        except BaseException:
            self.__dict__.pop("_event_loop", None)
            raise

    start_event_loop.__doc__ = real.__doc__
    cls.start_event_loop = start_event_loop




def _pin_gtk3(gi):
    """wxGTK is GTK 3: PyGObject would load the newest Gtk typelib (4.0 once
    it is installed) for `from gi.repository import Gtk`, and GTK 3 and
    GTK 4 cannot share one process."""
    for namespace in ("Gtk", "Gdk"):
        try:
            gi.require_version(namespace, "3.0")
        except ValueError:
            pass  # the code chose a version before: its own error follows


after_import("gi", _pin_gtk3)
after_import("wx", _patch)
after_import("matplotlib.backends.backend_wx", _patch_matplotlib)
