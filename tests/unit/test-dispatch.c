/* SPDX-License-Identifier: MIT */
/* The dispatcher: signature checks, one reply per call, error names, UTF-8 cuts. */
#include <errno.h>
#include <string.h>

#include "bus-dispatch.h"
#include "output.h"
#include "tap.h"

static int calls;

static int h_ok(void *data, Call *c)
{
        dbus_int32_t v = 7;

        (void)data;
        calls++;
        return dbus_message_append_args(c->reply, DBUS_TYPE_INT32, &v, DBUS_TYPE_INVALID) ? 0 : -ENOMEM;
}

static int h_fail(void *data, Call *c)
{
        (void)data;
        calls++;
        return call_fail(c, BUS_E_QUEUE_FULL, "full: %s", "yes");
}

static int h_defer(void *data, Call *c)
{
        (void)data;
        (void)c;
        calls++;
        return BUS_DEFERRED;
}

static int h_nomem(void *data, Call *c)
{
        (void)data;
        (void)c;
        calls++;
        return -ENOMEM;
}

static const Method table[] = {
        { "a.B", "Ok", "s", h_ok, 0 },
        { "a.B", "Fail", "", h_fail, 0 },
        { "a.B", "Defer", "t", h_defer, 0 },
        { "a.B", "NoMem", "", h_nomem, 0 },
        { "c.D", "Other", "", h_ok, 0 },
};

static DBusMessage *call(const char *iface, const char *member)
{
        DBusMessage *m = dbus_message_new_method_call("x.y", "/o", iface, member);

        dbus_message_set_serial(m, 42);
        dbus_message_set_sender(m, ":1.5");
        return m;
}

static DBusMessage *run(DBusMessage *m)
{
        DBusMessage *r = dispatch_call(table, ARRAY_SIZE(table), NULL, m);

        dbus_message_unref(m);
        return r;
}

static int is_error(DBusMessage *r, const char *name)
{
        return r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR &&
               strcmp(dbus_message_get_error_name(r), name) == 0;
}

static void test_dispatch(void)
{
        const char *s = "x";
        DBusMessage *m, *r;

        m = call("a.B", "Ok");
        dbus_message_append_args(m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID);
        calls = 0;
        r = run(m);
        ok(r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_METHOD_RETURN &&
           dbus_message_get_reply_serial(r) == 42 && dbus_message_has_signature(r, "i") && calls == 1,
           "a good call gets its handler's reply");
        dbus_message_unref(r);

        calls = 0;
        r = run(call("a.B", "Ok"));
        ok(is_error(r, DBUS_ERROR_INVALID_ARGS) && calls == 0,
           "a wrong signature is InvalidArgs and the handler never runs");
        dbus_message_unref(r);

        r = run(call("a.B", "Fail"));
        ok(is_error(r, "org.guiloop.GuiLoop1.Error.QueueFull"), "a handler's code becomes its error name");
        {
                const char *text = NULL;

                dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID);
                ok(text && strcmp(text, "full: yes") == 0, "with the handler's text");
        }
        dbus_message_unref(r);

        m = call("a.B", "Defer");
        {
                dbus_uint64_t t = 1;

                dbus_message_append_args(m, DBUS_TYPE_UINT64, &t, DBUS_TYPE_INVALID);
        }
        ok(run(m) == NULL, "a deferred call is not answered now");

        r = run(call("a.B", "NoMem"));
        ok(is_error(r, DBUS_ERROR_NO_MEMORY), "-ENOMEM is NoMemory");
        dbus_message_unref(r);

        r = run(call("a.B", "Nope"));
        ok(is_error(r, DBUS_ERROR_UNKNOWN_METHOD), "unknown member: UnknownMethod");
        dbus_message_unref(r);
        r = run(call("q.R", "Ok"));
        ok(is_error(r, DBUS_ERROR_UNKNOWN_INTERFACE), "unknown interface: UnknownInterface");
        dbus_message_unref(r);
        r = run(call(NULL, "Other"));
        ok(r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_METHOD_RETURN,
           "no interface: the member is looked up in every interface");
        dbus_message_unref(r);

        m = call("a.B", "Fail");
        dbus_message_set_no_reply(m, TRUE);
        calls = 0;
        ok(run(m) == NULL && calls == 1, "no reply is sent when the caller asked for none");
}

static void test_codes(void)
{
        static const struct {
                int code;
                const char *name;
        } names[] = {
                { BUS_E_INVALID_ARGS, DBUS_ERROR_INVALID_ARGS },
                { BUS_E_ACCESS_DENIED, DBUS_ERROR_ACCESS_DENIED },
                { BUS_E_SHUTTING_DOWN, "org.guiloop.GuiLoop1.Error.ShuttingDown" },
                { BUS_E_FILE_NOT_FOUND, "org.guiloop.GuiLoop1.Error.FileNotFound" },
                { BUS_E_UNKNOWN_EXECUTION, "org.guiloop.GuiLoop1.Error.UnknownExecution" },
                { BUS_E_CANCELLED, "org.guiloop.GuiLoop1.Error.Cancelled" },
                { BUS_E_PROPERTY_READ_ONLY, DBUS_ERROR_PROPERTY_READ_ONLY },
                { -EIO, DBUS_ERROR_FAILED },
        };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                ok(strcmp(bus_error_name(names[i].code), names[i].name) == 0, "code %d is %s",
                   names[i].code, names[i].name);
}

static void test_utf8(void)
{
        char long_e[1300];
        char *t;

        for (size_t i = 0; i < 600; i++)
                memcpy(long_e + 2 * i, "\xc3\xa9", 2);
        long_e[1200] = 0;
        t = utf8_text(long_e, 511);
        ok(t && strlen(t) <= 511 && dbus_validate_utf8(t, NULL), "a cut é string stays valid UTF-8");
        ok(t && strcmp(t + strlen(t) - 3, "\xe2\x80\xa6") == 0, "and says it was cut");
        free(t);
        t = utf8_text("a\xff" "b", 100);
        ok(t && strcmp(t, "a\\xffb") == 0, "invalid bytes are escaped");
        free(t);
        ok(utf8_cut("\xc3\xa9\xc3\xa9", 4, 3) == 2, "utf8_cut backs off to a character boundary");

        /* Deferred replies carry no message, only what answering takes. */
        {
                DBusMessage *m = call("a.B", "Ok"), *r;
                ReplyTo to;

                reply_to_init(&to, m);
                dbus_message_unref(m);
                r = reply_to_error(&to, BUS_E_CANCELLED, long_e);
                ok(r && dbus_message_get_reply_serial(r) == 42 &&
                   strcmp(dbus_message_get_destination(r), ":1.5") == 0 &&
                   is_error(r, "org.guiloop.GuiLoop1.Error.Cancelled"),
                   "a later error reply goes to the caller's serial");
                if (r) {
                        const char *text = NULL;

                        dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID);
                        ok(text && dbus_validate_utf8(text, NULL), "with a valid UTF-8 text");
                        dbus_message_unref(r);
                }
                reply_to_clear(&to);
        }
}

int main(void)
{
        test_dispatch();
        test_codes();
        test_utf8();
        return tap_done();
}
