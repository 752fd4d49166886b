/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <dbus/dbus.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "build-config.h"
#include "dbus-poll.h"
#include "interface-xml.h"
#include "log.h"
#include "queue.h"
#include "signals.h"

#define OBJECT_PATH "/org/guiloop/GuiLoop1"
#define INTERFACE "org.guiloop.GuiLoop1"
#define ERROR_PREFIX INTERFACE ".Error."
#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
#define INTROSPECTABLE_INTERFACE "org.freedesktop.DBus.Introspectable"
#define PEER_INTERFACE "org.freedesktop.DBus.Peer"
#define UID_CACHE_SIZE 32
/*
 * An execution's start reaches the bus thread (Busy = true) only when it has
 * run this long, or with its end: a short one costs no extra wake-up.
 */
#define STARTED_NOTICE_USEC 1000
/* The Output signal comes at most this often per execution, with what gathered. */
#define OUTPUT_INTERVAL_USEC 50000

typedef enum EventType {
        EVENT_STARTED,
        EVENT_FINISHED,
} EventType;

typedef struct Event {
        EventType type;
        Execution *execution;
} Event;

/* Unique names are never reused on a bus, so a verdict per name holds for good. */
typedef struct UidCacheEntry {
        char *sender;
        bool allowed;
} UidCacheEntry;

struct Bus {
        Daemon *daemon;
        DBusConnection *conn;
        char *name;
        int wake_fd;
        int started_fd; /* timerfd: an execution has run for STARTED_NOTICE_USEC */
        int output_fd;  /* timerfd: output is waiting to be signalled */
        Queue *events; /* Event *, from the GUI thread */
        pthread_t thread;
        bool started;
        atomic_bool stop; /* the main thread is done: drain and leave */

        /* Everything below belongs to the bus thread. */
        DBusWatch **watches;
        size_t n_watches;
        DBusTimeout **timeouts;
        size_t n_timeouts;
        bool busy_signalled; /* the Busy value PropertiesChanged last said */
        uint64_t execution_count;
        Execution *running;       /* started, not finished; its msg is ours */
        Output *background;       /* execution 0's output (the capture's), NULL: none */
        uint64_t timeout_due;     /* execution.timeout of the running one, 0: none */
        bool shutting_down;
        uint64_t grace_due;       /* shutdown_grace expires, 0: not shutting down */
        bool grace_final;         /* the second period, for Python's finalization */
        UidCacheEntry uids[UID_CACHE_SIZE];
        size_t next_uid;
};

/* ---- errors: the one place that names them ---- */

typedef enum BusError {
        ERR_QUEUE_FULL,
        ERR_SHUTTING_DOWN,
        ERR_FILE_NOT_FOUND,
        ERR_INVALID_ARGS,
        ERR_ACCESS_DENIED,
        ERR_UNKNOWN_METHOD,
        ERR_UNKNOWN_INTERFACE,
        ERR_UNKNOWN_PROPERTY,
        ERR_UNKNOWN_OBJECT,
        ERR_PROPERTY_READ_ONLY,
        ERR_NO_MEMORY,
        ERR_FAILED,
} BusError;

static const char *error_name(BusError e)
{
        switch (e) {
        case ERR_QUEUE_FULL:
                return ERROR_PREFIX "QueueFull";
        case ERR_SHUTTING_DOWN:
                return ERROR_PREFIX "ShuttingDown";
        case ERR_FILE_NOT_FOUND:
                return ERROR_PREFIX "FileNotFound";
        case ERR_INVALID_ARGS:
                return DBUS_ERROR_INVALID_ARGS;
        case ERR_ACCESS_DENIED:
                return DBUS_ERROR_ACCESS_DENIED;
        case ERR_UNKNOWN_METHOD:
                return DBUS_ERROR_UNKNOWN_METHOD;
        case ERR_UNKNOWN_INTERFACE:
                return DBUS_ERROR_UNKNOWN_INTERFACE;
        case ERR_UNKNOWN_PROPERTY:
                return DBUS_ERROR_UNKNOWN_PROPERTY;
        case ERR_UNKNOWN_OBJECT:
                return DBUS_ERROR_UNKNOWN_OBJECT;
        case ERR_PROPERTY_READ_ONLY:
                return DBUS_ERROR_PROPERTY_READ_ONLY;
        case ERR_NO_MEMORY:
                return DBUS_ERROR_NO_MEMORY;
        case ERR_FAILED:
                break;
        }
        return DBUS_ERROR_FAILED;
}

/* Map a module's documented condition to the error a caller sees. */
static BusError error_from_daemon(int r)
{
        switch (r) {
        case DAEMON_E_QUEUE_FULL:
                return ERR_QUEUE_FULL;
        case DAEMON_E_SHUTTING_DOWN:
                return ERR_SHUTTING_DOWN;
        default:
                return r == -ENOMEM ? ERR_NO_MEMORY : ERR_FAILED;
        }
}

static BusError error_from_execution(int status)
{
        switch (status) {
        case EXECUTION_E_FILE_NOT_FOUND:
                return ERR_FILE_NOT_FOUND;
        case EXECUTION_E_SHUTTING_DOWN:
                return ERR_SHUTTING_DOWN;
        default:
                return ERR_FAILED;
        }
}

/* ---- sending: every call gets exactly one reply, unless it asked for none ---- */

static void send_reply(Bus *b, DBusMessage *call, DBusMessage *reply)
{
        if (!reply) {
                log_err("out of memory building a reply");
                return;
        }
        if (!dbus_message_get_no_reply(call) && !dbus_connection_send(b->conn, reply, NULL))
                log_err("out of memory sending a reply");
        dbus_message_unref(reply);
}

