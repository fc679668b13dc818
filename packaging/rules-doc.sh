#!/bin/sh
# Writes the rule catalogue as Markdown from the binary itself (`sshdoctor rules` and
# `sshdoctor explain`), so the packaged docs always match the rules it applies.
#   packaging/rules-doc.sh BINARY > rules.md
set -eu
binary=$1
printf '# sshdoctor rule catalogue\n\n'
# shellcheck disable=SC2016 # the backquotes are Markdown
printf 'Generated from `sshdoctor rules` and `sshdoctor explain ID` (%s).\n\n' \
  "$("$binary" --version)"
printf '| id | severity | title |\n|---|---|---|\n'
"$binary" rules | while read -r id severity title; do
  printf '| %s | %s | %s |\n' "$id" "$severity" "$title"
done
"$binary" rules | while read -r id _; do
  printf '\n## %s\n\n```\n' "$id"
  "$binary" explain "$id"
  printf '```\n'
done
