/*
 * tlsca.h - the local certificate authority and the leaf certificate the
 * events port serves over TLS (CONTRACT.md, "Ports and routing").
 *
 * Four PEM files live in <state_dir>/tls/ (a 0700 directory):
 *
 *   ca.pem        the CA certificate, the file clients trust
 *                 (NODE_EXTRA_CA_CERTS, AWS_CA_BUNDLE, SSL_CERT_FILE)
 *   ca-key.pem    its private key, 0600
 *   leaf.pem      the server certificate, signed by the CA
 *   leaf-key.pem  its private key, 0600
 *   checked       what the last full check saw (a cache, see below), 0600
 *
 * The first start creates them; later starts check and reuse them, so a
 * CA the user has trusted stays trusted. Only what is broken is replaced:
 * a bad leaf is re-issued under the same CA, and a new CA (which clients
 * must trust again) comes only when the CA itself is unusable.
 */
#ifndef KAERI_TLSCA_H
#define KAERI_TLSCA_H

#include "kaeri.h"

#include <stdbool.h>

/* Days a certificate must still be valid to be reused. */
#define TLSCA_MIN_DAYS_LEFT 7
/* Validity of what is issued: Apple refuses TLS leaves over 825 days. */
#define TLSCA_CA_DAYS   3650
#define TLSCA_LEAF_DAYS 825

/*
 * The files, ready for libwebsockets (ssl_cert_filepath,
 * ssl_private_key_filepath) and for the ready line and --env-file. Paths
 * are absolute, so an env file works from any directory. All owned,
 * freed by tlsca_release(); fields read-only for callers.
 */
struct tlsca {
    char *ca_cert_path;   /* <state_dir>/tls/ca.pem */
    char *leaf_cert_path; /* <state_dir>/tls/leaf.pem */
    char *leaf_key_path;  /* <state_dir>/tls/leaf-key.pem */
    bool ca_created;      /* this call made a new CA: clients must trust it */
    bool leaf_created;    /* this call issued a new leaf */
};

/*
 * Make sure <state_dir>/tls holds a usable CA and leaf, and fill 'out'.
 *
 * Creates 'state_dir' (one level) and its tls/ subdirectory with mode
 * 0700 when missing. The files are reused when all four parse, each
 * certificate matches its key, the CA is a CA, both are valid now and for
 * TLSCA_MIN_DAYS_LEFT more days, the leaf is signed by the CA and its
 * subjectAltName holds DNS:localhost, DNS:*.localhost,
 * DNS:*.execute-api.localhost, DNS:*.appsync-api.localhost, IP:127.0.0.1
 * and IP:::1. Otherwise a new leaf is issued under the CA when the CA
 * passes its part of those checks, and a new CA and leaf when it does
 * not. A full check leaves 'checked' behind; while the four files hash
 * as it recorded, the next start only compares its validity times with
 * the clock, which costs microseconds beyond reading the files (a full
 * check costs about a millisecond in OpenSSL 3.0).
 *
 * Keys are ECDSA P-256, certificates signed with SHA-256. Every file is
 * written to a temporary file in the same directory and renamed into
 * place, keys with mode 0600; a crash between two renames leaves a pair
 * that does not match, which the next start finds and replaces. Calls on
 * the same state dir from several processes are serialised by flock() on
 * the directory.
 *
 * Returns KAERI_OK, or with 'err' (may be NULL) filled and 'out' zeroed:
 * KAERI_ERR_IO when a directory or file cannot be created, read or
 * written (a file that exists but cannot be read is never replaced), and
 * KAERI_ERR_INTERNAL when OpenSSL fails to build a certificate. Either
 * way nothing of tlsca's is left on OpenSSL's error queue.
 */
KAERI_MUST_CHECK enum kaeri_err tlsca_load_or_create(const char *state_dir,
                                                     struct tlsca *out,
                                                     struct kaeri_error *err);

/* Free the paths and zero 'ca'; safe on a zeroed or released struct. */
void tlsca_release(struct tlsca *ca);

#endif