__attribute__((format(printf, 4, 5)))
static void reply_error(Bus *b, DBusMessage *call, BusError e, const char *fmt, ...)
{
        char text[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        send_reply(b, call, dbus_message_new_error(call, error_name(e), text));
}

/* ---- access ---- */

static bool uid_allowed(Bus *b, unsigned long uid)
{
        const Config *c = daemon_config(b->daemon);

        if (uid == (unsigned long)getuid())
                return true;
        for (size_t i = 0; i < c->n_allow_uids; i++)
                if (uid == (unsigned long)c->allow_uids[i])
                        return true;
        return false;
}

static bool caller_allowed(Bus *b, DBusMessage *m)
{
        const char *sender = dbus_message_get_sender(m);
        DBusError error = DBUS_ERROR_INIT;
        UidCacheEntry *slot;
        unsigned long uid;
        bool allowed;

        if (!sender)
                return false;
        for (size_t i = 0; i < UID_CACHE_SIZE; i++)
                if (b->uids[i].sender && strcmp(b->uids[i].sender, sender) == 0)
                        return b->uids[i].allowed;

        /* A blocking round trip to the bus daemon, never to our GUI thread. */
        uid = dbus_bus_get_unix_user(b->conn, sender, &error);
        if (dbus_error_is_set(&error)) {
                log_warning("cannot tell the Unix user of %s: %s", sender, error.message);
                dbus_error_free(&error);
                return false;
        }
        allowed = uid_allowed(b, uid);
        if (!allowed)
                log_warning("denied a call from %s (uid %lu)", sender, uid);

        slot = &b->uids[b->next_uid];
        b->next_uid = (b->next_uid + 1) % UID_CACHE_SIZE;
        free(slot->sender);
        slot->sender = strdup(sender);
        slot->allowed = allowed;
        return allowed;
}

/* ---- properties ---- */

typedef struct Property {
        const char *name;
        int type; /* DBUS_TYPE_* */
} Property;

static const Property properties[] = {
        { "Version", DBUS_TYPE_STRING },
        { "Toolkit", DBUS_TYPE_STRING },
        { "TkGuest", DBUS_TYPE_BOOLEAN },
        { "PythonVersion", DBUS_TYPE_STRING },
        { "Busy", DBUS_TYPE_BOOLEAN },
        { "QueueLength", DBUS_TYPE_UINT32 },
        { "ExecutionCount", DBUS_TYPE_UINT64 },
};

static const Property *property_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(properties); i++)
                if (strcmp(properties[i].name, name) == 0)
                        return &properties[i];
        return NULL;
}

static bool append_property(Bus *b, DBusMessageIter *iter, const Property *p)
{
        const Config *c = daemon_config(b->daemon);
        char signature[2] = { (char)p->type, 0 };
        DBusMessageIter variant;
        const char *s = NULL;
        dbus_bool_t flag = FALSE;
        dbus_uint32_t u32 = 0;
        dbus_uint64_t u64 = 0;
        const void *value;

        if (strcmp(p->name, "Version") == 0)
                s = GUILOOP_VERSION;
        else if (strcmp(p->name, "Toolkit") == 0)
                s = c->toolkit;
        else if (strcmp(p->name, "TkGuest") == 0)
                flag = c->tk_guest;
        else if (strcmp(p->name, "PythonVersion") == 0)
                s = daemon_python_version(b->daemon);
        else if (strcmp(p->name, "Busy") == 0)
                flag = daemon_busy(b->daemon);
        else if (strcmp(p->name, "QueueLength") == 0)
                u32 = (dbus_uint32_t)daemon_queue_length(b->daemon);
        else if (strcmp(p->name, "ExecutionCount") == 0)
                u64 = b->execution_count;

        value = p->type == DBUS_TYPE_STRING ? (const void *)&s :
                p->type == DBUS_TYPE_BOOLEAN ? (const void *)&flag :
                p->type == DBUS_TYPE_UINT32 ? (const void *)&u32 : (const void *)&u64;
        return dbus_message_iter_open_container(iter, DBUS_TYPE_VARIANT, signature, &variant) &&
               dbus_message_iter_append_basic(&variant, p->type, value) &&
               dbus_message_iter_close_container(iter, &variant);
}

static bool append_property_entry(Bus *b, DBusMessageIter *dict, const Property *p)
{
        DBusMessageIter entry;

        return dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
               dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &p->name) &&
               append_property(b, &entry, p) &&
               dbus_message_iter_close_container(dict, &entry);
}

/* {"Busy": <busy>}: the value an event says, not the one at sending time. */
static bool append_busy_entry(DBusMessageIter *dict, bool busy)
{
        const char *name = "Busy";
        dbus_bool_t value = busy;
        DBusMessageIter entry, variant;

        return dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
               dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &name) &&
               dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "b", &variant) &&
               dbus_message_iter_append_basic(&variant, DBUS_TYPE_BOOLEAN, &value) &&
               dbus_message_iter_close_container(&entry, &variant) &&
               dbus_message_iter_close_container(dict, &entry);
}

