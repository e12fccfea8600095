#!/bin/sh
# embed_text.sh - writes a text file as a C string constant, so that a page template can be edited
# as the HTML file it is and still be compiled into the library (no file to find at run time).
#   scripts/embed_text.sh FILE NAME > out.h    defines  static const char NAME[] = "...";
# Needs only awk. Backslashes and double quotes are escaped; every line ends with "\n".
set -eu
[ $# -eq 2 ] || { echo "usage: scripts/embed_text.sh FILE NAME" >&2; exit 2; }
awk -v name="$2" -v src="$1" '
BEGIN { print "/* generated from " src " by scripts/embed_text.sh; edit that file instead */"
        print "static const char " name "[] =" }
{ gsub(/\\/, "&&"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); print "    \"" $0 "\\n\"" }
END { print "    ;" }' "$1"
