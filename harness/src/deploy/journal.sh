#!/bin/sh
# journal.sh: writes the deploy journal (deploy/remote.ts runPhase). It is
# also the head of every phase script that records its step: runPhase runs
# `sh -c "journal.sh TEXT + PHASE TEXT" PHASE JOURNAL ARGS...`, so the journal
# is on the board before the step runs, or the step does not run.
#
# usage: journal.sh JOURNAL [ARGS...] < JSON
#   JOURNAL   path of the journal; empty: leave it as it is (stdin unread)
# The JSON on stdin goes to JOURNAL.tmp, then is renamed over JOURNAL. When
# that fails (disk full, read-only), prints `wb-journal-failed` on stderr
# after the tool's error and exits 90.
j=$1; shift
if [ -n "$j" ]; then
  { mkdir -p "${j%/*}" && cat > "$j.tmp" && mv -f "$j.tmp" "$j"; } || { rm -f "$j.tmp"; echo "wb-journal-failed" >&2; exit 90; }
fi