static void emit_busy_changed(Bus *b, bool busy)
{
        DBusMessage *signal = dbus_message_new_signal(OBJECT_PATH, PROPERTIES_INTERFACE,
                                                      "PropertiesChanged");
        const char *interface = INTERFACE;
        DBusMessageIter iter, dict, invalidated;
        bool ok;

        if (!signal)
                return;
        dbus_message_iter_init_append(signal, &iter);
        ok = dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &interface) &&
             dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
             append_busy_entry(&dict, busy) &&
             dbus_message_iter_close_container(&iter, &dict) &&
             dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &invalidated) &&
             dbus_message_iter_close_container(&iter, &invalidated);
        if (ok)
                dbus_connection_send(b->conn, signal, NULL);
        dbus_message_unref(signal);
}

static void signal_busy(Bus *b, bool busy)
{
        if (b->busy_signalled == busy)
                return;
        b->busy_signalled = busy;
        emit_busy_changed(b, busy);
}

/* ---- method handlers ---- */

static void output_pending(void *data);

typedef void (*Handler)(Bus *b, DBusMessage *m);

/* An execution for call m whose output streams through this bus. */
static int new_execution(Bus *b, DBusMessage *m, ExecutionKind kind, Execution **out)
{
        int r = execution_new(out, kind, m, daemon_config(b->daemon)->max_output);

        if (r == 0)
                output_set_notify((*out)->output, output_pending, b);
        return r;
}

/* Hand e to the GUI thread, or answer why not; takes e either way. */
static void submit(Bus *b, DBusMessage *m, Execution *e, int r, const char *what)
{
        if (r == 0)
                r = daemon_submit(b->daemon, e);
        if (r != 0) {
                reply_error(b, m, error_from_daemon(r), "%s",
                            r == DAEMON_E_QUEUE_FULL ? "too many executions waiting (queue_limit)" :
                            r == DAEMON_E_SHUTTING_DOWN ? "guiloopd is shutting down" :
                            strerror(-r));
                execution_free(e);
                return;
        }
        log_debug("execution %" PRIu64 " queued (%s from %s)", e->id, what,
                  dbus_message_get_sender(m));
}

static void on_execute(Bus *b, DBusMessage *m)
{
        Execution *e = NULL;
        const char *code;
        int r;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &code, DBUS_TYPE_INVALID))
                return reply_error(b, m, ERR_INVALID_ARGS, "Execute expects (s code)");
        r = new_execution(b, m, EXECUTION_CODE, &e);
        if (r == 0 && !(e->code = strdup(code)))
                r = -ENOMEM;
        submit(b, m, e, r, "Execute");
}

static void on_run_file(Bus *b, DBusMessage *m)
{
        Execution *e = NULL;
        char **argv = NULL;
        const char *path;
        int argc = 0, r;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &path, DBUS_TYPE_ARRAY,
                                   DBUS_TYPE_STRING, &argv, &argc, DBUS_TYPE_INVALID))
                return reply_error(b, m, ERR_INVALID_ARGS, "RunFile expects (s path, as argv)");
        if (path[0] != '/') {
                dbus_free_string_array(argv);
                return reply_error(b, m, ERR_INVALID_ARGS, "RunFile: path must be absolute: %s",
                                   path);
        }
        if (access(path, R_OK) < 0) {
                r = errno;
                dbus_free_string_array(argv);
                return reply_error(b, m, ERR_FILE_NOT_FOUND, "%s: %s", path, strerror(r));
        }

        r = new_execution(b, m, EXECUTION_FILE, &e);
        if (r == 0 && !(e->path = strdup(path)))
                r = -ENOMEM;
        if (r == 0 && !(e->argv = calloc((size_t)argc + 1, sizeof(char *))))
                r = -ENOMEM;
        for (int i = 0; r == 0 && i < argc; i++)
                if (!(e->argv[i] = strdup(argv[i])))
                        r = -ENOMEM;
        dbus_free_string_array(argv);
        submit(b, m, e, r, "RunFile");
}

static void on_interrupt(Bus *b, DBusMessage *m)
{
        dbus_bool_t interrupted = daemon_interrupt(b->daemon, 0);
        DBusMessage *reply = dbus_message_new_method_return(m);

        if (interrupted)
                log_info("interrupt requested by %s", dbus_message_get_sender(m));
        if (reply && !dbus_message_append_args(reply, DBUS_TYPE_BOOLEAN, &interrupted,
                                               DBUS_TYPE_INVALID)) {
                dbus_message_unref(reply);
                reply = NULL;
        }
        send_reply(b, m, reply);
}

static void begin_shutdown(Bus *b, const char *why)
{
        const Config *c = daemon_config(b->daemon);

        if (b->shutting_down)
                return;
        log_info("shutting down (%s)", why);
        b->shutting_down = true;
        b->grace_due = now_usec() + usec_from_seconds(c->shutdown_grace);
        daemon_shutdown(b->daemon);
}

static void on_shutdown(Bus *b, DBusMessage *m)
{
        char why[128];

        /* Reply first, then stop. */
        send_reply(b, m, dbus_message_new_method_return(m));
        snprintf(why, sizeof(why), "Shutdown from %s", dbus_message_get_sender(m));
        begin_shutdown(b, why);
}

static bool interface_known(const char *interface)
{
        return strcmp(interface, INTERFACE) == 0;
}

static void on_get(Bus *b, DBusMessage *m)
{
        const char *interface, *name;
        const Property *p;
        DBusMessage *reply;
        DBusMessageIter iter;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &interface, DBUS_TYPE_STRING,
                                   &name, DBUS_TYPE_INVALID))
                return reply_error(b, m, ERR_INVALID_ARGS, "Get expects (s interface, s name)");
        if (!interface_known(interface))
                return reply_error(b, m, ERR_UNKNOWN_INTERFACE, "no interface %s", interface);
        p = property_find(name);
        if (!p)
                return reply_error(b, m, ERR_UNKNOWN_PROPERTY, "no property %s", name);
        reply = dbus_message_new_method_return(m);
        if (reply) {
                dbus_message_iter_init_append(reply, &iter);
                if (!append_property(b, &iter, p)) {
                        dbus_message_unref(reply);
                        reply = NULL;
                }
        }
        send_reply(b, m, reply);
}

