/* SPDX-License-Identifier: MIT */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void completion_clear(Completion *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->matches[i]);
        free(c->matches);
        *c = (Completion){ 0 };
}

static DBusMessage *method(Client *c, const char *member)
{
        return client_method(c, GUILOOP_INTERFACE, member, true);
}

DBusMessage *api_execute_message(Client *c, const char *code)
{
        DBusMessage *m = method(c, "Execute");

        if (m && !dbus_message_append_args(m, DBUS_TYPE_STRING, &code, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return NULL;
        }
        return m;
}

DBusMessage *api_run_file_message(Client *c, const char *path, char **argv, int n)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "RunFile");
        DBusMessageIter iter, array;

        if (!m)
                return NULL;
        dbus_message_iter_init_append(m, &iter);
        if (!dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &path) ||
            !dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &array))
                return NULL;
        for (int i = 0; i < n; i++) {
                if (!dbus_message_iter_append_basic(&array, DBUS_TYPE_STRING, &argv[i])) {
                        dbus_message_iter_abandon_container(&iter, &array);
                        return NULL;
                }
        }
        if (!dbus_message_iter_close_container(&iter, &array))
                return NULL;
        return steal_pointer(&m);
}

/* Submit's and SubmitFile's options at the end of m: {stream} when it is false. */
static int append_submit_options(DBusMessage *m, bool stream)
{
        DBusMessageIter iter, dict, entry, variant;
        const char *key = "stream";
        dbus_bool_t b = stream;

        dbus_message_iter_init_append(m, &iter);
        if (!dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict))
                return -ENOMEM;
        /* stream = true is the default: an empty dictionary says it. */
        if (!stream) {
                if (!dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL,
                                                      &entry) ||
                    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) ||
                    !dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "b",
                                                      &variant) ||
                    !dbus_message_iter_append_basic(&variant, DBUS_TYPE_BOOLEAN, &b) ||
                    !dbus_message_iter_close_container(&entry, &variant) ||
                    !dbus_message_iter_close_container(&dict, &entry))
                        return -ENOMEM;
        }
        if (!dbus_message_iter_close_container(&iter, &dict))
                return -ENOMEM;
        return 0;
}

int api_submit_send(Client *c, const char *code, bool stream, DBusPendingCall **pending)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "Submit");

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &code, DBUS_TYPE_INVALID) ||
            append_submit_options(m, stream) < 0)
                return -ENOMEM;
        return client_send_with_reply(c, m, pending);
}

int api_submit_file_send(Client *c, const char *path, char **argv, int n,
                         DBusPendingCall **pending)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "SubmitFile");

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &path, DBUS_TYPE_ARRAY,
                                            DBUS_TYPE_STRING, &argv, n, DBUS_TYPE_INVALID) ||
            append_submit_options(m, true) < 0)
                return -ENOMEM;
        return client_send_with_reply(c, m, pending);
}

static int bad_reply(DBusMessage *reply, const char *signature, DBusError *error)
{
        dbus_set_error(error, DBUS_ERROR_INVALID_SIGNATURE,
                       "the daemon answered '%s' where '%s' was expected",
                       dbus_message_get_signature(reply), signature);
        return CLIENT_E_DBUS;
}

int api_submit_reply(Client *c, DBusPendingCall *pending, uint64_t *id, char **sender,
                     DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *reply = NULL;
        dbus_uint64_t v;
        int r;

        r = client_wait_pending(c, pending, -1, NULL, NULL, &reply, error);
        if (r != 0)
                return r;
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_UINT64, &v, DBUS_TYPE_INVALID))
                return bad_reply(reply, "t", error);
        *id = v;
        if (sender) {
                *sender = strdup(dbus_message_get_sender(reply) ?: "");
                if (!*sender)
                        return -ENOMEM;
        }
        return 0;
}

int api_cancel(Client *c, uint64_t id)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "Cancel");
        dbus_uint64_t v = id;

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_UINT64, &v, DBUS_TYPE_INVALID))
                return -ENOMEM;
        dbus_message_set_no_reply(m, TRUE);
        return client_send(c, m);
}

/* A quick call: the reply within API_QUICK_TIMEOUT_MS, signals left queued. */
static int quick(Client *c, DBusMessage *m, DBusMessage **reply, DBusError *error)
{
        if (!m)
                return -ENOMEM;
        return client_call_timeout(c, m, API_QUICK_TIMEOUT_MS, reply, error);
}

int api_wait_error(Client *c, uint64_t id, DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "Wait"), *reply = NULL;
        dbus_uint64_t v = id;

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_UINT64, &v, DBUS_TYPE_INVALID))
                return -ENOMEM;
        return quick(c, m, &reply, error);
}

static int dup_out(const char *s, char **out)
{
        *out = strdup(s);
        return *out ? 0 : -ENOMEM;
}

