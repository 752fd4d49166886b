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
  wx.SafeYield(), App.Yield()) run through _guiloop_boot.run_nested(), so
  Interrupt ends them and raises KeyboardInterrupt where they were called.
  matplotlib's wx canvas is mended so that plt.pause() works again after
  an interrupted one.
"""
from _guiloop_boot import after_import, run_nested

app = None     # the daemon's own application
_apps = []     # every application object made in this process


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
    app = made
    return made


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

    real_show_modal = wx.Dialog.ShowModal

    def ShowModal(self):
        return run_nested(lambda: self.EndModal(wx.ID_CANCEL), real_show_modal, self)

    wx.Dialog.ShowModal = ShowModal

    real_run = wx.GUIEventLoop.Run

    def Run(self):
        return run_nested(lambda: self.ScheduleExit(0), real_run, self)

    wx.GUIEventLoop.Run = Run

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


after_import("wx", _patch)
after_import("matplotlib.backends.backend_wx", _patch_matplotlib)