static void on_get_all(Bus *b, DBusMessage *m)
{
        DBusMessageIter iter, dict;
        const char *interface;
        DBusMessage *reply;
        bool ok;

        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &interface, DBUS_TYPE_INVALID))
                return reply_error(b, m, ERR_INVALID_ARGS, "GetAll expects (s interface)");
        /* The empty name means every interface of the object, which is ours. */
        if (*interface && !interface_known(interface))
                return reply_error(b, m, ERR_UNKNOWN_INTERFACE, "no interface %s", interface);
        reply = dbus_message_new_method_return(m);
        if (!reply)
                return send_reply(b, m, NULL);
        dbus_message_iter_init_append(reply, &iter);
        ok = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict);
        for (size_t i = 0; ok && i < ARRAY_SIZE(properties); i++)
                ok = append_property_entry(b, &dict, &properties[i]);
        ok = ok && dbus_message_iter_close_container(&iter, &dict);
        if (!ok) {
                dbus_message_unref(reply);
                reply = NULL;
        }
        send_reply(b, m, reply);
}

static void on_set(Bus *b, DBusMessage *m)
{
        const char *interface, *name;
        DBusMessageIter iter;

        /* The variant is not read: no property can be set. */
        dbus_message_iter_init(m, &iter);
        dbus_message_iter_get_basic(&iter, &interface);
        dbus_message_iter_next(&iter);
        dbus_message_iter_get_basic(&iter, &name);
        if (!interface_known(interface))
                return reply_error(b, m, ERR_UNKNOWN_INTERFACE, "no interface %s", interface);
        if (!property_find(name))
                return reply_error(b, m, ERR_UNKNOWN_PROPERTY, "no property %s", name);
        reply_error(b, m, ERR_PROPERTY_READ_ONLY, "property %s is read-only", name);
}

static const char standard_interfaces_xml[] =
        "  <interface name=\"" INTROSPECTABLE_INTERFACE "\">\n"
        "    <method name=\"Introspect\">\n"
        "      <arg name=\"xml_data\" type=\"s\" direction=\"out\"/>\n"
        "    </method>\n"
        "  </interface>\n"
        "  <interface name=\"" PEER_INTERFACE "\">\n"
        "    <method name=\"Ping\"/>\n"
        "    <method name=\"GetMachineId\">\n"
        "      <arg name=\"machine_uuid\" type=\"s\" direction=\"out\"/>\n"
        "    </method>\n"
        "  </interface>\n"
        "  <interface name=\"" PROPERTIES_INTERFACE "\">\n"
        "    <method name=\"Get\">\n"
        "      <arg name=\"interface_name\" type=\"s\" direction=\"in\"/>\n"
        "      <arg name=\"property_name\" type=\"s\" direction=\"in\"/>\n"
        "      <arg name=\"value\" type=\"v\" direction=\"out\"/>\n"
        "    </method>\n"
        "    <method name=\"GetAll\">\n"
        "      <arg name=\"interface_name\" type=\"s\" direction=\"in\"/>\n"
        "      <arg name=\"props\" type=\"a{sv}\" direction=\"out\"/>\n"
        "    </method>\n"
        "    <method name=\"Set\">\n"
        "      <arg name=\"interface_name\" type=\"s\" direction=\"in\"/>\n"
        "      <arg name=\"property_name\" type=\"s\" direction=\"in\"/>\n"
        "      <arg name=\"value\" type=\"v\" direction=\"in\"/>\n"
        "    </method>\n"
        "    <signal name=\"PropertiesChanged\">\n"
        "      <arg name=\"interface_name\" type=\"s\"/>\n"
        "      <arg name=\"changed_properties\" type=\"a{sv}\"/>\n"
        "      <arg name=\"invalidated_properties\" type=\"as\"/>\n"
        "    </signal>\n"
        "  </interface>\n";

static void reply_introspection(Bus *b, DBusMessage *m, const char *xml)
{
        DBusMessage *reply = dbus_message_new_method_return(m);

        if (reply && !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
                dbus_message_unref(reply);
                reply = NULL;
        }
        send_reply(b, m, reply);
}

static void on_introspect(Bus *b, DBusMessage *m)
{
        /* The interface file as installed, with the standard interfaces added. */
        const char *end = strstr(interface_xml, "</node>");
        _cleanup_(freep) char *xml = NULL;

        if (!end || asprintf(&xml, "%.*s%s</node>\n", (int)(end - interface_xml), interface_xml,
                             standard_interfaces_xml) < 0)
                return send_reply(b, m, NULL);
        reply_introspection(b, m, xml);
}

typedef struct Method {
        const char *interface;
        const char *member;
        const char *signature;
        Handler handler;
} Method;

static const Method methods[] = {
        { INTERFACE, "Execute", "s", on_execute },
        { INTERFACE, "RunFile", "sas", on_run_file },
        { INTERFACE, "Interrupt", "", on_interrupt },
        { INTERFACE, "Shutdown", "", on_shutdown },
        { PROPERTIES_INTERFACE, "Get", "ss", on_get },
        { PROPERTIES_INTERFACE, "GetAll", "s", on_get_all },
        { PROPERTIES_INTERFACE, "Set", "ssv", on_set },
        { INTROSPECTABLE_INTERFACE, "Introspect", "", on_introspect },
};

