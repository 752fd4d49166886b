/* SPDX-License-Identifier: MIT */
#include "bus-introspect.h"

#include <dbus/dbus.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "interface-xml.h"

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

char *introspect_object(void)
{
        const char *end = strstr(interface_xml, "</node>");
        char *xml;

        if (!end || asprintf(&xml, "%.*s%s</node>\n", (int)(end - interface_xml), interface_xml,
                             standard_interfaces_xml) < 0)
                return NULL;
        return xml;
}

char *introspect_ancestor(const char *object_path, const char *path)
{
        size_t len = strcmp(path, "/") == 0 ? 0 : strlen(path);
        const char *child, *end;
        char *xml;

        if (strncmp(object_path, path, len) != 0 || object_path[len] != '/')
                return NULL;
        child = object_path + len + 1;
        end = strchrnul(child, '/');
        if (asprintf(&xml, "%s<node>\n  <node name=\"%.*s\"/>\n</node>\n",
                     DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE, (int)(end - child), child) < 0)
                return NULL;
        return xml;
}
