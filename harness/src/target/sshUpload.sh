#!/bin/sh
# sshUpload.sh: writes stdin to a file on the board and prints its SHA-256
# (used by target/ssh.ts SshTarget.upload: one round trip per file).
#
# usage: sshUpload.sh PATH MODE ENCODING
#   PATH      file to write
#   MODE      octal mode to chmod it to ('' to leave it)
#   ENCODING  `gzip`: stdin is gzip data (gzip -dc), else the bytes as they are
# Prints `sha256sum PATH`; on failure removes the partial file and exits with
# the failing command's code.
[ $# -eq 3 ] || { echo "usage: $0 PATH MODE ENCODING" >&2; exit 2; }
if [ "$3" = gzip ]; then
  if gzip -dc > "$1" && { [ -z "$2" ] || chmod "$2" "$1"; }; then sha256sum "$1"; else rc=$?; rm -f "$1"; exit $rc; fi
else
  if cat > "$1" && { [ -z "$2" ] || chmod "$2" "$1"; }; then sha256sum "$1"; else rc=$?; rm -f "$1"; exit $rc; fi
fi