static DBusHandlerResult on_object_message(DBusConnection *conn, DBusMessage *m, void *data)
{
        const char *interface = dbus_message_get_interface(m);
        const char *member = dbus_message_get_member(m);
        bool interface_seen = false;
        Bus *b = data;

        (void)conn;
        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (!caller_allowed(b, m)) {
                reply_error(b, m, ERR_ACCESS_DENIED,
                            "only the daemon's own Unix user and allow_uids may call guiloopd");
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
                const Method *me = &methods[i];

                if (interface && strcmp(interface, me->interface) != 0)
                        continue;
                interface_seen = true;
                if (strcmp(member, me->member) != 0)
                        continue;
                /* The table checks the signature: handlers never see bad arguments. */
                if (!dbus_message_has_signature(m, me->signature))
                        reply_error(b, m, ERR_INVALID_ARGS, "%s.%s expects signature '%s', got '%s'",
                                    me->interface, me->member, me->signature,
                                    dbus_message_get_signature(m));
                else
                        me->handler(b, m);
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        if (interface && !interface_seen)
                reply_error(b, m, ERR_UNKNOWN_INTERFACE, "no interface %s on %s", interface,
                            OBJECT_PATH);
        else
                reply_error(b, m, ERR_UNKNOWN_METHOD, "no method %s%s%s", interface ? interface : "",
                            interface ? "." : "", member);
        return DBUS_HANDLER_RESULT_HANDLED;
}

/* The path's ancestors, so that busctl tree and gdbus introspect find the object. */
static DBusHandlerResult on_fallback_message(DBusConnection *conn, DBusMessage *m, void *data)
{
        const char *path = dbus_message_get_path(m);
        size_t len = strlen(path);
        _cleanup_(freep) char *xml = NULL;
        const char *child, *end;
        Bus *b = data;

        (void)conn;
        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (strcmp(path, "/") == 0)
                len = 0;
        if (!dbus_message_is_method_call(m, INTROSPECTABLE_INTERFACE, "Introspect") ||
            strncmp(OBJECT_PATH, path, len) != 0 || OBJECT_PATH[len] != '/') {
                reply_error(b, m, ERR_UNKNOWN_OBJECT, "no object %s", path);
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        child = OBJECT_PATH + len + 1;
        end = strchrnul(child, '/');
        if (asprintf(&xml, "%s<node>\n  <node name=\"%.*s\"/>\n</node>\n",
                     DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE, (int)(end - child), child) < 0)
                send_reply(b, m, NULL);
        else
                reply_introspection(b, m, xml);
        return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult on_filter(DBusConnection *conn, DBusMessage *m, void *data)
{
        Bus *b = data;

        (void)conn;
        if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
                log_err("lost the connection to the session bus");
                daemon_set_exit_code(b->daemon, EXIT_UNAVAILABLE);
                begin_shutdown(b, "the session bus is gone");
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

/* ---- executions coming back from the GUI thread ---- */

static void push_event(Bus *b, EventType type, Execution *e)
{
        Event *ev = malloc(sizeof(*ev));

        if (ev) {
                ev->type = type;
                ev->execution = e;
        }
        if (!ev || queue_push(b->events, ev) < 0) {
                /* Cannot happen short of memory; losing the reply would be worse. */
                log_err("out of memory passing execution %" PRIu64 " back", e->id);
                abort();
        }
}

static void arm_started_notice(Bus *b, uint64_t usec)
{
        struct itimerspec when = {
                .it_value = { .tv_sec = (time_t)(usec / 1000000u),
                              .tv_nsec = (long)(usec % 1000000u) * 1000 },
        };

        timerfd_settime(b->started_fd, 0, &when, NULL);
}

/* From the thread that printed: signal what gathers over the next interval. */
static void output_pending(void *data)
{
        Bus *b = data;
        struct itimerspec when = { .it_value = { .tv_nsec = OUTPUT_INTERVAL_USEC * 1000 } };

        timerfd_settime(b->output_fd, 0, &when, NULL);
}

/* What output o gathered since the last signal, as Output(id, stream, text). */
static void emit_output_of(Bus *b, uint64_t execution, Output *o)
{
        static const char *const names[OUTPUT_N_STREAMS] = { "stdout", "stderr" };
        char *texts[OUTPUT_N_STREAMS];
        dbus_uint64_t id = execution;

        if (!output_take(o, texts))
                return;
        for (int i = 0; i < OUTPUT_N_STREAMS; i++) {
                DBusMessage *signal;

                if (!texts[i])
                        continue;
                signal = dbus_message_new_signal(OBJECT_PATH, INTERFACE, "Output");
                if (signal && dbus_message_append_args(signal, DBUS_TYPE_UINT64, &id,
                                                       DBUS_TYPE_STRING, &names[i],
                                                       DBUS_TYPE_STRING, &texts[i],
                                                       DBUS_TYPE_INVALID))
                        dbus_connection_send(b->conn, signal, NULL);
                if (signal)
                        dbus_message_unref(signal);
                free(texts[i]);
        }
}

static void emit_output(Bus *b, Execution *e)
{
        emit_output_of(b, e->id, e->output);
}

void bus_set_background(Bus *b, Output *o)
{
        if (b->background)
                output_set_notify(b->background, NULL, NULL);
        b->background = o;
        if (o)
                output_set_notify(o, output_pending, b);
}

void bus_execution_started(Bus *b, Execution *e)
{
        /* No wake-up now: the timer brings it if the execution lasts. */
        push_event(b, EVENT_STARTED, e);
        arm_started_notice(b, STARTED_NOTICE_USEC);
}

void bus_execution_finished(Bus *b, Execution *e)
{
        uint64_t one = 1;

        arm_started_notice(b, 0);
        push_event(b, EVENT_FINISHED, e);
        (void)!write(b->wake_fd, &one, sizeof(one));
}

static void reply_execution(Bus *b, Execution *e)
{
        dbus_bool_t success = e->success;
        const char *result = e->result ? e->result : "";
        const char *out = e->stdout_text ? e->stdout_text : "";
        const char *err = e->stderr_text ? e->stderr_text : "";
        DBusMessage *reply;
        bool ok;

        if (e->status != 0)
                return reply_error(b, e->msg, error_from_execution(e->status), "%s",
                                   e->status_text ? e->status_text :
                                   e->status == EXECUTION_E_SHUTTING_DOWN ? "guiloopd is shutting down" :
                                   "failed");
        reply = dbus_message_new_method_return(e->msg);
        if (!reply)
                return send_reply(b, e->msg, NULL);
        if (e->kind == EXECUTION_CODE)
                ok = dbus_message_append_args(reply, DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_STRING,
                                              &result, DBUS_TYPE_STRING, &out, DBUS_TYPE_STRING,
                                              &err, DBUS_TYPE_INVALID);
        else
                ok = dbus_message_append_args(reply, DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_STRING,
                                              &out, DBUS_TYPE_STRING, &err, DBUS_TYPE_INVALID);
        if (!ok) {
                dbus_message_unref(reply);
                return reply_error(b, e->msg, ERR_NO_MEMORY, "out of memory");
        }
        send_reply(b, e->msg, reply);
}

static void execution_started(Bus *b, Execution *e)
{
        const Config *c = daemon_config(b->daemon);

        b->running = e;
        b->timeout_due = c->timeout > 0 ? e->started_usec + usec_from_seconds(c->timeout) : 0;
        signal_busy(b, true);
}

static void execution_finished(Bus *b, Execution *e)
{
        bool was_running = b->running == e;

        if (was_running) {
                b->running = NULL;
                b->timeout_due = 0;
        }
        if (e->started_usec) {
                b->execution_count++;
                log_debug("execution %" PRIu64 " finished in %.3f ms (waited %.3f ms, back in %.3f ms): %s",
                          e->id, (double)(e->finished_usec - e->started_usec) / 1000.0,
                          (double)(e->started_usec - e->queued_usec) / 1000.0,
                          (double)(now_usec() - e->finished_usec) / 1000.0,
                          e->status ? "refused" : e->success ? "ok" : "raised");
        }
        /* The last of the streamed output, then the reply; Busy is false already. */
        if (e->status == 0)
                emit_output(b, e);
        reply_execution(b, e);
        execution_free(e);
        if (was_running)
                signal_busy(b, false);
}

static void process_events(Bus *b)
{
        Event *ev;

        while ((ev = queue_pop(b->events))) {
                if (ev->type == EVENT_STARTED)
                        execution_started(b, ev->execution);
                else
                        execution_finished(b, ev->execution);
                free(ev);
        }
}

/* ---- the poll loop ---- */

static dbus_bool_t add_watch(DBusWatch *w, void *data)
{
        Bus *b = data;
        DBusWatch **grown = realloc(b->watches, (b->n_watches + 1) * sizeof(*grown));

        if (!grown)
                return FALSE;
        b->watches = grown;
        b->watches[b->n_watches++] = w;
        return TRUE;
}

static void remove_watch(DBusWatch *w, void *data)
{
        Bus *b = data;

        for (size_t i = 0; i < b->n_watches; i++)
                if (b->watches[i] == w) {
                        b->watches[i] = b->watches[--b->n_watches];
                        return;
                }
}

static void toggle_watch(DBusWatch *w, void *data)
{
        /* Enabled state is read at each poll. */
        (void)w;
        (void)data;
}

typedef struct TimeoutData {
        uint64_t due;
} TimeoutData;

static void timeout_restart(DBusTimeout *t)
{
        TimeoutData *td = dbus_timeout_get_data(t);

        td->due = now_usec() + (uint64_t)dbus_timeout_get_interval(t) * 1000u;
}

static dbus_bool_t add_timeout(DBusTimeout *t, void *data)
{
        Bus *b = data;
        DBusTimeout **grown = realloc(b->timeouts, (b->n_timeouts + 1) * sizeof(*grown));
        TimeoutData *td = calloc(1, sizeof(*td));

        if (!grown || !td) {
                free(td);
                if (grown)
                        b->timeouts = grown;
                return FALSE;
        }
        b->timeouts = grown;
        b->timeouts[b->n_timeouts++] = t;
        dbus_timeout_set_data(t, td, free);
        timeout_restart(t);
        return TRUE;
}

static void remove_timeout(DBusTimeout *t, void *data)
{
        Bus *b = data;

        for (size_t i = 0; i < b->n_timeouts; i++)
                if (b->timeouts[i] == t) {
                        b->timeouts[i] = b->timeouts[--b->n_timeouts];
                        return;
                }
}

static void toggle_timeout(DBusTimeout *t, void *data)
{
        (void)data;
        if (dbus_timeout_get_enabled(t))
                timeout_restart(t);
}

static void wake_up(void *data)
{
        Bus *b = data;
        uint64_t one = 1;

        (void)!write(b->wake_fd, &one, sizeof(one));
}

static void expire_timeouts(Bus *b, uint64_t now)
{
        for (size_t i = 0; i < b->n_timeouts; i++) {
                DBusTimeout *t = b->timeouts[i];
                TimeoutData *td = dbus_timeout_get_data(t);

                if (!dbus_timeout_get_enabled(t) || td->due > now)
                        continue;
                timeout_restart(t);
                dbus_timeout_handle(t);
                /* The handler may have removed timeouts: start over next time. */
                return;
        }
}

/* Milliseconds poll() may sleep: until the next deadline, or forever (-1). */
static int poll_timeout(Bus *b)
{
        uint64_t due = UINT64_MAX, now;

        for (size_t i = 0; i < b->n_timeouts; i++) {
                TimeoutData *td = dbus_timeout_get_data(b->timeouts[i]);

                if (dbus_timeout_get_enabled(b->timeouts[i]) && td->due < due)
                        due = td->due;
        }
        if (b->timeout_due && b->timeout_due < due)
                due = b->timeout_due;
        if (b->grace_due && b->grace_due < due)
                due = b->grace_due;
        if (due == UINT64_MAX)
                return -1;
        now = now_usec();
        if (due <= now)
                return 0;
        return (int)((due - now + 999) / 1000);
}

static void release_name(Bus *b)
{
        DBusError error = DBUS_ERROR_INIT;

        if (dbus_connection_get_is_connected(b->conn)) {
                dbus_bus_release_name(b->conn, b->name, &error);
                dbus_error_free(&error);
                dbus_connection_flush(b->conn);
        }
}

/* shutdown_grace ran out and the GUI thread is still not back: stop anyway. */
static void __attribute__((noreturn)) force_exit(Bus *b)
{
        const Config *c = daemon_config(b->daemon);

        process_events(b);
        if (b->running)
                log_warning("execution %" PRIu64 " still runs %g s after shutdown began; "
                            "exiting without finalizing Python", b->running->id, c->shutdown_grace);
        else
                log_warning("Python's finalization (atexit handlers, threads) did not end in time; "
                            "exiting anyway");
        if (b->running)
                reply_error(b, b->running->msg, ERR_SHUTTING_DOWN,
                            "guiloopd stopped before execution %" PRIu64 " finished",
                            b->running->id);
        release_name(b);
        _exit(EXIT_OK);
}

static void check_deadlines(Bus *b)
{
        const Config *c = daemon_config(b->daemon);
        uint64_t now = now_usec();

        expire_timeouts(b, now);
        if (b->timeout_due && b->timeout_due <= now) {
                b->timeout_due = 0;
                if (b->running && daemon_interrupt(b->daemon, b->running->id))
                        log_warning("execution %" PRIu64 " ran past execution.timeout (%g s): interrupted",
                                    b->running->id, c->timeout);
        }
        if (b->grace_due && b->grace_due <= now && !atomic_load(&b->stop)) {
                /*
                 * An execution that ignores its interrupt holds the loop; else
                 * Python's finalization (atexit, joining threads) gets as long
                 * again, at least a second, before we stop anyway.
                 */
                if (b->running || b->grace_final)
                        force_exit(b);
                b->grace_final = true;
                b->grace_due = now + usec_from_seconds(c->shutdown_grace > 1 ? c->shutdown_grace : 1);
        }
}

static void handle_signals(Bus *b)
{
        unsigned sigs = signals_take();

        if (sigs & SIGNALS_TERM)
                begin_shutdown(b, "SIGTERM");
        if (sigs & SIGNALS_INT) {
                /* Like IPython: Ctrl-C stops what runs, or the daemon when nothing does. */
                if (daemon_interrupt(b->daemon, 0))
                        log_info("SIGINT: interrupting the running execution");
                else
                        begin_shutdown(b, "SIGINT");
        }
}

static void handle_watches(Bus *b, struct pollfd *fds, DBusWatch **which, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                bool alive = false;

                if (!fds[i].revents)
                        continue;
                /* An earlier handle may have removed this watch. */
                for (size_t j = 0; j < b->n_watches; j++)
                        alive = alive || b->watches[j] == which[i];
                if (alive)
                        dbus_watch_handle(which[i], dbus_poll_flags(fds[i].revents));
        }
}

static void *bus_thread(void *data)
{
        Bus *b = data;
        sigset_t set;

        /* Signals are for the GUI thread and the handlers; poll() here is never cut short. */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);

        for (;;) {
                size_t n = b->n_watches, nfds = 3;
                struct pollfd fds[3 + n];
                DBusWatch *which[3 + n];
                uint64_t count;

                fds[0] = (struct pollfd){ .fd = b->wake_fd, .events = POLLIN };
                fds[1] = (struct pollfd){ .fd = b->started_fd, .events = POLLIN };
                fds[2] = (struct pollfd){ .fd = b->output_fd, .events = POLLIN };
                which[0] = which[1] = which[2] = NULL;
                for (size_t i = 0; i < n; i++) {
                        DBusWatch *w = b->watches[i];

                        if (!dbus_watch_get_enabled(w))
                                continue;
                        fds[nfds] = (struct pollfd){ .fd = dbus_watch_get_unix_fd(w),
                                                     .events = dbus_poll_events(w) };
                        which[nfds++] = w;
                }

                if (poll(fds, nfds, poll_timeout(b)) < 0 && errno != EINTR) {
                        log_err("poll: %s", strerror(errno));
                        continue;
                }
                if (fds[0].revents & POLLIN)
                        (void)!read(b->wake_fd, &count, sizeof(count));
                if (fds[1].revents & POLLIN)
                        (void)!read(b->started_fd, &count, sizeof(count));
                handle_watches(b, fds + 3, which + 3, nfds - 3);
                handle_signals(b);
                process_events(b);
                if (fds[2].revents & POLLIN) {
                        (void)!read(b->output_fd, &count, sizeof(count));
                        if (b->running)
                                emit_output(b, b->running);
                        if (b->background)
                                emit_output_of(b, 0, b->background);
                }
                check_deadlines(b);
                while (dbus_connection_dispatch(b->conn) == DBUS_DISPATCH_DATA_REMAINS)
                        ;
                if (atomic_load(&b->stop)) {
                        process_events(b);
                        break;
                }
        }
        return NULL;
}

int bus_wake_fd(Bus *b)
{
        return b->wake_fd;
}

void bus_stop(Bus *b)
{
        uint64_t one = 1;

        if (!b->started)
                return;
        atomic_store(&b->stop, true);
        (void)!write(b->wake_fd, &one, sizeof(one));
        pthread_join(b->thread, NULL);
        b->started = false;
}

int bus_start(Bus *b)
{
        int r = pthread_create(&b->thread, NULL, bus_thread, b);

        if (r != 0)
                return -r;
        pthread_setname_np(b->thread, "guiloopd-bus");
        b->started = true;
        return 0;
}

static const DBusObjectPathVTable object_vtable = { .message_function = on_object_message };
static const DBusObjectPathVTable fallback_vtable = { .message_function = on_fallback_message };

int bus_new(Bus **out, Daemon *d, const char *name, char *err, size_t errlen)
{
        _cleanup_(bus_freep) Bus *b = calloc(1, sizeof(*b));
        DBusError error = DBUS_ERROR_INIT;
        int r;

        if (!b)
                return -ENOMEM;
        b->daemon = d;
        b->wake_fd = -1;
        b->started_fd = -1;
        b->output_fd = -1;
        if (!(b->name = strdup(name)))
                return -ENOMEM;
        r = queue_new(&b->events, 0);
        if (r < 0)
                return r;
        b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->wake_fd < 0)
                return -errno;
        b->started_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        b->output_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (b->started_fd < 0 || b->output_fd < 0)
                return -errno;

        /* Before any other libdbus call: the connection is used from two threads. */
        if (!dbus_threads_init_default())
                return -ENOMEM;
        b->conn = dbus_bus_get_private(DBUS_BUS_SESSION, &error);
        if (!b->conn) {
                snprintf(err, errlen, "cannot connect to the session bus: %s", error.message);
                dbus_error_free(&error);
                return BUS_E_CONNECT;
        }
        dbus_connection_set_exit_on_disconnect(b->conn, FALSE);

        if (!dbus_connection_register_object_path(b->conn, OBJECT_PATH, &object_vtable, b) ||
            !dbus_connection_register_fallback(b->conn, "/", &fallback_vtable, b) ||
            !dbus_connection_add_filter(b->conn, on_filter, b, NULL) ||
            !dbus_connection_set_watch_functions(b->conn, add_watch, remove_watch, toggle_watch,
                                                 b, NULL) ||
            !dbus_connection_set_timeout_functions(b->conn, add_timeout, remove_timeout,
                                                   toggle_timeout, b, NULL))
                return -ENOMEM;
        dbus_connection_set_wakeup_main_function(b->conn, wake_up, b, NULL);

        r = dbus_bus_request_name(b->conn, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, &error);
        if (r < 0) {
                snprintf(err, errlen, "cannot own %s: %s", name, error.message);
                dbus_error_free(&error);
                return BUS_E_CONNECT;
        }
        if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
                snprintf(err, errlen,
                         "%s is already owned on the session bus: is another guiloopd running? "
                         "(--instance NAME starts a second one)", name);
                return BUS_E_NAME_TAKEN;
        }
        *out = steal_pointer(&b);
        return 0;
}

