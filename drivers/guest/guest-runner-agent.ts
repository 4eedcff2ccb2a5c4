// The guest half of the guest runner: a bash loop that runs one command per request line read
// from a virtio-serial port and answers with one line. Bash and coreutils come from the host's
// root shared into the guest, so the guest needs nothing installed.
//
// Frames (one line each, fields separated by one space). Under TCG every process the agent starts
// costs ~50 ms, so arguments are decoded by bash builtins (printf %b), not by a base64 process:
//   guest -> host  READY <uptime seconds>
//   host -> guest  <id> <timeout seconds> <base64 stdin or -> <arg>...   each arg is "=" followed by
//                  the argument with every byte outside [A-Za-z0-9/_.,:=+-] written as \xHH
//   guest -> host  <id> <exit code> <base64 stdout> <base64 stderr>     (empty field: no output)
// Exit codes follow timeout(1): 124 timed out, 126 not executable, 127 not found.

export const AGENT_READY = "READY";

const SAFE = /[A-Za-z0-9/_.,:=+-]/;

/** One argument as a request token: "=" + the bytes, unsafe ones as \xHH (printf %b undoes it). */
export function encodeArg(arg: string): string {
  let out = "=";
  for (const byte of Buffer.from(arg, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE.test(ch) ? ch : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** The agent script. Argument 1: the port device, or "-" to speak over stdin/stdout (tests).
 * Written with "@{" for bash's "${" so the template literal does not interpolate. */
export const AGENT_SCRIPT = String.raw`#!/bin/bash
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C LANG=C
export DM_DISABLE_UDEV=1 LVM_SUPPRESS_FD_WARNINGS=1
T=$(mktemp -d /tmp/ps-agent.XXXXXX) || exit 1
cd /
if [ "$1" = - ]; then exec 3<&0 4>&1; else exec 3<>"$1" 4>&3; fi  # a virtio port opens once: one fd, duplicated
printf '%s %s
' READY "$(cut -d' ' -f1 /proc/uptime)" >&4
while IFS=' ' read -r id tmo in rest <&3; do
  [ -n "$id" ] || continue
  IFS=' ' read -ra tokens <<< "$rest"
  a=()
  for t in "@{tokens[@]}"; do printf -v x '%b' "@{t:1}"; a+=("$x"); done
  if [ "$in" = - ] || [ -z "$in" ]; then : > "$T/in"; else printf '%s' "$in" | base64 -d > "$T/in" 2>/dev/null; fi
  if [ "@{#a[@]}" -eq 0 ]; then echo "empty command" > "$T/err"; : > "$T/out"; rc=127
  else timeout -k 2 "$tmo" "@{a[@]}" < "$T/in" > "$T/out" 2> "$T/err" 3<&- 4>&-; rc=$?; fi
  {
    printf '%s %s ' "$id" "$rc"
    [ -s "$T/out" ] && base64 -w0 "$T/out"
    printf ' '
    [ -s "$T/err" ] && base64 -w0 "$T/err"
    printf '
'
  } >&4
done
`.replaceAll("@{", "${");
