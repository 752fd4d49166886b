/* SPDX-License-Identifier: MIT */
#pragma once

#include <dbus/dbus.h>
#include <stdint.h>

#include "bus-dispatch.h"

/* One property's value, by its type. */
typedef union PropertyValue {
        const char *s;  /* 's' (borrowed for as long as the reply is built) */
        dbus_bool_t b;  /* 'b' */
        dbus_uint32_t u; /* 'u' */
        dbus_uint64_t t; /* 't' */
} PropertyValue;

typedef struct Property {
        const char *name;
        int type; /* DBUS_TYPE_STRING, _BOOLEAN, _UINT32, _UINT64 */
        void (*get)(void *data, PropertyValue *v);
} Property;

/* The read-only properties of one interface. */
typedef struct PropertyTable {
        const char *interface;
        const Property *properties;
        size_t n;
} PropertyTable;

const Property *property_find(const PropertyTable *t, const char *name);

/* org.freedesktop.DBus.Properties handlers, on table t with the getters' data. */
int properties_get(const PropertyTable *t, void *data, Call *c);
int properties_get_all(const PropertyTable *t, void *data, Call *c);
int properties_set(const PropertyTable *t, void *data, Call *c);

/* PropertiesChanged(t->interface, {name: v}, []) from path; NULL for want of memory. */
DBusMessage *properties_changed(const PropertyTable *t, const char *path, const Property *p,
                                const PropertyValue *v);
