"""guiloopd's tk plugin, Python side (owner and guest): unmodified tkinter
programs on the daemon's running Tcl event loop.

Measured with Python 3.11's tkinter on Tk 8.6.13:

- tkinter.Tk() works as in a plain interpreter, each with its own Tcl
  interpreter; the daemon's loop serves them all (Tcl's event loop is the
  thread's, not an interpreter's).
- mainloop() (the module function and every widget's method) returns at
  once, since the daemon's loop already runs: before, it ran until the
  program's last window closed, holding the daemon's queue.  One caller
  keeps a real loop: a matplotlib canvas's start_event_loop() (plt.pause(),
  ginput()), which schedules its own end and is a nested loop that
  Interrupt ends.  turtle calls the Tcl interpreter's mainloop directly
  (screen.cv.tk.mainloop(), a C type that cannot be patched): its
  TurtleScreen.mainloop (so turtle.mainloop() and done()) returns at once
  too.  Other code calling a tkapp's mainloop directly still blocks.
- wait_window() and wait_variable() (Tk's tkwait, a loop in C that never
  lets Python see an interrupt) run as the same loop in Python,
  Tcl_DoOneEvent() at a time, through _guiloop_boot.run_nested(); update()
  and the real mainloop() too: Interrupt ends them and raises
  KeyboardInterrupt where they were called.
- Tk's standard dialogs (tkinter.messagebox, filedialog, colorchooser, all
  through commondialog.Dialog.show()) wait in Tcl's own vwait, which no
  Python code runs in: show() is a nested loop whose end writes the
  variables those vwaits wait on (::tk::Priv(button), selectFilePath,
  selectColor, as msgbox.tcl, tkfbox.tcl, choosedir.tcl and clrpick.tcl
  name them); the dialog then closes as if dismissed.
"""
import sys

from _guiloop_boot import after_import, print_exception, run_nested


def _patch(tkinter):
    Misc = tkinter.Misc
    if getattr(Misc, "_guiloop_patched", False):
        return
    real_mainloop = Misc.mainloop
    real_update = Misc.update
    TclError = tkinter.TclError

    def mainloop(self, n=0):
        """Returns at once in guiloopd: its loop already runs."""
        if sys._getframe(1).f_code.co_name == "start_event_loop":
            return run_nested(self.quit, real_mainloop, self, n)
        return None

    def module_mainloop(n=0):
        """Returns at once in guiloopd: its loop already runs."""
        return None

    def _loop_until(self, done):
        stop = []

        def loop():
            while not stop and not done():
                self.tk.dooneevent(0)

        run_nested(lambda: stop.append(True), loop)

    def wait_window(self, window=None):
        """Wait until window (default: self) is destroyed."""
        if window is None:
            window = self
        path = str(window)

        def gone():
            try:
                return not self.tk.getboolean(self.tk.call("winfo", "exists", path))
            except TclError:
                return True

        _loop_until(self, gone)

    def wait_variable(self, name="PY_VAR"):
        """Wait until the variable is written."""
        name = str(name)
        written = []
        command = self._register(lambda *args: written.append(True))
        self.tk.call("trace", "add", "variable", name, "write", command)
        try:
            _loop_until(self, lambda: bool(written))
        finally:
            try:
                self.tk.call("trace", "remove", "variable", name, "write", command)
                self.deletecommand(command)
            except TclError:
                pass

    def update(self):
        """Enter the event loop until all pending events have been processed."""
        return run_nested(None, real_update, self)

    def report_callback_exception(self, exc, val, tb):
        """Report callback exception on sys.stderr (as tkinter does, without
        the daemon's interrupt handler as the last frame)."""
        print("Exception in Tkinter callback", file=sys.stderr)
        sys.last_type, sys.last_value, sys.last_traceback = exc, val, tb
        print_exception(exc, val, tb)

    tkinter.Tk.report_callback_exception = report_callback_exception
    Misc.mainloop = mainloop
    tkinter.mainloop = module_mainloop
    Misc.wait_window = Misc.waitwindow = wait_window
    Misc.wait_variable = Misc.waitvar = wait_variable
    Misc.update = update
    Misc._guiloop_patched = True


def _patch_turtle(turtle):
    """turtle's mainloop() and done() call the Tcl interpreter's own
    mainloop (screen.cv.tk.mainloop()), past tkinter's: the same no-op."""
    def mainloop(self):
        """Returns at once in guiloopd: its loop already runs."""
        return None

    turtle.TurtleScreenBase.mainloop = mainloop


def _patch_commondialog(commondialog):
    Dialog = commondialog.Dialog
    if getattr(Dialog.show, "_guiloop", False):
        return
    real_show = Dialog.show
    import tkinter

    def show(self, **options):
        def dismiss():
            master = self.master or tkinter._default_root
            if master is None:
                return
            for name in ("button", "selectFilePath", "selectColor"):
                try:
                    master.tk.call("set", f"::tk::Priv({name})", "")
                except tkinter.TclError:
                    pass
        return run_nested(dismiss, real_show, self, **options)

    show.__doc__ = real_show.__doc__
    show._guiloop = True
    Dialog.show = show


after_import("tkinter", _patch)
after_import("tkinter.commondialog", _patch_commondialog)
after_import("turtle", _patch_turtle)
