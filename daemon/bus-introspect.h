/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Introspection: the object's answer is the installed interface file with
 * the standard interfaces added; an ancestor path of the object lists its
 * one child, so that busctl tree and gdbus introspect find it.
 */

/* The object's XML, malloc'd; NULL for want of memory. */
char *introspect_object(void);
/* The XML for path, an ancestor of object_path, malloc'd; NULL when path is not one. */
char *introspect_ancestor(const char *object_path, const char *path);