int api_complete(Client *c, const char *code, int cursor, Completion *out, DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "Complete"), *reply = NULL;
        DBusMessageIter iter, array;
        dbus_int32_t cur = cursor, start, end;
        Completion comp = { 0 };
        int r;

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &code, DBUS_TYPE_INT32, &cur,
                                            DBUS_TYPE_INVALID))
                return -ENOMEM;
        r = quick(c, m, &reply, error);
        if (r != 0)
                return r;
        if (!dbus_message_has_signature(reply, "asii"))
                return bad_reply(reply, "asii", error);
        dbus_message_iter_init(reply, &iter);
        dbus_message_iter_recurse(&iter, &array);
        for (; dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_STRING;
             dbus_message_iter_next(&array)) {
                const char *s;
                char **p;

                dbus_message_iter_get_basic(&array, &s);
                p = realloc(comp.matches, (comp.n + 1) * sizeof(*p));
                if (!p || !(p[comp.n] = strdup(s))) {
                        if (p)
                                comp.matches = p;
                        completion_clear(&comp);
                        return -ENOMEM;
                }
                comp.matches = p;
                comp.n++;
        }
        dbus_message_iter_next(&iter);
        dbus_message_iter_get_basic(&iter, &start);
        dbus_message_iter_next(&iter);
        dbus_message_iter_get_basic(&iter, &end);
        comp.start = start;
        comp.end = end;
        *out = comp;
        return 0;
}

int api_is_complete(Client *c, const char *code, char **status, char **indent,
                    DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "IsComplete"), *reply = NULL;
        const char *s, *i;
        int r;

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &code, DBUS_TYPE_INVALID))
                return -ENOMEM;
        r = quick(c, m, &reply, error);
        if (r != 0)
                return r;
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_STRING, &i,
                                   DBUS_TYPE_INVALID))
                return bad_reply(reply, "ss", error);
        if (dup_out(s, status) < 0)
                return -ENOMEM;
        if (dup_out(i, indent) < 0) {
                free(*status);
                return -ENOMEM;
        }
        return 0;
}

int api_inspect(Client *c, const char *code, int cursor, bool *found, char **text,
                DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "Inspect"), *reply = NULL;
        dbus_int32_t cur = cursor;
        dbus_bool_t f;
        const char *t;
        int r;

        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &code, DBUS_TYPE_INT32, &cur,
                                            DBUS_TYPE_INVALID))
                return -ENOMEM;
        r = quick(c, m, &reply, error);
        if (r != 0)
                return r;
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_BOOLEAN, &f, DBUS_TYPE_STRING, &t,
                                   DBUS_TYPE_INVALID))
                return bad_reply(reply, "bs", error);
        *found = f;
        return dup_out(t, text);
}

int api_stacks(Client *c, char **text, DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "Stacks"), *reply = NULL;
        const char *t;
        int r;

        if (!m)
                return -ENOMEM;
        r = client_call_blocking(c, m, &reply, error);
        if (r != 0)
                return r;
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &t, DBUS_TYPE_INVALID))
                return bad_reply(reply, "s", error);
        return dup_out(t, text);
}

int api_subscribe(Client *c, char **sender, DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = method(c, "Subscribe"), *reply = NULL;
        int r;

        if (!m)
                return -ENOMEM;
        r = client_call(c, m, -1, NULL, NULL, &reply, error);
        if (r == 0 && sender)
                r = dup_out(dbus_message_get_sender(reply) ?: "", sender);
        return r;
}

int api_properties(Client *c, bool auto_start, DBusMessage **reply, DBusError *error)
{
        _cleanup_(dbus_message_unrefp) DBusMessage *m = NULL;
        const char *iface = GUILOOP_INTERFACE;
        int r;

        m = client_method(c, DBUS_INTERFACE_PROPERTIES, "GetAll", auto_start);
        if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID))
                return -ENOMEM;
        r = client_call_blocking(c, m, reply, error);
        if (r != 0)
                return r;
        if (!dbus_message_has_signature(*reply, "a{sv}")) {
                r = bad_reply(*reply, "a{sv}", error);
                dbus_message_unref(*reply);
                *reply = NULL;
        }
        return r;
}

static bool find_property(DBusMessage *props, const char *name, DBusMessageIter *value)
{
        DBusMessageIter iter, dict;

        dbus_message_iter_init(props, &iter);
        dbus_message_iter_recurse(&iter, &dict);
        for (; dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY;
             dbus_message_iter_next(&dict)) {
                DBusMessageIter entry;
                const char *key;

                dbus_message_iter_recurse(&dict, &entry);
                dbus_message_iter_get_basic(&entry, &key);
                if (strcmp(key, name) == 0) {
                        dbus_message_iter_next(&entry);
                        dbus_message_iter_recurse(&entry, value);
                        return true;
                }
        }
        return false;
}

bool api_property_string(DBusMessage *props, const char *name, const char **out)
{
        DBusMessageIter v;

        if (!find_property(props, name, &v) || dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_STRING)
                return false;
        dbus_message_iter_get_basic(&v, out);
        return true;
}

bool api_property_uint(DBusMessage *props, const char *name, uint64_t *out)
{
        DBusMessageIter v;
        DBusBasicValue b;

        if (!find_property(props, name, &v) ||
            !dbus_type_is_basic(dbus_message_iter_get_arg_type(&v)))
                return false;
        dbus_message_iter_get_basic(&v, &b);
        switch (dbus_message_iter_get_arg_type(&v)) {
        case DBUS_TYPE_BOOLEAN:
                *out = b.bool_val;
                return true;
        case DBUS_TYPE_UINT32:
                *out = b.u32;
                return true;
        case DBUS_TYPE_UINT64:
                *out = b.u64;
                return true;
        default:
                return false;
        }
}