Bus *bus_free(Bus *b)
{
        Event *ev;

        if (!b)
                return NULL;
        bus_stop(b);
        if (b->background)
                output_set_notify(b->background, NULL, NULL);
        if (b->conn) {
                release_name(b);
                dbus_connection_remove_filter(b->conn, on_filter, b);
                dbus_connection_unregister_object_path(b->conn, OBJECT_PATH);
                dbus_connection_unregister_object_path(b->conn, "/");
                dbus_connection_close(b->conn);
                dbus_connection_set_watch_functions(b->conn, NULL, NULL, NULL, NULL, NULL);
                dbus_connection_set_timeout_functions(b->conn, NULL, NULL, NULL, NULL, NULL);
                dbus_connection_set_wakeup_main_function(b->conn, NULL, NULL, NULL);
                dbus_connection_unref(b->conn);
        }
        if (b->events) {
                while ((ev = queue_pop(b->events))) {
                        if (ev->type == EVENT_FINISHED)
                                execution_free(ev->execution);
                        free(ev);
                }
                queue_free(b->events);
        }
        for (size_t i = 0; i < UID_CACHE_SIZE; i++)
                free(b->uids[i].sender);
        free(b->watches);
        free(b->timeouts);
        free(b->name);
        if (b->wake_fd >= 0)
                close(b->wake_fd);
        if (b->started_fd >= 0)
                close(b->started_fd);
        if (b->output_fd >= 0)
                close(b->output_fd);
        free(b);
        return NULL;
}
