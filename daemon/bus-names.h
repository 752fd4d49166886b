/* SPDX-License-Identifier: MIT */
/* The names of guiloopd's D-Bus object, for the daemon's bus code and guiloopctl. */
#pragma once

#define GUILOOP_BUS_NAME "org.guiloop.GuiLoop1"
#define GUILOOP_OBJECT_PATH "/org/guiloop/GuiLoop1"
#define GUILOOP_INTERFACE "org.guiloop.GuiLoop1"
#define GUILOOP_ERROR_PREFIX GUILOOP_INTERFACE ".Error."
#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
#define INTROSPECTABLE_INTERFACE "org.freedesktop.DBus.Introspectable"
#define PEER_INTERFACE "org.freedesktop.DBus.Peer"
