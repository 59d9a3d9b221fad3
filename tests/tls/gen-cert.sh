#!/bin/sh
# gen-cert.sh DIR — create DIR/cert.pem and DIR/key.pem: a throwaway self-signed
# EC P-256 certificate for 127.0.0.1 / localhost, valid 2 days, for the local
# HTTPS test server. Quiet on success; non-zero exit on failure. Existing files
# are kept, so tests can call this unconditionally.
set -eu

if [ "$#" -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi

dir=$1
cert=$dir/cert.pem
key=$dir/key.pem

if [ -s "$cert" ] && [ -s "$key" ]; then
	exit 0
fi

mkdir -p "$dir"

# Write to temporary names first so an interrupted run never leaves a
# cert without its key (which would then be skipped as "already there").
tmp_cert=$cert.tmp.$$
tmp_key=$key.tmp.$$
trap 'rm -f "$tmp_cert" "$tmp_key"' EXIT

if ! log=$(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp_key" -out "$tmp_cert" -days 2 \
	-subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "keyUsage=critical,digitalSignature" \
	-addext "extendedKeyUsage=serverAuth" 2>&1); then
	printf '%s\n' "$log" >&2
	echo "$0: openssl failed to create a certificate in $dir" >&2
	exit 1
fi

mv -f "$tmp_key" "$key"
mv -f "$tmp_cert" "$cert"
