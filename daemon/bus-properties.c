/* SPDX-License-Identifier: MIT */
#include "bus-properties.h"

#include <errno.h>
#include <string.h>

#include "bus-names.h"

const Property *property_find(const PropertyTable *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->properties[i].name, name) == 0)
                        return &t->properties[i];
        return NULL;
}

static bool append_value(DBusMessageIter *iter, const Property *p, const PropertyValue *v)
{
        char signature[2] = { (char)p->type, 0 };
        DBusMessageIter variant;
        const void *value = p->type == DBUS_TYPE_STRING ? (const void *)&v->s :
                            p->type == DBUS_TYPE_BOOLEAN ? (const void *)&v->b :
                            p->type == DBUS_TYPE_UINT32 ? (const void *)&v->u :
                            (const void *)&v->t;

        return dbus_message_iter_open_container(iter, DBUS_TYPE_VARIANT, signature, &variant) &&
               dbus_message_iter_append_basic(&variant, p->type, value) &&
               dbus_message_iter_close_container(iter, &variant);
}

static bool append_entry(DBusMessageIter *dict, const Property *p, const PropertyValue *v)
{
        DBusMessageIter entry;

        return dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
               dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &p->name) &&
               append_value(&entry, p, v) &&
               dbus_message_iter_close_container(dict, &entry);
}

static int check_interface(const PropertyTable *t, Call *c, const char *interface, bool empty_ok)
{
        if ((empty_ok && !*interface) || strcmp(interface, t->interface) == 0)
                return 0;
        return call_fail(c, BUS_E_UNKNOWN_INTERFACE, "no interface %s", interface);
}

int properties_get(const PropertyTable *t, void *data, Call *c)
{
        const char *interface, *name;
        DBusMessageIter iter;
        PropertyValue v = { 0 };
        const Property *p;
        int r;

        if (!dbus_message_get_args(c->msg, NULL, DBUS_TYPE_STRING, &interface, DBUS_TYPE_STRING,
                                   &name, DBUS_TYPE_INVALID))
                return call_fail(c, BUS_E_INVALID_ARGS, "Get expects (s interface, s name)");
        r = check_interface(t, c, interface, false);
        if (r)
                return r;
        p = property_find(t, name);
        if (!p)
                return call_fail(c, BUS_E_UNKNOWN_PROPERTY, "no property %s", name);
        p->get(data, &v);
        dbus_message_iter_init_append(c->reply, &iter);
        return append_value(&iter, p, &v) ? 0 : -ENOMEM;
}

int properties_get_all(const PropertyTable *t, void *data, Call *c)
{
        DBusMessageIter iter, dict;
        const char *interface;
        bool ok;
        int r;

        if (!dbus_message_get_args(c->msg, NULL, DBUS_TYPE_STRING, &interface, DBUS_TYPE_INVALID))
                return call_fail(c, BUS_E_INVALID_ARGS, "GetAll expects (s interface)");
        /* The empty name means every interface of the object. */
        r = check_interface(t, c, interface, true);
        if (r)
                return r;
        dbus_message_iter_init_append(c->reply, &iter);
        ok = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict);
        for (size_t i = 0; ok && i < t->n; i++) {
                PropertyValue v = { 0 };

                t->properties[i].get(data, &v);
                ok = append_entry(&dict, &t->properties[i], &v);
        }
        ok = ok && dbus_message_iter_close_container(&iter, &dict);
        return ok ? 0 : -ENOMEM;
}

int properties_set(const PropertyTable *t, void *data, Call *c)
{
        const char *interface, *name;
        DBusMessageIter iter;
        int r;

        (void)data;
        /* The signature is checked: s, s, v.  The variant is not read: nothing can be set. */
        dbus_message_iter_init(c->msg, &iter);
        dbus_message_iter_get_basic(&iter, &interface);
        dbus_message_iter_next(&iter);
        dbus_message_iter_get_basic(&iter, &name);
        r = check_interface(t, c, interface, false);
        if (r)
                return r;
        if (!property_find(t, name))
                return call_fail(c, BUS_E_UNKNOWN_PROPERTY, "no property %s", name);
        return call_fail(c, BUS_E_PROPERTY_READ_ONLY, "property %s is read-only", name);
}

DBusMessage *properties_changed(const PropertyTable *t, const char *path, const Property *p,
                                const PropertyValue *v)
{
        DBusMessage *signal = dbus_message_new_signal(path, PROPERTIES_INTERFACE,
                                                      "PropertiesChanged");
        DBusMessageIter iter, dict, invalidated;
        bool ok;

        if (!signal)
                return NULL;
        dbus_message_iter_init_append(signal, &iter);
        ok = dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &t->interface) &&
             dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
             append_entry(&dict, p, v) &&
             dbus_message_iter_close_container(&iter, &dict) &&
             dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &invalidated) &&
             dbus_message_iter_close_container(&iter, &invalidated);
        if (!ok) {
                dbus_message_unref(signal);
                return NULL;
        }
        return signal;
}
