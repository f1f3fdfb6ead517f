#!/bin/sh
# Explicit pruning, run in the same layer as the install (deleting in a later layer saves nothing):
# tests, docs, bytecode caches, the pip/setuptools toolchain and stdlib parts a server never imports.
set -eu
for sp in /usr/local/lib/python3*/site-packages /usr/local/lib/python3*/dist-packages /usr/lib/python3/dist-packages /install/lib/python3*/site-packages /install/lib/python3*/dist-packages; do
  [ -d "$sp" ] || continue
  find "$sp" -depth -type d \( -name tests -o -name test -o -name __pycache__ \) -exec rm -rf {} +
  rm -rf "$sp"/pip "$sp"/pip-* "$sp"/setuptools "$sp"/setuptools-* "$sp"/wheel "$sp"/wheel-* "$sp"/_distutils_hack
done
for std in /usr/local/lib/python3.* /usr/lib/python3.*; do
  [ -d "$std" ] || continue
  rm -rf "$std"/test "$std"/idlelib "$std"/tkinter "$std"/turtledemo "$std"/ensurepip "$std"/lib2to3 "$std"/pydoc_data
  find "$std" -depth -type d -name __pycache__ -exec rm -rf {} +
done
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/lintian /var/cache/debconf/*-old
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
