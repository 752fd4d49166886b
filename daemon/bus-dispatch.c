/* SPDX-License-Identifier: MIT */
#include "bus-dispatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "log.h"
#include "output.h"

/* Error texts are for people: a name echoed back needs no more than this. */
#define ERROR_TEXT_MAX 512

const char *bus_error_name(int code)
{
        switch (code) {
        case BUS_E_INVALID_ARGS:
                return DBUS_ERROR_INVALID_ARGS;
        case BUS_E_ACCESS_DENIED:
                return DBUS_ERROR_ACCESS_DENIED;
        case BUS_E_UNKNOWN_METHOD:
                return DBUS_ERROR_UNKNOWN_METHOD;
        case BUS_E_UNKNOWN_INTERFACE:
                return DBUS_ERROR_UNKNOWN_INTERFACE;
        case BUS_E_UNKNOWN_PROPERTY:
                return DBUS_ERROR_UNKNOWN_PROPERTY;
        case BUS_E_UNKNOWN_OBJECT:
                return DBUS_ERROR_UNKNOWN_OBJECT;
        case BUS_E_PROPERTY_READ_ONLY:
                return DBUS_ERROR_PROPERTY_READ_ONLY;
        case BUS_E_QUEUE_FULL:
                return GUILOOP_ERROR_PREFIX "QueueFull";
        case BUS_E_SHUTTING_DOWN:
                return GUILOOP_ERROR_PREFIX "ShuttingDown";
        case BUS_E_FILE_NOT_FOUND:
                return GUILOOP_ERROR_PREFIX "FileNotFound";
        case BUS_E_UNKNOWN_EXECUTION:
                return GUILOOP_ERROR_PREFIX "UnknownExecution";
        case BUS_E_CANCELLED:
                return GUILOOP_ERROR_PREFIX "Cancelled";
        case -ENOMEM:
                return DBUS_ERROR_NO_MEMORY;
        default:
                return DBUS_ERROR_FAILED;
        }
}

char *utf8_text(const char *text, size_t max)
{
        _cleanup_(freep) char *escaped = text_escape(text, strlen(text));
        size_t len, n;
        char *out;

        if (!escaped)
                return NULL;
        len = strlen(escaped);
        if (len <= max)
                return steal_pointer(&escaped);
        n = utf8_cut(escaped, len, max > 3 ? max - 3 : 0);
        out = malloc(n + 4);
        if (!out)
                return NULL;
        memcpy(out, escaped, n);
        memcpy(out + n, "\xe2\x80\xa6", 4); /* … */
        return out;
}

int call_fail(Call *c, int code, const char *fmt, ...)
{
        va_list ap;

        free(c->error_text);
        va_start(ap, fmt);
        if (vasprintf(&c->error_text, fmt, ap) < 0)
                c->error_text = NULL;
        va_end(ap);
        return code;
}

static DBusMessage *error_for(DBusMessage *m, int code, const char *text)
{
        _cleanup_(freep) char *safe = utf8_text(text ? text : "", ERROR_TEXT_MAX);

        return dbus_message_new_error(m, bus_error_name(code),
                                      safe ? safe : code == -ENOMEM ? "out of memory" : "failed");
}

DBusMessage *dispatch_error(DBusMessage *m, int code, const char *text)
{
        if (dbus_message_get_no_reply(m))
                return NULL;
        return error_for(m, code, text);
}

const Method *dispatch_find(const Method *table, size_t n, DBusMessage *m, int *code,
                            char **text)
{
        const char *interface = dbus_message_get_interface(m);
        const char *member = dbus_message_get_member(m);
        bool interface_seen = false;
        _cleanup_(freep) char *iface_text = NULL, *member_text = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                if (interface && strcmp(interface, table[i].interface) != 0)
                        continue;
                interface_seen = true;
                if (strcmp(member, table[i].member) == 0)
                        return &table[i];
        }
        iface_text = utf8_text(interface ? interface : "", 200);
        member_text = utf8_text(member, 200);
        if (interface && !interface_seen) {
                *code = BUS_E_UNKNOWN_INTERFACE;
                r = asprintf(text, "no interface %s", iface_text ? iface_text : "");
        } else {
                *code = BUS_E_UNKNOWN_METHOD;
                r = asprintf(text, "no method %s%s%s", iface_text ? iface_text : "",
                             interface ? "." : "", member_text ? member_text : "");
        }
        if (r < 0)
                *text = NULL;
        return NULL;
}

DBusMessage *dispatch_call(const Method *table, size_t n, void *data, DBusMessage *m)
{
        Call c = { .msg = m };
        const Method *me;
        DBusMessage *out = NULL;
        int r;

        me = dispatch_find(table, n, m, &r, &c.error_text);
        if (me && !dbus_message_has_signature(m, me->signature)) {
                r = call_fail(&c, BUS_E_INVALID_ARGS, "%s.%s expects signature '%s', got '%s'",
                              me->interface, me->member, me->signature,
                              dbus_message_get_signature(m));
                me = NULL;
        }
        if (me) {
                c.reply = dbus_message_new_method_return(m);
                r = c.reply ? me->handler(data, &c) : -ENOMEM;
        }
        if (r == 0) {
                out = steal_pointer(&c.reply);
        } else if (r != BUS_DEFERRED) {
                if (r < 0 && !c.error_text)
                        c.error_text = strdup(strerror(-r));
                out = error_for(m, r, c.error_text);
        }
        if (c.reply)
                dbus_message_unref(c.reply);
        free(c.error_text);
        if (!out && r != BUS_DEFERRED)
                log_err("out of memory building a reply");
        if (out && dbus_message_get_no_reply(m)) {
                dbus_message_unref(out);
                out = NULL;
        }
        return out;
}

int reply_to_init(ReplyTo *r, DBusMessage *m)
{
        const char *sender = dbus_message_get_sender(m);

        r->serial = dbus_message_get_serial(m);
        r->no_reply = dbus_message_get_no_reply(m);
        r->destination = sender ? strdup(sender) : NULL;
        return sender && !r->destination ? -ENOMEM : 0;
}

void reply_to_clear(ReplyTo *r)
{
        free(r->destination);
        r->destination = NULL;
}

static DBusMessage *reply_message(const ReplyTo *r, int type)
{
        DBusMessage *m;

        if (r->no_reply)
                return NULL;
        m = dbus_message_new(type);
        if (!m)
                return NULL;
        dbus_message_set_no_reply(m, TRUE);
        if (!dbus_message_set_reply_serial(m, r->serial) ||
            (r->destination && !dbus_message_set_destination(m, r->destination))) {
                dbus_message_unref(m);
                return NULL;
        }
        return m;
}

DBusMessage *reply_to_return(const ReplyTo *r)
{
        return reply_message(r, DBUS_MESSAGE_TYPE_METHOD_RETURN);
}

DBusMessage *reply_to_error(const ReplyTo *r, int code, const char *text)
{
        DBusMessage *m = reply_message(r, DBUS_MESSAGE_TYPE_ERROR);
        _cleanup_(freep) char *safe = utf8_text(text ? text : "", ERROR_TEXT_MAX);
        const char *s = safe ? safe : "failed";

        if (m && (!dbus_message_set_error_name(m, bus_error_name(code)) ||
                  !dbus_message_append_args(m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID))) {
                dbus_message_unref(m);
                m = NULL;
        }
        return m;
}
