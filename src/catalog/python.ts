/**
 * Where Python distributions live and how their file lists are named: the walk keeps those lists'
 * bodies (catalog/metadata.ts), the probes read the shared objects under site-packages
 * (inspect/probe.ts), attribution reads the lists and adopts unlisted files (attribute/owners.ts).
 */

/** A path inside a site-packages or dist-packages tree (Debian installs its python3-* there). */
export const SITE_PACKAGES = /(^|\/)(site|dist)-packages\//;

/** A wheel's file list, relative to the directory holding the .dist-info. */
export const PIP_RECORD = '.dist-info/RECORD';

/** An egg's (setup.py install) file list, relative to the .egg-info directory. */
export const EGG_INSTALLED_FILES = '.egg-info/installed-files.txt';
