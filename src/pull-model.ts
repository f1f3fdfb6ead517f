/**
 * Assumptions that turn a byte saving into seconds of pull time (overridable with --bandwidth and
 * --unpack-rate; the values used are written into each report's evidence.pullModel).
 *
 * - Network: 100 MB/s, a node pulling from a registry in the same cloud region.
 * - Unpack: 150 MB/s of uncompressed bytes, single-threaded gzip decompression plus writing the files
 *   (`gzip -dc | tar -t` runs at ~140 MB/s on this project's 2-core CI machine; see `npm run bench`).
 * - Compression ratio: the image's own compressed/uncompressed ratio when the source knows compressed
 *   sizes (registries, OCI layouts), else 0.45, typical of gzip on image layers.
 */
export const DEFAULT_NETWORK_BPS = 100 * 1000 * 1000;
export const DEFAULT_UNPACK_BPS = 150 * 1000 * 1000;
export const DEFAULT_COMPRESSION_RATIO = 0.45;
